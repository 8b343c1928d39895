"""User data files (``[data] kind = "file"``): read, validated, hashed; never unpickled.

* :func:`load_file` reads a ``.npz`` or ``.csv`` file and :func:`load_arrays`
  validates arrays (real finite features; 0/1, -1/+1 or named labels; both classes)
  into a :class:`~logsim.data_draw.DataDraw` of kind ``"file"``. A parsed file is
  cached per path, size and modification time; every call returns fresh arrays.
* :func:`file_header` gives a file's row counts and feature names from its headers
  alone, for :func:`logsim.data.data_shape` (a sweep is planned without loading data).
* :func:`file_sha256` and :func:`check_data_file` tie a result or a resumed run to the
  bytes of the file it was made from (:class:`DataFileError` otherwise).
* :class:`NoTestSetWarning` and :func:`no_test_set_message`: a file without a test set.

The split and standardisation of a file's data are options of
``make_data("file", ...)`` in :mod:`logsim.data`; this module only reads.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from logsim.data_draw import DataDraw, default_feature_names, fresh_float64

__all__ = [
    "DataFileError",
    "NoTestSetWarning",
    "check_data_file",
    "file_header",
    "file_sha256",
    "load_arrays",
    "load_file",
    "no_test_set_message",
]


# --------------------------------------------------------------------------- file headers


def _file_key(path) -> tuple:
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        raise ValueError(f"{path}: data file not found (expected a .npz or .csv file)") from None
    return str(p), st.st_size, st.st_mtime_ns


def file_header(path, label) -> tuple[int, int, tuple[str, ...]]:
    """``(n_rows, n_test_rows, feature_names)`` of a data file without parsing its values."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise ValueError(
            f"{path}: unsupported data file extension {Path(path).suffix!r}; expected .npz or .csv"
        )
    if suffix == ".npz" and label is not None:
        raise ValueError(f"{path}: label={label!r} applies to .csv files only")
    if suffix == ".csv" and label is None:
        raise ValueError(f"{path}: a .csv data file needs label=<name of the label column>")
    return _header_cached(*_file_key(path), str(path), label)


