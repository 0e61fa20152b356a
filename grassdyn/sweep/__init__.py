"""Parameter sweeps on Dask, stored as xarray Datasets in Zarr, resumable.

An *experiment* is a function of keyword parameters and a ``SeedSequence``
returning a few named numbers (:func:`experiment` registers one; the shipped
ones are in :mod:`grassdyn.sweep.experiments`). A *sweep* runs it over a grid
(the cartesian product of named value lists) times ``seeds`` seeds, each
cell a Dask task, and stores the results in Zarr as they arrive:

>>> import grassdyn as gd
>>> ds = gd.sweep.run("identifiability", {"rho": [0.2, 0.8], "n": [0, 400]}, seeds=4,
...                   fixed={"steps": 200, "lr": 0.05}, store="ident.zarr")  # doctest: +SKIP
>>> ds.distance.median("seed")  # doctest: +SKIP

Running it again on the same store computes only the missing cells; each
cell's randomness depends on the root seed and its coordinates alone, so the
result is the same bit for bit however it was scheduled, interrupted or
resumed. Dask, xarray and Zarr come with the extra ``pip install
"grassdyn[sweep]"``; this package imports them only when a sweep runs or a
store is read. Command line: ``grassdyn sweep SPEC.toml --out STORE.zarr``
(:mod:`grassdyn.sweep.cli`).
"""

from __future__ import annotations

from grassdyn.sweep.engine import connect, run, run_spec
from grassdyn.sweep.registry import REGISTRY, Experiment, experiment, get
from grassdyn.sweep.spec import MAX_CELLS, Spec, SpecError, cell_seed, load_spec, loads_spec, make_spec
from grassdyn.sweep.store import StoreError, open_sweep

__all__ = [
    "MAX_CELLS",
    "REGISTRY",
    "Experiment",
    "Spec",
    "SpecError",
    "StoreError",
    "cell_seed",
    "connect",
    "experiment",
    "get",
    "load_spec",
    "loads_spec",
    "make_spec",
    "open_sweep",
    "run",
    "run_spec",
]
