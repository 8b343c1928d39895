"""Hash every array of make_data for a grid of kinds/options (bit-identity reference)."""
import hashlib, json, sys
import numpy as np
from logsim import data as D

CASES = [
    ("gaussian", {}), ("gaussian", {"n_train": 37, "n_test": 5, "dim": 3, "separation": 0.5, "class_balance": 0.3}),
    ("logistic_model", {}), ("logistic_model", {"n_train": 50, "dim": 2, "w_norm": 0.0}),
    ("separable", {}), ("separable", {"n_train": 20, "n_test": 0, "dim": 1, "margin": 0.0}),
    ("soudry", {}), ("soudry", {"n_random": 0, "asymmetric": True, "n_test": 3, "min_margin": 2.5}),
    ("breast_cancer", {}), ("breast_cancer", {"train_fraction": 0.5, "features": 5}),
    ("breast_cancer", {"train_fraction": 1.0, "features": [7, 0, 21]}),
]
def digest(draw):
    h = {}
    for name in ("x_train", "y_train", "x_test", "y_test", "p_train", "p_test", "w_star"):
        v = getattr(draw, name)
        h[name] = None if v is None else hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() + str(v.shape)
    h["feature_names"] = list(draw.feature_names)
    h["b_star"] = draw.b_star
    return h
out = []
for kind, opts in CASES:
    for seed in (0, 3):
        for intercept in (False, True):
            out.append({"kind": kind, "options": opts, "seed": seed, "intercept": intercept,
                        "digest": digest(D.make_data(kind, seed=seed, intercept=intercept, **opts))})
json.dump(out, sys.stdout, indent=1)
