"""Hashes of every array of ``make_data`` for a grid of kinds and options.

``tests/data/draw_hashes.json`` was written by this script before the data layer
was rebuilt on the schema (``python -m tests.data.make_draw_hashes >
tests/data/draw_hashes.json``); ``tests/test_data.py`` checks that every draw
still hashes the same. Never regenerate it to make that test pass.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

from logsim import data as D

CASES = [
    ("gaussian", {}),
    ("gaussian", {"n_train": 37, "n_test": 5, "dim": 3, "separation": 0.5, "class_balance": 0.3}),
    ("logistic_model", {}),
    ("logistic_model", {"n_train": 50, "dim": 2, "w_norm": 0.0}),
    ("separable", {}),
    ("separable", {"n_train": 20, "n_test": 0, "dim": 1, "margin": 0.0}),
    ("soudry", {}),
    ("soudry", {"n_random": 0, "asymmetric": True, "n_test": 3, "min_margin": 2.5}),
    ("breast_cancer", {}),
    ("breast_cancer", {"train_fraction": 0.5, "features": 5}),
    ("breast_cancer", {"train_fraction": 1.0, "features": [7, 0, 21]}),
]
ARRAYS = ("x_train", "y_train", "x_test", "y_test", "p_train", "p_test", "w_star")


def digest(draw) -> dict:
    """SHA-256 and shape of each array, feature names and b_star."""
    out = {}
    for name in ARRAYS:
        v = getattr(draw, name)
        if v is None:
            out[name] = None
        else:
            sha = hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
            out[name] = sha + str(v.shape)
    out["feature_names"] = list(draw.feature_names)
    out["b_star"] = draw.b_star
    return out


def records() -> list[dict]:
    out = []
    for kind, opts in CASES:
        for seed in (0, 3):
            for intercept in (False, True):
                draw = D.make_data(kind, seed=seed, intercept=intercept, **opts)
                out.append({"kind": kind, "options": opts, "seed": seed,
                            "intercept": intercept, "digest": digest(draw)})  # fmt: skip
    return out


if __name__ == "__main__":
    json.dump(records(), sys.stdout, indent=1)
