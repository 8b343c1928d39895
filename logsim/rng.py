"""Counter-based random streams keyed by coordinates, never by thread or order.

Every random number logsim uses is a pure function of ``(seed, stream, counter)``:

* NumPy-side draws (data samples, train/test splits, label-flip uniforms) use
  :func:`generator`, a ``numpy.random.Generator`` seeded by the
  ``SeedSequence`` entropy ``[stream, seed]``.
* Kernel-side draws (mini-batch indices, on whichever thread runs a trajectory) use
  :func:`uniform`, a SplitMix64 hash of ``key + counter``; ``np.random``
  inside ``prange`` is seeded per thread and is not reproducible
  (numba issue 4452).

Because the streams depend only on the seed, cells of a sweep that share a seed
share their data draw, label-flip uniforms and batch order (common random
numbers): a noise rate of 0.2 flips a superset of the labels flipped at 0.1.
"""

from __future__ import annotations

import numpy as np

from logsim._jit import helper

#: Stream identifiers. Adding a stream never changes the numbers of another.
STREAM_DATA = 1  #: feature/label sampling of synthetic generators
STREAM_SPLIT = 2  #: train/test split of real data
STREAM_FLIP = 3  #: uniforms behind label flips
STREAM_BATCH = 4  #: mini-batch indices in SGD
STREAM_INIT = 5  #: random initial weights
STREAM_TEST = 6  #: test-set draws of synthetic generators (fixed when n_train varies)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


def check_seed(seed) -> int:
    """Return ``seed`` as a Python int, or raise ValueError if it is not a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def generator(seed: int, stream: int) -> np.random.Generator:
    """NumPy generator for ``(seed, stream)``; the same pair always gives the same numbers."""
    return np.random.default_rng([int(stream), check_seed(seed)])


@helper
def mix64(z):
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mix."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@helper
def stream_key(seed, stream):
    """64-bit key of the stream ``(seed, stream)`` for :func:`uniform`."""
    return mix64(mix64(np.uint64(seed) * _GOLDEN + np.uint64(stream)) + _GOLDEN)


@helper
def uniform(key, counter):
    """The ``counter``-th uniform number in [0, 1) of stream ``key`` (53 random bits)."""
    bits = mix64(np.uint64(key) + (np.uint64(counter) + _ONE) * _GOLDEN)
    return np.float64(bits >> _S11) * _TWO_M53
