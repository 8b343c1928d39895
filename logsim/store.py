"""Storing results: netCDF4 written slice by slice, provenance, content hash, reading, citing.

A stored result is a netCDF4 file that anyone can read without logsim. It carries the
exact scenario text, the versions that made it, and ``content_sha256``: a hash of every
data variable and coordinate in a canonical byte order, independent of thread count,
chunking, resume or scheduler. Reading a result never executes anything from the file
(no pickle, no eval).

The store knows nothing of Numba or of how chunks were computed. A :class:`Layout`
describes the result (dims, coordinates, variables, attributes); a writer takes
*placements* ``(variable, slices, block)`` in any order and finishes the result:

* :class:`NetCDFWriter` streams each block into a temporary file next to the output,
  then hashes the file by reading it back in canonical order (a few blocks in memory at
  a time, whatever its size) and renames it into place;
* :class:`MemoryWriter` fills arrays and returns an ``xarray.Dataset`` with the same
  variables, attributes and hash.

:class:`PartStore` keeps the finished chunks of a run under ``OUT.parts/`` until the file
is complete, so a killed run can resume.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CONVENTIONS",
    "Layout",
    "MemoryWriter",
    "NetCDFWriter",
    "PartStore",
    "ResultError",
    "citation",
    "content_hash",
    "open_results",
    "provenance",
]

CONVENTIONS = "CF-1.8"


class ResultError(ValueError):
    """A file is not a readable, intact logsim result."""


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """What a result holds, before any value is known.

    Attributes
    ----------
    dims : mapping of dim -> size
    coords : mapping of name -> (values, attrs)
        One-dimensional coordinates named after their dim.
    variables : mapping of name -> (dims, dtype, attrs, chunks)
        ``dtype`` is ``"f8"``, ``"i8"`` or ``"bool"``; floats not written stay NaN,
        booleans False. ``chunks`` is the storage chunk shape (or None).
    attrs : mapping
        Global attributes (str or numbers).
    """

    dims: Mapping[str, int]
    coords: Mapping[str, tuple[np.ndarray, Mapping[str, str]]]
    variables: Mapping[str, tuple[tuple[str, ...], str, Mapping[str, str], tuple | None]]
    attrs: Mapping[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- provenance


def provenance(scenario) -> dict[str, str]:
    """CF-style global attributes describing how a result was made."""
    import netCDF4
    import numba

    from logsim.version import __version__

    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    try:
        import xarray

        xr_version = xarray.__version__
    except ImportError:  # pragma: no cover - xarray is a dependency
        xr_version = ""
    return {
        "title": f"logsim result: {scenario.name}",
        "summary": scenario.description,
        "Conventions": CONVENTIONS,
        "institution": "logsim",
        "source": f"logsim {__version__}",
        "history": f"{now} logsim run {scenario.path or '<mapping>'}",
        "references": "; ".join(scenario.references) or "logsim",
        "scenario_name": scenario.name,
        "scenario": scenario.text,
        "scenario_sha256": scenario.sha256,
        "logsim_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "xarray_version": xr_version,
        "netcdf4_version": netCDF4.__version__,
        "platform": platform.platform(),
        "date_created": now,
    } | ({"data_path": str(scenario.data["path"]), "data_sha256": scenario.data_sha256}
         if scenario.data_sha256 else {})


# --------------------------------------------------------------------------- hashing


#: Elements converted to canonical bytes at a time while hashing: bounds the hash's
#: scratch memory (a few blocks) however large the variables are. 2^18 (2 MiB of float64)
#: hashes as fast as 2^20 did and kept the read-back's peak at 12 MB instead of 36 MB on a
#: 0.42 GB result: blocks of 8 MiB came from the heap (below glibc's adaptive mmap
#: threshold) and HDF5's metadata, allocated between them, kept the freed ones resident.
HASH_BLOCK = 1 << 18


def _c_order_blocks(arr, shape: tuple[int, ...], size: int):
    """Consecutive pieces of ``arr`` (indexable like an array of ``shape``) whose C-order
    values, joined, are those of ``arr``; each holds at most ``size`` elements unless a
    single row along the last axis is longer. ``arr`` may be a netCDF variable."""
    total = int(np.prod(shape, dtype=np.int64))
    if len(shape) == 0 or total <= size:
        yield np.asarray(arr[...])
        return
    row = total // shape[0]
    if len(shape) == 1 or row <= size:
        step = max(1, size // row)
        for start in range(0, shape[0], step):
            yield np.asarray(arr[start:start + step])
    else:
        for i in range(shape[0]):
            yield from _c_order_blocks(_Sub(arr, i), shape[1:], size)


class _Sub:
    """``arr[i]`` without reading it: indexing is forwarded with ``i`` prepended."""

    def __init__(self, arr, i):
        self.arr, self.i = arr, i

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        if key == (Ellipsis,):
            return self.arr[self.i]
        return self.arr[(self.i, *key)]


def _canonical_float_bytes(block: np.ndarray) -> np.ndarray:
    """``block`` as little-endian float64 with one NaN bit pattern, C-contiguous (hashed
    through its buffer): one copy of the block (the source may be a caller's array,
    never modified)."""
    block = np.array(block, dtype="<f8", order="C")  # a C-ordered copy
    block[np.isnan(block)] = np.nan
    return block


def _canonical_pieces(shape: tuple[int, ...], kind: str, blocks: Iterable[np.ndarray]):
    """The canonical bytes of a variable in pieces (their concatenation is what is hashed).

    Shape header, a type tag, then the values in C order: strings as UTF-8 joined by
    ``\\x1f``; bools as bytes; integers as little-endian int64; everything else as
    little-endian float64 with one NaN pattern. ``kind`` is the numpy dtype kind.
    """
    yield ("x".join(map(str, shape)) + ":").encode()
    if kind in "OUS":
        yield "\x1f".join(str(v) for block in blocks for v in np.ravel(block)).encode("utf-8")
        return
    if kind == "b":
        tag, convert = b"b", lambda block: np.asarray(block, dtype=bool).astype(np.uint8).tobytes()
    elif kind in "iu":
        tag, convert = b"i", lambda block: block.astype("<i8").tobytes()
    else:
        tag, convert = b"f", _canonical_float_bytes
    yield tag
    for block in blocks:
        yield convert(block)


def _hash_variables(items: Iterable[tuple[str, tuple[str, ...], tuple[int, ...], str, object]]
                    ) -> str:
    h = hashlib.sha256()
    for name, dims, shape, kind, source in sorted(items, key=lambda item: item[0]):
        h.update(f"{name}|{','.join(map(str, dims))}|".encode())
        for piece in _canonical_pieces(shape, kind, _c_order_blocks(source, shape, HASH_BLOCK)):
            h.update(piece)
    return h.hexdigest()


def content_hash(ds) -> str:
    """SHA-256 of every variable and coordinate (name, dims, values), in name order.

    Values are hashed in a canonical form (little-endian float64/int64, bools as bytes,
    strings as UTF-8, one NaN pattern), so the hash of a dataset, of its netCDF round
    trip, and of a file hashed as it is written (:class:`NetCDFWriter`) agree.
    Attributes are not hashed.
    """
    items = []
    for name in map(str, ds.variables):
        var = ds.variables[name]
        items.append((name, var.dims, tuple(var.shape), var.dtype.kind, _Lazy(var)))
    return _hash_variables(items)


class _Lazy:
    """Index an xarray variable block by block (a lazily opened file reads only that)."""

    def __init__(self, var):
        self.var = var

    def __getitem__(self, key):
        if key is Ellipsis or key == (Ellipsis,):
            return np.asarray(self.var.values)
        return np.asarray(self.var[key].values)


# --------------------------------------------------------------------------- writers


class MemoryWriter:
    """Collect placements into arrays; :meth:`finish` returns the ``xarray.Dataset``."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.arrays = {}
        for name, (dims, dtype, _, _) in layout.variables.items():
            shape = tuple(layout.dims[d] for d in dims)
            self.arrays[name] = (np.zeros(shape, dtype=bool) if dtype == "bool"
                                 else np.full(shape, np.nan if dtype == "f8" else 0,
                                              dtype=np.dtype(dtype)))

    def write(self, name: str, slices: tuple, block: np.ndarray) -> None:
        self.arrays[name][slices] = block

    def finish(self):
        import xarray as xr

        layout = self.layout
        variables = {name: (dims, self.arrays[name], dict(attrs))
                     for name, (dims, _, attrs, _) in layout.variables.items()}
        coords = {name: (name, values, dict(attrs))
                  for name, (values, attrs) in layout.coords.items()}
        ds = xr.Dataset(variables, coords=coords, attrs=dict(layout.attrs))
        ds.attrs["content_sha256"] = content_hash(ds)
        return ds

    def abort(self) -> None:
        self.arrays.clear()


