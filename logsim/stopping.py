"""Stopping a running sweep at the next chunk boundary, from a signal handler.

The command line's SIGINT and SIGTERM handlers raise at once (``KeyboardInterrupt``,
``Terminated``) so that a run waiting on its threads stops promptly. Raising alone is not
enough: a signal that lands while netCDF4 indexes a slice is swallowed there (bare
``except:`` clauses in ``netCDF4.utils._StartCountStride``, hit every time a chunk is
written), and the run would go on to the end. So the handlers also call :func:`request`,
and :func:`logsim.sweep.run_to_file` calls :func:`check` after every chunk it has saved,
which raises the requested exception there.

Invariant: a request is raised at most once; :func:`clear` forgets one that the handler's
own exception already delivered. Nothing here imports NumPy or Numba, so the handlers
stay cheap and safe to call at any moment.
"""

from __future__ import annotations


class Terminated(BaseException):
    """SIGTERM (a scheduler's or a user's ``kill``): stop like Ctrl-C, keeping the finished
    chunks. A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except
    Exception`` on the way turns it into an error or a fallback."""


#: The exception type :func:`check` raises next (at most one pending request).
_pending: list[type[BaseException]] = []


def request(exception: type[BaseException]) -> None:
    """Ask the running sweep to raise ``exception`` at its next chunk boundary."""
    _pending[:] = [exception]


def check() -> None:
    """Raise the requested exception, if any (once)."""
    if _pending:
        raise _pending.pop()()


def clear() -> None:
    """Forget a pending request (the command is over, or starts afresh)."""
    _pending.clear()
