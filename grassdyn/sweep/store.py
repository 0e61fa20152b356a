"""A sweep's Zarr store: written cell by cell, read back as an xarray Dataset, resumed.

Layout (Zarr v3, readable by ``xarray.open_zarr``): one coordinate array per
grid axis and ``seed``; per output ``var`` an array of dimensions
``(*axes, seed, var_dim_0, ...)`` in float64 (NaN until computed); ``status``
(int8: 0 missing, 1 done, 2 failed) and ``error`` (the failed cell's
exception, ``""`` otherwise). The group's attributes hold the spec, every
resolved parameter and the grassdyn version; ``grassdyn_sweep`` marks the
store as a sweep's.

**Crash safety.** The client keeps a copy of the arrays in memory and writes
whole chunks; Zarr's local store writes each chunk to a temporary file and
renames it into place, so a chunk on disk is always either the old or the
new one. ``status`` is written after the outputs it vouches for: a cell is
complete once its status chunk is, and a crash between the two only leaves a
cell that is computed again (to the same bits). Chunks hold whole seed rows
and at most ``CHUNK_CELLS`` cells, so a flush writes few files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from grassdyn.sweep._deps import require
from grassdyn.sweep.spec import Spec, SpecError

__all__ = ["FORMAT", "StoreError", "SweepStore", "open_sweep"]

#: Value of the ``grassdyn_sweep`` attribute that marks a store.
FORMAT = "grassdyn.sweep/1"
MISSING, DONE, FAILED = 0, 1, 2
#: Cells per chunk at most (grid points x seeds): a flush rewrites whole chunks, so they stay small.
CHUNK_CELLS = 1 << 11
_RESERVED = ("seed", "status", "error")


class StoreError(ValueError):
    """A store path that cannot hold this sweep; nothing was written."""


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Whole trailing axes while they fit in ``CHUNK_CELLS``, then a slice of the next one."""
    chunks = [1] * len(shape)
    size = 1
    for i in range(len(shape) - 1, -1, -1):
        if size * shape[i] <= CHUNK_CELLS or i == len(shape) - 1:
            chunks[i] = shape[i]
            size *= shape[i]
        else:
            chunks[i] = max(1, CHUNK_CELLS // size)
            break
    return tuple(chunks)


def _coord(values: tuple[Any, ...]) -> tuple[np.ndarray, Any]:
    if isinstance(values[0], str):
        return np.array(values, dtype=object), str
    arr = np.asarray(values)
    return arr, arr.dtype


def _looks_taken(path: Path) -> bool:
    return path.exists() and not (path.is_dir() and not any(path.iterdir()))


class SweepStore:
    """The open store of one sweep (create with ``SweepStore.open``)."""

    def __init__(self, group: Any, spec: Spec, where: Any) -> None:
        self.group, self.spec, self.where = group, spec, where
        self.dims = (*spec.axes, "seed")
        self.chunks = _chunks(spec.shape)
        self.status = np.asarray(group["status"][...], dtype=np.int8)
        self.error = np.asarray(group["error"][...], dtype=object)
        self.outputs: dict[str, np.ndarray] = {}
        for name in group.array_keys():
            if name not in self.dims and name not in _RESERVED:
                self.outputs[name] = np.asarray(group[name][...], dtype=np.float64)
        self._dirty: set[tuple[int, ...]] = set()
        self._arrays: dict[str, Any] = {}

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None, spec: Spec, *, attrs: Mapping[str, Any]) -> SweepStore:
        """Open the store of ``spec`` at ``path`` (None: in memory), creating it if absent.

        Raises
        ------
        StoreError
            If ``path`` exists and is not a sweep store.
        SpecError
            If it is the store of another spec (the difference is named).
        """
        zarr = require("zarr")
        if path is None:
            where: Any = zarr.storage.MemoryStore()
        else:
            where = Path(path)
            if _looks_taken(where):
                stored = read_spec(where)
                diff = stored.differences(spec)
                if diff:
                    raise SpecError(f"store {str(where)!r} was made from another spec ({'; '.join(diff)}: "
                                    "store vs this sweep); resume it with its own spec or choose another "
                                    "store")
                return cls(zarr.open_group(str(where), mode="r+"), stored, where)
        group = zarr.open_group(where if path is None else str(where), mode="w-")
        shape, chunks = spec.shape, _chunks(spec.shape)
        dims = [*spec.axes, "seed"]
        for axis, values in (*spec.grid.items(), ("seed", tuple(range(spec.seeds)))):
            data, dtype = _coord(values)
            group.create_array(axis, shape=(len(values),), dtype=dtype, dimension_names=[axis])[...] = data
        status = group.create_array("status", shape=shape, chunks=chunks, dtype="int8", fill_value=MISSING,
                                    dimension_names=dims)
        status.attrs.update({"flag_values": [MISSING, DONE, FAILED], "flag_meanings": "missing done failed"})
        group.create_array("error", shape=shape, chunks=chunks, dtype=str, fill_value="",
                           dimension_names=dims)
        # the marker last: a store interrupted while being created is not taken for a sweep
        group.attrs.update({**attrs, "spec": spec.to_dict(), "grassdyn_sweep": FORMAT})
        return cls(group, spec, where)

    # -- recording ------------------------------------------------------------------------------
    def missing(self, retry_failed: bool = False) -> np.ndarray:
        """Row-major indices of the cells still to compute."""
        todo = self.status == MISSING
        if retry_failed:
            todo |= self.status == FAILED
        return np.flatnonzero(todo)

    def _check_shapes(self, values: Mapping[str, np.ndarray]) -> None:
        clash = sorted(set(values) & {*self.dims, *_RESERVED})
        if clash:
            raise ValueError(f"output name {clash[0]!r} is taken (a grid axis, seed, status or error)")
        if not self.outputs:
            return
        if set(values) != set(self.outputs):
            raise ValueError(f"returned outputs {sorted(values)}, "
                             f"other cells returned {sorted(self.outputs)}")
        for name, value in values.items():
            expected = self.outputs[name].shape[len(self.dims):]
            if value.shape != expected:
                raise ValueError(f"output {name!r} has shape {value.shape}, other cells gave {expected}")

    def record(self, flat: int, values: Mapping[str, np.ndarray] | None, error: str = "") -> bool:
        """Keep one cell's outputs (or its error) in memory; True if it was recorded as done."""
        index = np.unravel_index(flat, self.spec.shape)
        if values is not None:
            try:
                self._check_shapes(values)
            except ValueError as exc:
                values, error = None, f"ValueError: {exc}"
        if values is not None:
            for name, value in values.items():
                if name not in self.outputs:
                    self._create_output(name, value.shape)
                self.outputs[name][index] = value
            self.status[index], self.error[index] = DONE, ""
        else:
            self.status[index], self.error[index] = FAILED, error or "failed"
        self._dirty.add(tuple(int(i) // c for i, c in zip(index, self.chunks, strict=True)))
        return values is not None

    def _create_output(self, name: str, shape: tuple[int, ...]) -> None:
        dims = [*self.dims, *(f"{name}_dim_{i}" for i in range(len(shape)))]
        self.group.create_array(name, shape=(*self.spec.shape, *shape), chunks=(*self.chunks, *shape),
                                dtype="float64", fill_value=np.nan, dimension_names=dims)
        self.outputs[name] = np.full((*self.spec.shape, *shape), np.nan)

    def flush(self) -> None:
        """Write every chunk touched since the last flush: outputs and errors first, status last."""
        if not self._dirty:
            return
        bounds = list(zip(self.chunks, self.spec.shape, strict=True))
        blocks = [tuple(slice(b * c, min((b + 1) * c, n)) for b, (c, n) in zip(block, bounds, strict=True))
                  for block in sorted(self._dirty)]
        for name, values in self.outputs.items():
            for sl in blocks:
                self._array(name)[sl] = values[sl]
        for sl in blocks:
            self._array("error")[sl] = self.error[sl]
        for sl in blocks:
            self._array("status")[sl] = self.status[sl]
        self._dirty.clear()

    def _array(self, name: str) -> Any:
        # looking an array up in the group reads its metadata again: keep the handles
        if name not in self._arrays:
            self._arrays[name] = self.group[name]
        return self._arrays[name]

    # -- reading --------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {"done": int(np.sum(self.status == DONE)), "failed": int(np.sum(self.status == FAILED)),
                "missing": int(np.sum(self.status == MISSING)), "total": self.spec.total}

    def to_dataset(self) -> Any:
        """The stored sweep as an in-memory ``xarray.Dataset`` (variables in alphabetical order)."""
        return _load(self.where if not isinstance(self.where, Path) else str(self.where))


def _load(where: Any) -> Any:
    """The Zarr store ``where`` as a loaded Dataset, its variables in alphabetical order.

    The order in which a Zarr group lists its arrays depends on the file
    system (and on memory stores' insertion order): a sweep read on two
    machines should print the same.
    """
    xr = require("xarray")
    ds = xr.open_zarr(where, consolidated=False, zarr_format=3).load()
    return ds[sorted(ds.data_vars)]


def read_spec(path: str | os.PathLike[str]) -> Spec:
    """The spec a sweep store was made from; :class:`StoreError` if ``path`` is not a sweep store."""
    zarr = require("zarr")
    path = Path(path)
    not_ours = StoreError(f"{str(path)!r} exists and is not a grassdyn sweep store; nothing was written "
                          "(choose another path)")
    if not (path / "zarr.json").is_file():
        raise not_ours
    try:
        group = zarr.open_group(str(path), mode="r")
        attrs = dict(group.attrs)
    except Exception:  # any unreadable or foreign layout is simply not ours
        raise not_ours from None
    if attrs.get("grassdyn_sweep") != FORMAT or not isinstance(attrs.get("spec"), dict):
        raise not_ours
    raw = attrs["spec"]
    # not re-validated against the experiment: reading a store must not need its code
    return Spec(experiment=raw["experiment"], grid={k: tuple(v) for k, v in raw["grid"].items()},
                fixed=dict(raw["fixed"]), seeds=int(raw["seeds"]), seed=int(raw["seed"]))


def open_sweep(path: str | os.PathLike[str]) -> Any:
    """Load a sweep store as an ``xarray.Dataset`` (:class:`StoreError` if it is not one)."""
    read_spec(path)
    return _load(str(path))