#: HDF5 chunk cache (bytes) of each variable of the file while it is written: every storage
#: chunk is written whole, once, so a cache saves no work. netCDF's default (64 MiB per
#: variable, ``netCDF4.get_chunk_cache()``) is a write-back cache: it held every chunk of a
#: variable written until the file was closed, up to 64 MiB for each of the ~30 variables
#: of a sweep (0.5 MB per computed chunk at d = 500, 300 MB of a 4.2 GB sweep's peak).
WRITE_CHUNK_CACHE_BYTES = 0


@contextmanager
def _library_chunk_cache(size: int):
    """netCDF's default chunk cache set to ``size`` bytes, then restored.

    The only way to give a file written by netCDF4 an HDF5 chunk cache of 0: netCDF-C
    copies the library default (``nc_set_chunk_cache``) into the file access properties
    when the file is created and into each variable when it is defined, and skips a
    variable's own setting of 0 when it creates the HDF5 dataset (``var_create_dataset``
    calls ``H5Pset_chunk_cache`` only for a non-zero size), so
    ``Variable.set_var_chunk_cache(size=0)`` changes nothing. The default is global to
    the process: a file opened by another thread meanwhile gets the same cache (slower
    reads at worst, the same data).
    """
    import netCDF4

    previous = netCDF4.get_chunk_cache()
    netCDF4.set_chunk_cache(size, previous[1], previous[2])
    try:
        yield
    finally:
        netCDF4.set_chunk_cache(*previous)


