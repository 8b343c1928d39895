"""Result datasets: assembly from chunks, netCDF storage, provenance, content hash, citation.

A stored result is a netCDF4 file that anyone can read without logsim. It
carries the exact scenario text, the versions that made it, and
``content_sha256``: a hash of every data variable and coordinate in a
canonical byte order, independent of thread count, chunking or resume.
Reading a result never executes anything from the file (no pickle, no eval).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

from logsim import losses

CONVENTIONS = "CF-1.8"

#: Loss evaluated on the clean test labels for each training loss: the corrected losses
#: are corrections of the cross-entropy, which is what they estimate on clean labels.
TEST_LOSS_OF = {"forward": "logistic", "backward": "logistic"}


class ResultError(ValueError):
    """A file is not a readable, intact logsim result."""


# --- assembly -------------------------------------------------------------------------------


def _axis_coord(name, values):
    vals = list(values)
    if all(isinstance(v, bool) for v in vals):
        arr = np.asarray(vals, dtype=bool)
    elif all(isinstance(v, str) for v in vals):
        arr = np.asarray(vals, dtype=str)
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        arr = np.asarray(vals, dtype=np.int64)
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        arr = np.asarray(vals, dtype=np.float64)
    else:  # lists (e.g. feature subsets): a readable label per value
        arr = np.asarray([str(v) for v in vals], dtype=str)
    return (name, arr, {"long_name": name.replace("_", " ")})


def _pad(arrays: Sequence[np.ndarray], fill=np.nan) -> np.ndarray:
    """Stack arrays of possibly different leading/trailing sizes, padding with ``fill``."""
    shape = tuple(max(a.shape[k] for a in arrays) for k in range(arrays[0].ndim))
    dtype = np.result_type(*[a.dtype for a in arrays], type(fill))
    out = np.full((len(arrays), *shape), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[(i, *tuple(slice(0, s) for s in a.shape))] = a
    return out


def _test_metrics(plan, weights):
    """Test loss and accuracy of every cell and checkpoint, on the clean test set."""
    from logsim.sweep import draw_for

    R, K, _ = weights.shape
    test_loss = np.full((R, K), np.nan)
    test_acc = np.full((R, K), np.nan)
    for r, cell in enumerate(plan.cells):
        draw = draw_for(cell)
        n_test, d = draw.x_test.shape
        if n_test == 0:
            continue
        W = weights[r, :, :d]
        Z = W @ draw.x_test.T  # (K, n_test)
        name = TEST_LOSS_OF.get(cell["loss"], cell["loss"])
        with np.errstate(over="ignore", invalid="ignore"):
            test_loss[r] = losses.value(name, Z, draw.y_test[None, :]).mean(axis=1)
        acc = ((Z > 0) == (draw.y_test[None, :] > 0.5)).mean(axis=1)
        test_acc[r] = np.where(np.isnan(W).any(axis=1), np.nan, acc)
    return test_loss, test_acc


def _data_variables(plan, dims_grid):
    """Training/test arrays over the grid axes that change them (seed always among them)."""
    from logsim.sweep import LABEL_PARAMS, data_params, draw_for, targets_for

    scenario = plan.scenario
    names = scenario.axis_names
    data_axes = [a for a in names if a == "seed" or a in data_params(plan.cells[0])]
    target_axes = [a for a in names if a in data_axes or a in LABEL_PARAMS]
    shape = dict(zip(names, scenario.shape, strict=True))

    def first_cells(axes):
        seen = {}
        for index, cell in scenario.cells():
            key = tuple(index[names.index(a)] for a in axes)
            seen.setdefault(key, cell)
        return list(seen.values())

    dcells = first_cells(data_axes)
    draws = [draw_for(c) for c in dcells]
    dshape = [shape[a] for a in data_axes]

    def over(axes, arrays, dims, attrs, shp):
        stacked = _pad(arrays)
        return (tuple(axes) + dims, stacked.reshape(*shp, *stacked.shape[1:]), attrs)

    out = {
        "x_train": over(data_axes, [d.x_train for d in draws], ("sample", "feature"),
                        {"long_name": "training features", "units": "1"}, dshape),
        "clean_labels": over(data_axes, [d.y_train for d in draws], ("sample",),
                             {"long_name": "clean training labels (1 = positive class)",
                              "units": "1"}, dshape),
        "x_test": over(data_axes, [d.x_test for d in draws], ("test_sample", "feature"),
                       {"long_name": "test features", "units": "1"}, dshape),
        "y_test": over(data_axes, [d.y_test for d in draws], ("test_sample",),
                       {"long_name": "clean test labels", "units": "1"}, dshape),
    }
    if all(d.p_train is not None for d in draws):
        out["p_train"] = over(data_axes, [d.p_train for d in draws], ("sample",),
                              {"long_name": "true posterior P(y=1|x), training set",
                               "units": "1"}, dshape)
        out["p_test"] = over(data_axes, [d.p_test for d in draws], ("test_sample",),
                             {"long_name": "true posterior P(y=1|x), test set",
                              "units": "1"}, dshape)
    if all(d.w_star is not None for d in draws):
        out["w_star"] = over(data_axes, [d.w_star for d in draws], ("feature",),
                             {"long_name": "generator's true weights", "units": "1"}, dshape)
    tcells = first_cells(target_axes)
    out["targets"] = over(target_axes, [targets_for(c, draw_for(c))[0] for c in tcells],
                          ("sample",),
                          {"long_name": "training targets after label noise and smoothing",
                           "units": "1"}, [shape[a] for a in target_axes])
    return out


def assemble(plan, chunks) -> xr.Dataset:
    """One labelled dataset from the chunk results of ``plan``.

    Parameters
    ----------
    plan : logsim.sweep.Plan
    chunks : logsim.sweep.SweepArrays or iterable of logsim.sweep.ChunkResult
        Every chunk of ``plan`` once, in any order; :class:`~logsim.sweep.SweepArrays`
        (what :func:`logsim.sweep.run` passes) are used as they are, without a copy.
    """
    from logsim.sweep import SweepArrays

    if isinstance(chunks, SweepArrays):
        arrays = chunks
    else:
        arrays = SweepArrays(plan)
        for chunk in chunks:
            arrays.add(chunk)
    arrays.check_complete()
    weights, train_loss = arrays.weights, arrays.train_loss
    diverged, transition = arrays.diverged, arrays.transition
    test_loss, test_acc = _test_metrics(plan, weights)

    scenario = plan.scenario
    axes = scenario.axis_names
    shape = scenario.shape
    _K, _d = weights.shape[1:]

    def grid(arr):
        return arr.reshape(*shape, *arr.shape[1:])

    loss_names = set(scenario.values("loss"))
    units = losses.loss_units(loss_names)
    variables = {
        "weights": ((*axes, "step", "feature"), grid(weights),
                    {"long_name": "weight vector w_t at the checkpoint", "units": "1"}),
        "train_loss": ((*axes, "step"), grid(train_loss),
                       {"long_name": "mean training loss (the loss being minimised)",
                        "units": units}),
        "test_loss": ((*axes, "step"), grid(test_loss),
                      {"long_name": "mean loss on the clean test labels (cross-entropy for "
                                    "the corrected losses)", "units": units}),
        "test_accuracy": ((*axes, "step"), grid(test_acc),
                          {"long_name": "accuracy of sign(w.x) on the clean test set",
                           "units": "1"}),
        "diverged": (axes, grid(diverged),
                     {"long_name": "trajectory overflowed (records after it are NaN)",
                      "units": "1"}),
    }
    if loss_names & set(losses.CORRECTED_LOSSES):
        variables["transition_rho_pos"] = (axes, grid(transition[:, 0]), {
            "long_name": "rho_pos = P(noisy 0 | clean 1) assumed by the loss correction",
            "units": "1"})
        variables["transition_rho_neg"] = (axes, grid(transition[:, 1]), {
            "long_name": "rho_neg = P(noisy 1 | clean 0) assumed by the loss correction",
            "units": "1"})
    if scenario.record["data"]:
        variables.update(_data_variables(plan, axes))

    coords = {name: _axis_coord(name, values) for name, values in scenario.grid}
    coords["step"] = ("step", plan.checkpoints,
                      {"long_name": "gradient-descent iteration", "units": "1"})
    from logsim.sweep import draw_for

    widest = max((draw_for(c) for c in plan._data_cells), key=lambda dr: dr.x_train.shape[1])
    coords["feature"] = ("feature", np.asarray(widest.feature_names, dtype=str),
                         {"long_name": "feature name"})
    ds = xr.Dataset(variables, coords=coords)
    from logsim.analysis import analyse  # calibration, entropy floors, SVM geometry

    ds = analyse(ds, loss=scenario.optimizer.get("loss"))  # None when loss is swept
    ds.attrs.update(provenance(scenario))
    ds.attrs["content_sha256"] = content_hash(ds)
    return ds


# --- provenance and hashing -----------------------------------------------------------------


def provenance(scenario) -> dict[str, str]:
    """CF-style global attributes describing how a result was made."""
    import netCDF4
    import numba

    import logsim

    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "title": f"logsim result: {scenario.name}",
        "summary": scenario.description,
        "Conventions": CONVENTIONS,
        "institution": "logsim",
        "source": f"logsim {logsim.__version__}",
        "history": f"{now} logsim run {scenario.path or '<mapping>'}",
        "references": "; ".join(scenario.references) or "logsim",
        "scenario_name": scenario.name,
        "scenario": scenario.text,
        "scenario_sha256": scenario.sha256,
        "logsim_version": logsim.__version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "xarray_version": xr.__version__,
        "netcdf4_version": netCDF4.__version__,
        "platform": platform.platform(),
        "date_created": now,
    }


#: Elements converted to canonical bytes at a time while hashing: bounds the hash's
#: scratch memory (a few blocks) however large the variables are.
_HASH_BLOCK = 1 << 20


def _c_order_blocks(arr: np.ndarray, size: int):
    """Consecutive pieces of ``arr`` whose C-order bytes, joined, are those of ``arr``.

    Each piece has at most ``size`` elements, unless a single row along the last axis
    is longer; pieces of a C-contiguous array are views.
    """
    if arr.ndim == 0 or arr.size <= size:
        yield arr
        return
    if arr.flags.c_contiguous:
        arr = arr.reshape(-1)  # a view
    row = arr.size // arr.shape[0]
    if arr.ndim == 1 or row <= size:
        step = max(1, size // row)
        for start in range(0, arr.shape[0], step):
            yield arr[start:start + step]
    else:
        for sub in arr:
            yield from _c_order_blocks(sub, size)


def _canonical_float_bytes(block: np.ndarray) -> bytes:
    block = block.astype("<f8")
    block = np.where(np.isnan(block), np.nan, block)  # one NaN bit pattern
    return np.ascontiguousarray(block).tobytes()


def _canonical_pieces(values: np.ndarray):
    """The canonical bytes of ``values`` in pieces (their concatenation is what is hashed).

    Shape header, a type tag, then the values in C order: strings as UTF-8 joined by
    ``\\x1f``; bools as bytes; integers as little-endian int64; everything else as
    little-endian float64 with one NaN pattern. Numbers are converted block by block
    (:data:`_HASH_BLOCK`), so hashing a variable needs no copy of it.
    """
    arr = np.asarray(values)
    yield ("x".join(map(str, arr.shape)) + ":").encode()
    if arr.dtype.kind in "OUS":
        yield "\x1f".join(str(v) for v in arr.ravel()).encode("utf-8")
        return
    if arr.dtype.kind == "b":
        tag, convert = b"b", lambda block: block.astype(np.uint8).tobytes()
    elif arr.dtype.kind in "iu":
        tag, convert = b"i", lambda block: block.astype("<i8").tobytes()
    else:
        tag, convert = b"f", _canonical_float_bytes
    yield tag
    for block in _c_order_blocks(arr, _HASH_BLOCK):
        yield convert(block)


def content_hash(ds: xr.Dataset) -> str:
    """SHA-256 of every variable and coordinate (name, dims, values), in name order.

    Values are hashed in a canonical form (little-endian float64/int64, bools
    as bytes, strings as UTF-8, one NaN pattern), so the hash of a dataset and
    of its netCDF round trip agree. Attributes are not hashed.
    """
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        h.update(f"{name}|{','.join(map(str, var.dims))}|".encode())
        for piece in _canonical_pieces(var.values):
            h.update(piece)
    return h.hexdigest()


# --- storage --------------------------------------------------------------------------------


#: HDF5 chunk cache (bytes) of the variables while a result is written. Each variable
#: is written whole, in one call, so a cache saves no work; at netCDF's default (64 MiB)
#: it held about 60 MB of compressed-chunk buffers while a 200 MB variable was written.
WRITE_CHUNK_CACHE_BYTES = 0


@contextmanager
def _netcdf_chunk_cache(size: int):
    """netCDF4's default chunk cache (for files opened meanwhile) set to ``size`` bytes."""
    import netCDF4

    saved = netCDF4.get_chunk_cache()
    netCDF4.set_chunk_cache(size)
    try:
        yield
    finally:
        netCDF4.set_chunk_cache(*saved)


