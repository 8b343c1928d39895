"""logsim itself, as the benchmark runs it: the kernel through its validating door."""

from __future__ import annotations

from logsim.bench.implementations.base import Implementation


class Logsim(Implementation):
    """logsim's kernel through its validating door, :func:`logsim.engine.run_batch`."""

    name = "logsim"

    def prepare(self, problem):
        from logsim.engine import run_batch

        w = problem.workload
        kwargs = dict(method=w.method, learning_rate=problem.learning_rate, steps=w.steps,
                      checkpoints=problem.checkpoints, batch_seed=problem.batch_seed,
                      momentum=w.momentum, beta1=w.beta1, beta2=w.beta2, eps=w.eps)
        if w.method == "sgd":
            kwargs["batch_size"] = w.batch_size

        def run():
            res = run_batch(problem.X, problem.targets, **kwargs)
            return res.weights, res.train_loss

        return run