class NetCDFWriter:
    """Stream placements into ``path`` (netCDF4) through a temporary file and a rename.

    The file is readable by xarray exactly as if ``xarray.Dataset.to_netcdf`` had written
    the dataset :class:`MemoryWriter` would return: floats with ``_FillValue = NaN``,
    booleans as ``int8`` with ``dtype = "bool"``, strings as variable-length strings.
    Nothing appears at ``path`` until :meth:`finish` has hashed and closed the file.

    Variables are stored uncompressed, in storage chunks the placements fill whole:
    zlib saved about a quarter of the quickstart's bytes (float trajectories compress
    poorly) at the cost of most of the writing time, and without it a result's size on
    disk is known before it runs (:mod:`logsim.planner`).
    """

    def __init__(self, path, layout: Layout):
        import netCDF4

        self.path = Path(path)
        self.layout = layout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        with _library_chunk_cache(WRITE_CHUNK_CACHE_BYTES):  # the file's and its variables'
            self.nc = netCDF4.Dataset(self.tmp, "w", format="NETCDF4")
            try:
                self._define()
            except BaseException:
                self.abort()
                raise

    def _define(self) -> None:
        nc, layout = self.nc, self.layout
        nc.set_auto_maskandscale(False)
        for dim, size in layout.dims.items():
            nc.createDimension(dim, size)
        for name, (values, attrs) in layout.coords.items():
            values = np.asarray(values)
            if values.dtype.kind in "US":
                var = nc.createVariable(name, str, (name,))
                var[:] = values.astype(object)
            elif values.dtype == bool:
                var = nc.createVariable(name, "i1", (name,))
                var.setncattr("dtype", "bool")
                var[:] = values.astype(np.int8)
            else:
                fill = np.nan if values.dtype.kind == "f" else None
                var = nc.createVariable(name, values.dtype, (name,), fill_value=fill)
                var[:] = values
            for key, value in attrs.items():
                var.setncattr(key, value)
        for name, (dims, dtype, attrs, chunks) in layout.variables.items():
            kw = {"chunksizes": chunks} if chunks and dims else {}
            if dtype == "bool":
                var = nc.createVariable(name, "i1", dims, fill_value=False, **kw)
                var.setncattr("dtype", "bool")
            elif dtype == "f8":
                var = nc.createVariable(name, "f8", dims, fill_value=np.nan, **kw)
            else:
                var = nc.createVariable(name, dtype, dims, **kw)
            for key, value in attrs.items():
                var.setncattr(key, value)
        for key, value in layout.attrs.items():
            nc.setncattr(key, value)

    def write(self, name: str, slices: tuple, block: np.ndarray) -> None:
        var = self.nc.variables[name]
        if block.dtype == bool:
            block = block.astype(np.int8)
        var[slices] = block

    def _items(self):
        for name, var in self.nc.variables.items():
            shape = tuple(len(self.nc.dimensions[d]) for d in var.dimensions)
            if var.dtype is str:
                kind = "O"
            elif "dtype" in var.ncattrs() and var.getncattr("dtype") == "bool":
                kind = "b"
            else:
                kind = np.dtype(var.dtype).kind
            yield name, var.dimensions, shape, kind, var

    def finish(self) -> str:
        """Hash the file as written, record the hash, close it and move it into place."""
        try:
            digest = _hash_variables(self._items())
            self.nc.setncattr("content_sha256", digest)
            self.nc.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return digest

    def abort(self) -> None:
        """Close and delete the temporary file (nothing appears at the output path)."""
        try:
            if self.nc.isopen():
                self.nc.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files of ``path`` left by writers that were killed (their process
    no longer runs): a run killed with SIGKILL cannot clean up after itself."""
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        try:
            pid = int(tmp.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except (ValueError, PermissionError, OSError):
            continue  # not ours, or a live process: leave it


# --------------------------------------------------------------------------- parts


@contextmanager
def _atomic_file(path: Path):
    """A binary file that appears at ``path`` complete (fsync, rename) or not at all."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class PartStore:
    """Finished chunks of one run, saved under ``OUT.parts/`` with atomic renames.

    ``manifest.json`` records the scenario hash and the chunk size: resuming with another
    scenario text is refused, and a resumed run cuts the sweep as the first one did. The
    folder is created only when the first chunk is saved, so a run that fails before that
    leaves nothing behind.
    """

    def __init__(self, directory, *, scenario_sha256: str, chunk_size: int, n_chunks: int,
                 resume: bool, data_sha256: str | None = None):
        self.directory = Path(directory)
        self.expected = {"scenario_sha256": scenario_sha256, "chunk_size": chunk_size,
                         "n_chunks": n_chunks, "data_sha256": data_sha256}
        self.found_existing = False
        manifest = self.directory / "manifest.json"
        if manifest.exists():
            found = json.loads(manifest.read_text())
            if not resume:
                raise ValueError(
                    f"{self.directory} holds the saved chunks of an unfinished run; continue "
                    "it with --resume, or delete that folder to start afresh")
            if found.get("scenario_sha256") != scenario_sha256:
                raise ValueError(
                    f"cannot resume: {self.directory} was made by a different scenario text "
                    f"(sha256 {str(found.get('scenario_sha256'))[:12]}…, this scenario "
                    f"{scenario_sha256[:12]}…); delete it to start afresh")
            if found.get("data_sha256") != data_sha256:
                raise ValueError(
                    f"cannot resume: the data file changed since {self.directory} was made "
                    f"(sha256 {str(found.get('data_sha256'))[:12]}… then, {str(data_sha256)[:12]}"
                    "… now); delete that folder to start afresh")
            self.expected = {**self.expected, "chunk_size": int(found["chunk_size"]),
                             "n_chunks": int(found["n_chunks"])}
            self.found_existing = True

    @property
    def chunk_size(self) -> int:
        return int(self.expected["chunk_size"])

    def _file(self, chunk: int) -> Path:
        return self.directory / f"chunk-{chunk:06d}.npz"

    def done(self) -> set[int]:
        if not self.directory.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.directory.glob("chunk-*.npz")}

    def save(self, chunk: int, arrays: Mapping[str, np.ndarray]) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.directory / "manifest.json"
        if not manifest.exists():
            with _atomic_file(manifest) as f:
                f.write(json.dumps(self.expected, indent=1).encode())
        with _atomic_file(self._file(chunk)) as f:
            np.savez(f, **arrays)

    def load(self, chunk: int) -> dict[str, np.ndarray]:
        with np.load(self._file(chunk), allow_pickle=False) as f:
            return {name: f[name] for name in f.files}

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