@functools.lru_cache(maxsize=64)
def _header_cached(resolved, _size, _mtime, source, label) -> tuple[int, int, tuple[str, ...]]:
    if resolved.lower().endswith(".csv"):
        with open(resolved, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{source}: empty file; expected a header row naming the columns")
            n = sum(1 for _ in reader)
        header = [h.strip() for h in header]
        k = _label_column(source, header, label)
        return n, 0, tuple(h for j, h in enumerate(header) if j != k)
    shapes = {}
    names = None
    try:
        with zipfile.ZipFile(resolved) as archive:
            for name in ("x_train", "y_train", "x_test", "y_test"):
                if f"{name}.npy" in archive.namelist():
                    with archive.open(f"{name}.npy") as member:
                        shapes[name] = _npy_shape(member)
            if "feature_names.npy" in archive.namelist():  # small: read it
                with archive.open("feature_names.npy") as member:
                    names = np.lib.format.read_array(member, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{source}: cannot read as .npz without pickle: {exc}") from exc
    _require_npz_arrays(source, shapes)
    x_shape = shapes["x_train"]
    if len(x_shape) != 2:
        raise ValueError(
            f"{source}: x_train must be a 2-D array (n_samples, n_features), got shape {x_shape}"
        )
    n_test = shapes["x_test"][0] if "x_test" in shapes and len(shapes["x_test"]) == 2 else 0
    if names is None or names.shape != (x_shape[1],):  # load_arrays refuses a wrong length
        return x_shape[0], n_test, default_feature_names(x_shape[1])
    return x_shape[0], n_test, tuple(str(s) for s in names.tolist())


def _npy_shape(member) -> tuple[int, ...]:
    """The shape in a ``.npy`` header (the data are not read)."""
    fmt = np.lib.format
    major, _ = fmt.read_magic(member)
    read = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
    return read(member, max_header_size=1 << 20)[0]


# --------------------------------------------------------------------------- data files


class DataFileError(ValueError):
    """A data file that is missing, or not the file a scenario or result was made from."""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (cached per path, size and modification time)."""
    return _sha256_cached(*_file_key(path))


@functools.lru_cache(maxsize=64)
def _sha256_cached(resolved, _size, _mtime) -> str:
    h = hashlib.sha256()
    with open(resolved, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_data_file(path: str | Path, sha256: str) -> None:
    """Raise :class:`DataFileError` unless ``path`` exists and has SHA-256 ``sha256``.

    For a result or a resumed run: ``sha256`` is :attr:`Scenario.data_sha256`
    as stored when the run began, ``path`` the resolved data path.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFileError(
            f"{path}: data file not found (moved or deleted?); the run used a file with "
            f"SHA-256 {sha256}"
        )
    digest = file_sha256(p)
    if digest != sha256.lower():
        raise DataFileError(
            f"{path}: data file changed: its SHA-256 is now {digest}, the run used {sha256}"
        )


class NoTestSetWarning(UserWarning):
    """A scenario's data file has no test set and no ``test_fraction`` splits one off."""


def no_test_set_message(path) -> str:
    """The text of :class:`NoTestSetWarning` for data file ``path``."""
    npz = " add arrays x_test and y_test to the file," if str(path).lower().endswith(".npz") else ""
    return (
        f"{path} has no test set and no [data] test_fraction is set: every test_* variable "
        "(test loss, accuracy, calibration) will be NaN, and plots of them empty. Set "
        f"test_fraction = 0.3 (a stratified held-out split drawn from the seed),{npz} or set "
        "test_fraction = 0 to train on every sample knowingly."
    )


# --------------------------------------------------------------------------- user data


def _label_values(source: str, name: str, y, positive=None) -> np.ndarray:
    """Labels as float 0/1: 0/1 or -1/+1 numbers, or ``positive`` against the other value."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{source}: {name} must be a 1-D array, got shape {y.shape}")
    if positive is not None:
        if y.dtype.kind in "USO":
            values = np.char.strip(y.astype(str))
            target = str(positive).strip()
        elif y.dtype.kind in "biuf":
            values, target = y, positive
            if isinstance(positive, str):
                try:
                    target = float(positive)
                except ValueError:
                    raise ValueError(
                        f"{source}: {name} holds numbers; positive = {positive!r} is not one"
                    ) from None
        else:
            raise ValueError(f"{source}: {name} must hold labels, got dtype {y.dtype}")
        found = np.unique(values)
        shown = ", ".join(map(str, found[:10])) + (", ..." if found.size > 10 else "")
        if found.size > 2:
            raise ValueError(
                f"{source}: {name} has {found.size} distinct labels ({shown}); a binary problem "
                "needs two"
            )
        if name == "y_train" and target not in found.tolist():
            raise ValueError(
                f"{source}: positive = {positive!r} is not a label of {name}; labels: {shown}"
            )
        return fresh_float64(values == target)
    if y.dtype.kind in "USO":
        found = np.unique(np.char.strip(y.astype(str)))
        shown = ", ".join(found[:10].tolist()) + (", ..." if found.size > 10 else "")
        raise ValueError(
            f"{source}: {name} holds text labels ({shown}); set positive = the label of the "
            "positive class (e.g. positive = " + repr(str(found[-1])) + ")"
        )
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{source}: {name} must hold numeric 0/1 labels, got dtype {y.dtype}")
    y = y.astype(np.float64)
    bad_count = int(np.count_nonzero(~np.isfinite(y)))
    if bad_count:
        raise ValueError(f"{source}: {name} has {bad_count} non-finite values (NaN or inf)")
    signed = (y == -1.0) | (y == 1.0)
    if signed.all() and (y == -1.0).any():
        return fresh_float64(y == 1.0)  # -1/+1 labels
    other = (y != 0.0) & (y != 1.0)
    if other.any():
        values = np.unique(y[other])
        shown = ", ".join(f"{v:g}" for v in values[:10]) + (", ..." if values.size > 10 else "")
        raise ValueError(
            f"{source}: {name} must hold labels in {{0, 1}} or {{-1, +1}}; found "
            f"{int(other.sum())} other values: {shown} (name the positive class with positive = "
            "...)"
        )
    return fresh_float64(y)


def _features(source: str, name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{source}: {name} must be a real numeric array, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(
            f"{source}: {name} must be a 2-D array (n_samples, n_features) with at least "
            f"one feature, got shape {x.shape}"
        )
    x = fresh_float64(x)
    bad_count = int(np.count_nonzero(~np.isfinite(x)))
    if bad_count:
        raise ValueError(f"{source}: {name} has {bad_count} non-finite values (NaN or inf)")
    return x


def load_arrays(
    x_train,
    y_train,
    x_test=None,
    y_test=None,
    *,
    source: str = "arrays",
    feature_names: Sequence[str] | None = None,
    positive=None,
) -> DataDraw:
    """Validate user arrays and wrap them as a :class:`DataDraw` of kind ``"file"``.

    Parameters
    ----------
    x_train : array_like, shape (n, d)
        Real features (bool/int/float); at least 2 rows, all finite.
    y_train : array_like, shape (n,)
        Labels 0/1 (bool, int or float) or -1/+1 (-1 becomes 0); with ``positive``,
        any two values (strings too): ``positive`` becomes 1, the other 0. Both
        classes must be present.
    x_test, y_test : array_like or None
        Both or neither; ``x_test`` must have ``d`` columns. Missing test data
        gives empty arrays of shape ``(0, d)`` and ``(0,)``.
    source : str
        Named in every error message (e.g. the file path).
    feature_names : sequence of str, optional
        ``d`` names; default ``x0, x1, ...``.
    positive : str or int, optional
        The label value of the positive class.

    Returns
    -------
    DataDraw
        Fresh float64 C-contiguous copies; ``p_*``, ``w_star``, ``b_star`` are ``None``.
    """
    x_tr = _features(source, "x_train", x_train)
    y_tr = _label_values(source, "y_train", y_train, positive)
    n, d = x_tr.shape
    if y_tr.shape[0] != n:
        raise ValueError(f"{source}: x_train has {n} rows but y_train has {y_tr.shape[0]} labels")
    if n < 2:
        raise ValueError(f"{source}: x_train needs at least 2 samples, got {n}")
    if np.unique(y_tr).size < 2:
        raise ValueError(
            f"{source}: y_train must contain both classes 0 and 1, got only {int(y_tr[0])}"
        )
    if (x_test is None) != (y_test is None):
        raise ValueError(f"{source}: give both x_test and y_test, or neither")
    if x_test is None:
        x_te, y_te = np.zeros((0, d)), np.zeros(0)
    else:
        x_te = _features(source, "x_test", x_test)
        y_te = _label_values(source, "y_test", y_test, positive)
        if x_te.shape[1] != d:
            raise ValueError(f"{source}: x_test has {x_te.shape[1]} features but x_train has {d}")
        if y_te.shape[0] != x_te.shape[0]:
            raise ValueError(
                f"{source}: x_test has {x_te.shape[0]} rows but y_test has {y_te.shape[0]} labels"
            )
    if feature_names is None:
        names = default_feature_names(d)
    else:
        names = tuple(str(s) for s in feature_names)
        if len(names) != d:
            raise ValueError(f"{source}: {len(names)} feature names for {d} features")
    return DataDraw("file", x_tr, y_tr, x_te, y_te, None, None, None, names, None)


_NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "feature_names")


def load_file(path: str | Path, *, label: str | None = None, positive=None) -> DataDraw:
    """Load user data from ``.npz`` or ``.csv`` (never unpickles anything).

    * ``.npz``: arrays ``x_train``, ``y_train`` and optionally ``x_test``,
      ``y_test`` and ``feature_names`` (a string array); other arrays are
      ignored. Read with ``np.load(path, allow_pickle=False)``. ``label`` must
      be ``None``.
    * ``.csv``: a header row, then one sample per row; the column named
      ``label`` holds the labels and every other column is a feature (named by
      the header). There is no test split: the test arrays are empty, ``(0, d)``.

    Labels are 0/1 or -1/+1 numbers, or any two values with ``positive`` naming
    the positive one (``positive = "M"`` for a column of ``B``/``M``). The
    arrays are validated by :func:`load_arrays` with ``source=path``; the
    parsed file is cached per path, size and modification time (fresh arrays
    every call).

    Raises
    ------
    ValueError
        Missing file, unsupported extension, missing arrays or label column,
        unparsable values, or any :func:`load_arrays` check.
    """
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise ValueError(f"{source}: data file not found (expected a .npz or .csv file)")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        if label is not None:
            raise ValueError(f"{source}: label={label!r} applies to .csv files only")
        draw = _load_npz_cached(*_file_key(p), source, positive)
    elif suffix == ".csv":
        if label is None:
            raise ValueError(f"{source}: a .csv data file needs label=<name of the label column>")
        draw = _load_csv_cached(*_file_key(p), source, label, positive)
    else:
        raise ValueError(
            f"{source}: unsupported data file extension {p.suffix!r}; expected .npz or .csv"
        )
    return replace(
        draw, x_train=fresh_float64(draw.x_train), y_train=fresh_float64(draw.y_train),
        x_test=fresh_float64(draw.x_test), y_test=fresh_float64(draw.y_test),
    )  # fmt: skip


def _require_npz_arrays(source: str, present, found=None) -> None:
    """Refuse an .npz whose ``present`` arrays lack x_train or y_train (naming the arrays
    ``found`` in the file, when given)."""
    missing = [name for name in ("x_train", "y_train") if name not in present]
    if missing:
        seen = "" if found is None else f"; found {', '.join(found) or 'none'}"
        raise ValueError(
            f"{source}: missing array(s) {', '.join(missing)}; expected x_train, y_train "
            f"and optionally x_test, y_test, feature_names{seen}"
        )


@functools.lru_cache(maxsize=8)
def _load_npz_cached(resolved, _size, _mtime, source, positive) -> DataDraw:
    try:
        with np.load(resolved, allow_pickle=False) as archive:
            found = list(archive.files)
            arrays = {name: archive[name] for name in _NPZ_ARRAYS if name in found}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{source}: cannot read as .npz without pickle: {exc}") from exc
    _require_npz_arrays(source, arrays, found)
    names = arrays.get("feature_names")
    if names is not None and names.dtype.kind not in "US":
        raise ValueError(f"{source}: feature_names must be a string array, got {names.dtype}")
    return _read_only(load_arrays(
        arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test"),
        source=source, positive=positive,
        feature_names=None if names is None else [str(s) for s in names.tolist()],
    ))  # fmt: skip


def _label_column(source: str, header: list[str], label: str) -> int:
    if label not in header:
        raise ValueError(f"{source}: no label column {label!r}; columns are {', '.join(header)}")
    if header.count(label) > 1:
        raise ValueError(f"{source}: label column {label!r} appears more than once")
    if len(header) < 2:
        raise ValueError(f"{source}: no feature columns besides the label {label!r}")
    return header.index(label)


@functools.lru_cache(maxsize=8)
def _load_csv_cached(resolved, _size, _mtime, source, label, positive) -> DataDraw:
    with open(resolved, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{source}: empty file; expected a header row naming the columns")
    header = [h.strip() for h in rows[0]]
    k = _label_column(source, header, label)
    feature_cols = [j for j in range(len(header)) if j != k]
    values = np.empty((len(rows) - 1, len(feature_cols)))
    labels = []
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) != len(header):
            raise ValueError(
                f"{source}: line {line} has {len(row)} fields, the header has {len(header)}"
            )
        labels.append(row[k].strip())
        for out, j in enumerate(feature_cols):
            try:
                values[i, out] = float(row[j])
            except ValueError:
                raise ValueError(
                    f"{source}: line {line}, column {header[j]!r}: {row[j]!r} is not a number"
                ) from None
    y = np.asarray(labels, dtype=str)
    if not (isinstance(positive, str)):
        try:  # numeric labels (0/1, -1/+1, or numbers named by an integer positive)
            y = np.asarray([float(v) for v in labels], dtype=np.float64)
        except ValueError:
            pass
    return _read_only(load_arrays(
        values, y, source=source, feature_names=[header[j] for j in feature_cols],
        positive=positive,
    ))  # fmt: skip


def _read_only(draw: DataDraw) -> DataDraw:
    for a in (draw.x_train, draw.y_train, draw.x_test, draw.y_test):
        a.flags.writeable = False  # cached: load_file hands out copies
    return draw
