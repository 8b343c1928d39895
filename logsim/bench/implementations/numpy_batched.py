"""Batched NumPy: all trajectories as one matrix, ``Z = W @ X.T``, in-place ufuncs.

What a careful NumPy user writes: preallocated buffers, no allocation per step, the
two products on (multi-threaded) BLAS.
"""

from __future__ import annotations

import numpy as np

from logsim.bench.implementations.base import Implementation, hard_target_signs, segments


def _numpy_loss(W, XT, S, Z):
    np.matmul(W, XT, out=Z)
    np.multiply(Z, S, out=Z)
    np.negative(Z, out=Z)
    np.logaddexp(0.0, Z, out=Z)
    return Z.mean(axis=1)


class NumpyBatched(Implementation):
    """All trajectories as one matrix: ``Z = W @ X.T``, in-place ufuncs, no allocation per step."""

    name = "numpy"
    compile_seconds = 0.0  # nothing to compile

    def prepare(self, problem):
        w = problem.workload
        X = np.ascontiguousarray(problem.X)
        XT = np.ascontiguousarray(X.T)
        S = hard_target_signs(problem)
        negS = -S
        R, n = S.shape
        d = X.shape[1]
        lengths = segments(problem.checkpoints)
        if w.method == "sgd":
            b = w.batch_size
            idx = problem.step_major_batches
            offsets = (np.arange(R) * n)[:, None]
            c = (problem.learning_rate / b)[:, None]
        else:
            c = (problem.learning_rate / n)[:, None]

        def run_gd():
            W = np.zeros((R, d))
            Z = np.empty((R, n))
            G = np.empty((R, d))
            Wk = np.empty((R, len(lengths), d))
            Lk = np.empty((R, len(lengths)))
            with np.errstate(over="ignore"):
                for k, length in enumerate(lengths):
                    for _ in range(length):
                        np.matmul(W, XT, out=Z)
                        np.multiply(Z, S, out=Z)
                        np.exp(Z, out=Z)  # overflow -> inf -> error signal -0, as intended
                        np.add(Z, 1.0, out=Z)
                        np.divide(negS, Z, out=Z)  # sigmoid(z) - y = -s / (1 + exp(s z))
                        np.matmul(Z, X, out=G)
                        np.multiply(G, c, out=G)
                        np.subtract(W, G, out=W)
                    Wk[:, k] = W
                    Lk[:, k] = _numpy_loss(W, XT, S, Z)
            return Wk, Lk

        def run_sgd():
            W = np.zeros((R, d))
            Z = np.empty((R, n))
            Xb = np.empty((R, b, d))
            Sb = np.empty((R, b))
            flat = np.empty((R, b), dtype=np.intp)
            z = np.empty((R, b, 1))
            G = np.empty((R, 1, d))
            Sflat = S.ravel()
            Wk = np.empty((R, len(lengths), d))
            Lk = np.empty((R, len(lengths)))
            t = 0
            with np.errstate(over="ignore"):
                for k, length in enumerate(lengths):
                    for _ in range(length):
                        it = idx[t]
                        np.take(X, it, axis=0, out=Xb)
                        np.add(it, offsets, out=flat)
                        np.take(Sflat, flat, out=Sb)
                        np.matmul(Xb, W[:, :, None], out=z)
                        zb = z[:, :, 0]
                        np.multiply(zb, Sb, out=zb)
                        np.exp(zb, out=zb)
                        np.add(zb, 1.0, out=zb)
                        np.divide(Sb, zb, out=zb)
                        np.matmul(z.transpose(0, 2, 1), Xb, out=G)
                        g = G[:, 0, :]
                        np.multiply(g, c, out=g)
                        np.add(W, g, out=W)  # the error signal is -Sb/(...): W += c g
                        t += 1
                    Wk[:, k] = W
                    Lk[:, k] = _numpy_loss(W, XT, S, Z)
            return Wk, Lk

        return run_sgd if w.method == "sgd" else run_gd