# --------------------------------------------------------------------------- reading


#: Results larger than this (bytes, uncompressed) are opened lazily with dask chunks.
LAZY_BYTES = 2 * 2**30


def open_results(path, *, verify: bool = True, lazy: bool | None = None):
    """Open a stored result and check that it is intact.

    Parameters
    ----------
    path : path
    verify : bool, default True
        Recompute ``content_sha256`` (block by block) and refuse a file whose data no
        longer match it.
    lazy : bool, optional
        Keep the variables on disk as dask arrays (needs dask) instead of loading them;
        by default lazily only for results over :data:`LAZY_BYTES`, so a notebook can
        analyse a result larger than memory.

    Raises
    ------
    ResultError
        The file is missing, is not netCDF (or is truncated), is not a logsim result, or
        its data no longer match its ``content_sha256``.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise ResultError(f"{path}: no such file")
    try:
        handle = xr.open_dataset(path, engine="netcdf4", chunks=None)
        size = sum(v.size * v.dtype.itemsize for v in handle.variables.values())
        if lazy is None:
            lazy = size > LAZY_BYTES
        if lazy:
            handle.close()
            ds = xr.open_dataset(path, engine="netcdf4", chunks={})
        else:
            with handle:
                ds = handle.load()
    except Exception as exc:  # netCDF4/HDF5 raise OSError, RuntimeError, KeyError...
        raise ResultError(
            f"{path}: cannot be read as netCDF4 (truncated or not a netCDF file): {exc}"
        ) from None
    if "content_sha256" not in ds.attrs or "scenario" not in ds.attrs:
        ds.close()
        raise ResultError(f"{path}: not a logsim result (no content_sha256/scenario attributes)")
    if verify:
        expected = ds.attrs["content_sha256"]
        try:
            actual = content_hash(ds)
        except Exception as exc:
            ds.close()
            raise ResultError(f"{path}: cannot be read back whole (damaged file): {exc}") from None
        if actual != expected:
            ds.close()
            raise ResultError(
                f"{path}: data do not match the stored content_sha256 (stored {expected[:16]}…, "
                f"computed {actual[:16]}…): the file was modified or damaged"
            )
    return ds


def describe(path) -> dict:
    """Dims, attributes and the variables' dims of a stored result, read without xarray."""
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        return {"dims": {k: len(v) for k, v in nc.dimensions.items()},
                "attrs": {k: nc.getncattr(k) for k in nc.ncattrs()},
                "variables": {k: v.dimensions for k, v in nc.variables.items()}}