def write(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` as zlib-compressed netCDF4 through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    encoding = {name: {"zlib": True, "complevel": 4}
                for name, var in ds.variables.items() if var.dtype.kind in "fiub"}
    try:
        with _netcdf_chunk_cache(WRITE_CHUNK_CACHE_BYTES):
            ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def open_results(path, *, verify: bool = True) -> xr.Dataset:
    """Open a stored result and check that it is intact.

    Raises :class:`ResultError` if the file is missing, is not netCDF (or is
    truncated), is not a logsim result, or its data no longer match its
    ``content_sha256``. The data are loaded into memory and the file closed.
    """
    path = Path(path)
    if not path.is_file():
        raise ResultError(f"{path}: no such file")
    try:
        with xr.open_dataset(path, engine="netcdf4") as handle:
            ds = handle.load()
    except Exception as exc:  # netCDF4/HDF5 raise OSError, RuntimeError, KeyError...
        raise ResultError(
            f"{path}: cannot be read as netCDF4 (truncated or not a netCDF file): {exc}"
        ) from None
    if "content_sha256" not in ds.attrs or "scenario" not in ds.attrs:
        raise ResultError(f"{path}: not a logsim result (no content_sha256/scenario attributes)")
    if verify:
        expected = ds.attrs["content_sha256"]
        actual = content_hash(ds)
        if actual != expected:
            raise ResultError(
                f"{path}: data do not match the stored content_sha256 (stored {expected[:16]}…, "
                f"computed {actual[:16]}…): the file was modified or damaged"
            )
    return ds


# --- citation -------------------------------------------------------------------------------


def citation(ds: xr.Dataset, path=None) -> tuple[str, str]:
    """A BibTeX ``@misc`` entry and a one-line citation for a stored result."""
    name = ds.attrs.get("scenario_name", "result")
    version = ds.attrs.get("logsim_version", "?")
    created = ds.attrs.get("date_created", "")
    year = created[:4] or "n.d."
    digest = ds.attrs["content_sha256"]
    key = f"logsim_{name}_{digest[:8]}".replace("-", "_")
    where = f", file {Path(path).name}" if path else ""
    bibtex = "\n".join([
        f"@misc{{{key},",
        f"  title        = {{logsim simulation result: {name}}},",
        "  author       = {{logsim contributors}},",
        f"  year         = {{{year}}},",
        f"  note         = {{Scenario {name}, logsim {version}, created {created}, "
        f"content SHA-256 {digest}}},",
        f"  howpublished = {{netCDF4 dataset{where}}},",
        "}",
    ])
    text = (f"logsim contributors ({year}). logsim simulation result \"{name}\" "
            f"(logsim {version}, created {created}). SHA-256 {digest}.")
    return bibtex, text