# --------------------------------------------------------------------------- citation


def citation(ds, path=None) -> tuple[str, str]:
    """BibTeX and a plain-text citation of a stored result, of the work its scenario
    tests, and of logsim itself.

    Returns
    -------
    bibtex : str
        ``@misc`` entries: the result (scenario name and SHA-256, logsim version, creation
        date, content SHA-256), each of the scenario's ``references`` (the reference as
        written in the scenario, in ``note``), and the software as ``CITATION.cff``
        describes it (title, authors, version, release date, licence).
    text : str
        The same, one line each.
    """
    import re
    import tomllib
    import unicodedata

    name = ds.attrs.get("scenario_name", "result")
    version = ds.attrs.get("logsim_version", "?")
    created = ds.attrs.get("date_created", "")
    year = created[:4] or "n.d."
    digest = ds.attrs["content_sha256"]
    scenario_digest = ds.attrs.get("scenario_sha256", "")
    key = re.sub(r"\W", "_", f"logsim_{name}_{digest[:8]}")
    where = f", file {Path(path).name}" if path else ""
    entries = ["\n".join([
        f"@misc{{{key},",
        f"  title        = {{logsim simulation result: {_bibtex_escape(name)}}},",
        "  author       = {{logsim contributors}},",
        f"  year         = {{{year}}},",
        f"  note         = {{Scenario {_bibtex_escape(name)} (scenario SHA-256 "
        f"{scenario_digest}), logsim {version}, created {created}, content SHA-256 {digest}}},",
        f"  howpublished = {{netCDF4 dataset{where}}},",
        "}",
    ])]
    lines = [f"logsim contributors ({year}). logsim simulation result \"{name}\" "
             f"(logsim {version}, created {created}). Scenario SHA-256 {scenario_digest}; "
             f"content SHA-256 {digest}."]
    try:
        references = tomllib.loads(ds.attrs.get("scenario", "")).get("references", [])
    except tomllib.TOMLDecodeError:
        references = []
    if not references:  # the scenario text is the source; the attribute joins it with "; "
        stored = ds.attrs.get("references", "")
        references = [r for r in stored.split("; ") if r and r != "logsim"]
    keys: set[str] = set()
    for ref in references:
        ascii_ref = unicodedata.normalize("NFKD", ref).encode("ascii", "ignore").decode()
        first = re.match(r"\W*(\w+)", ascii_ref)
        when = re.search(r"\b(1[89]\d\d|20\d\d)\b", ref)
        ref_key = (first.group(1).lower() if first else "ref") + (when.group(1) if when else "")
        ref_key = re.sub(r"\W", "", ref_key) or "ref"
        base, n = ref_key, 1
        while ref_key in keys:
            n += 1
            ref_key = f"{base}_{n}"
        keys.add(ref_key)
        fields = [f"@misc{{{ref_key},"]
        if when:
            fields.append(f"  year         = {{{when.group(1)}}},")
        fields += [f"  note         = {{{_bibtex_escape(ref)}}},", "}"]
        entries.append("\n".join(fields))
        lines.append(ref)
    software = _software_citation()
    authors = " and ".join(f"{{{a}}}" if " " in a and "," not in a else a
                           for a in software["authors"])
    entries.append("\n".join([
        "@misc{logsim_software,",
        f"  title        = {{{_bibtex_escape(software['title'])}}},",
        f"  author       = {{{authors}}},",
        f"  year         = {{{software['year']}}},",
        f"  version      = {{{software['version']}}},",
        f"  note         = {{Software, version {software['version']}, licence "
        f"{software['license']}}},",
        "}",
    ]))
    lines.append(f"{', '.join(software['authors'])} ({software['year']}). "
                 f"{software['title']}. Version {software['version']}.")
    return "\n\n".join(entries), "\n".join(lines)


#: The software citation file of a source checkout (absent from an installed wheel).
CITATION_CFF = Path(__file__).resolve().parents[1] / "CITATION.cff"


def _software_citation(path: Path = CITATION_CFF) -> dict:
    """Title, authors, version, year and licence of logsim, read from ``CITATION.cff``.

    Reads the flat keys and the authors' ``name`` / ``given-names`` + ``family-names``
    the file uses (a YAML subset, so no YAML parser is needed); where the file is not
    there (an installed wheel), the package's own version and name.
    """
    from logsim.version import __version__

    info = {"title": "logsim", "authors": ["logsim contributors"],
            "version": __version__, "year": "n.d.", "license": "MIT"}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return info
    authors, person = [], {}
    section = ""
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw.startswith((" ", "-")):
            key, _, value = raw.partition(":")
            section, value = key.strip(), value.strip().strip("\"'")
            if section in ("title", "version", "license") and value:
                info[section] = value
            elif section == "date-released" and value:
                info["year"] = value[:4]
            continue
        if section == "authors":
            item = raw.strip()
            if item.startswith("- "):
                if person:
                    authors.append(person)
                person = {}
                item = item[2:]
            key, _, value = item.partition(":")
            person[key.strip()] = value.strip().strip("\"'")
    if person:
        authors.append(person)
    names = [p.get("name") or ", ".join(x for x in (p.get("family-names"),
                                                     p.get("given-names")) if x)
             for p in authors]
    if any(names):
        info["authors"] = [n for n in names if n]
    return info


def _bibtex_escape(text: str) -> str:
    """``text`` safe inside a BibTeX field: LaTeX's special characters escaped."""
    import re

    return re.sub(r"([&%$#_])", r"\\\1", str(text))
