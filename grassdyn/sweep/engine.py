"""Run a sweep on Dask: every missing cell a task, results stored as they arrive.

:func:`run` validates the spec, opens (or creates) the store, submits the
cells still missing to a ``dask.distributed`` client, and writes each batch
of results as it arrives (``as_completed``). The client is the only writer;
workers only compute. A cell that raises is recorded as failed with its
error and the sweep goes on; a worker that dies is retried by Dask (its
``distributed.scheduler.allowed-failures``); an interrupted client
(Ctrl-C, SIGTERM) writes what it has received before it stops, so only cells
in flight are lost, and a later :func:`run` on the same store computes them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from grassdyn import __version__
from grassdyn.sweep._deps import require
from grassdyn.sweep.registry import Experiment, as_outputs, get
from grassdyn.sweep.spec import Spec, cell_seed, make_spec, resolved
from grassdyn.sweep.store import SweepStore

__all__ = ["connect", "run", "run_spec"]

#: Seconds to wait for a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0
#: Seconds between writes while results keep arriving (longer if writing is slow; see _compute).
FLUSH_INTERVAL = 0.5


#: Tasks per worker thread the automatic grouping aims for: enough that the last ones finish together.
TASKS_PER_THREAD = 32
#: Cells per task at most, however large the sweep.
MAX_CELLS_PER_TASK = 64


def compute_cell(func: Callable[..., Any], params: dict[str, Any], root: int, coords: dict[str, Any],
                 seed_index: int, name: str, outputs: tuple[str, ...] = ()) -> tuple[bool, Any]:
    """One cell: ``(True, outputs)`` or ``(False, "ErrorType: message (at file:line)")``."""
    try:
        result = func(**params, rng=cell_seed(root, coords, seed_index))
        return True, as_outputs(result, name, outputs)
    except Exception as exc:  # a failing cell is data, recorded with its error; the sweep goes on
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {last[0].filename.rsplit(os.sep, 1)[-1]}:{last[0].lineno})" if last else ""
        return False, f"{type(exc).__name__}: {' '.join(str(exc).split())}{where}"


def compute_cells(func: Callable[..., Any], cells: list[tuple[int, dict[str, Any], dict[str, Any], int]],
                  root: int, name: str, outputs: tuple[str, ...]) -> list[tuple[int, bool, Any]]:
    """One task, on a worker: the cells ``(flat index, parameters, coordinates, seed index)`` in turn."""
    return [(flat, *compute_cell(func, params, root, coords, s, name, outputs))
            for flat, params, coords, s in cells]


def cells_per_task(cells: int, threads: int) -> int:
    """Cells grouped into one Dask task: about :data:`TASKS_PER_THREAD` tasks per worker thread.

    Grouping divides Dask's cost per task (milliseconds) among the cells of a
    task without changing any result (each cell has its own seed); the cells
    of a task in flight are what an interruption can lose.

    >>> cells_per_task(48, 2), cells_per_task(1000, 2), cells_per_task(10**6, 8)
    (1, 16, 64)
    """
    return max(1, min(MAX_CELLS_PER_TASK, -(-cells // (TASKS_PER_THREAD * max(1, threads)))))


@contextlib.contextmanager
def connect(client: Any = None, *, workers: int | None = None, processes: bool = True) -> Iterator[Any]:
    """A ``distributed.Client``: the one given, one connected to a scheduler address, or a new LocalCluster.

    Parameters
    ----------
    client : Client, str or None
        An existing client (left open), a scheduler address such as
        ``"tcp://10.0.0.5:8786"`` (connected within ``CONNECT_TIMEOUT``
        seconds or ``OSError``), or None: a ``LocalCluster`` of ``workers``
        single-threaded worker processes (default: one per CPU), closed on exit.
    """
    distributed = require("distributed")
    if isinstance(client, distributed.Client):
        yield client
        return
    if isinstance(client, str):
        try:
            own = distributed.Client(client, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise OSError(f"cannot reach the Dask scheduler at {client!r} within {CONNECT_TIMEOUT:g} s "
                          f"({' '.join(str(exc).split())})") from None
        with own:
            yield own
        return
    if client is not None:
        raise TypeError(f"client must be a distributed.Client, a scheduler address or None, "
                        f"got {type(client).__name__}")
    n = workers if workers is not None else (os.cpu_count() or 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL)
    with cluster, distributed.Client(cluster, set_as_default=False) as own:
        yield own


def dashboard(client: Any) -> str | None:
    """The dashboard link of a client's scheduler, or None when it serves none (bokeh absent)."""
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # an informational link is never worth failing a sweep
        return None
    return client.dashboard_link if "dashboard" in services else None


def _progress_bar(total: int, initial: int, show: bool | None) -> Any:
    from tqdm import tqdm

    disable = not sys.stderr.isatty() if show is None else not show
    return tqdm(total=total, initial=initial, unit="cell", desc="sweep", disable=disable, smoothing=0.05,
                dynamic_ncols=True)


def run_spec(
    spec: Spec,
    *,
    store: str | os.PathLike[str] | None = None,
    client: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    retry_failed: bool = False,
    experiment: Experiment | None = None,
    on_client: Callable[[Any], None] | None = None,
) -> Any:
    """Run a validated :class:`~grassdyn.sweep.spec.Spec` (see :func:`run`).

    ``experiment`` is the spec's experiment when it is not found by name (a
    callable swept directly); ``on_client(client)`` is called once connected.
    """
    require("distributed")
    require("xarray")
    exp = experiment if experiment is not None else get(spec.experiment)
    fixed = {k: v for k, v in resolved(exp, spec.fixed, {}).items() if k not in spec.grid}
    attrs = {"experiment": spec.experiment, "grassdyn_version": __version__, "parameters": fixed,
             "seeds": spec.seeds, "root_seed": spec.seed}
    st = SweepStore.open(store, spec, attrs=attrs)
    todo = st.missing(retry_failed)
    if todo.size:
        bar = _progress_bar(spec.total, spec.total - todo.size, progress)
        try:
            with connect(client, workers=workers) as cl:
                if on_client is not None:
                    on_client(cl)
                _compute(cl, exp, spec, st, todo, bar)
        finally:
            st.flush()
            bar.close()
    return st.to_dataset()


def _compute(client: Any, exp: Experiment, spec: Spec, st: SweepStore, todo: np.ndarray, bar: Any) -> None:
    distributed = require("distributed")
    threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    per_task = cells_per_task(todo.size, threads)
    cells = []
    for flat in todo.tolist():
        coords, seed_index = spec.cell(flat)
        cells.append((flat, resolved(exp, spec.fixed, coords), coords, seed_index))
    groups = [cells[i:i + per_task] for i in range(0, len(cells), per_task)]
    run_id = uuid.uuid4().hex[:12]
    # the function goes with every task rather than scattered once: scattered data dies with its
    # worker, and the cells would fail instead of being retried on another
    futures = [client.submit(compute_cells, exp.func, group, spec.seed, exp.name, exp.outputs, pure=False,
                             key=f"grassdyn-cells-{run_id}-{group[0][0]}") for group in groups]
    first = {f.key: [c[0] for c in g] for f, g in zip(futures, groups, strict=True)}
    pending = set(futures)
    last, interval = time.monotonic(), FLUSH_INTERVAL
    try:
        results = distributed.as_completed(futures, with_results=True, raise_errors=False, loop=client.loop)
        for batch in results.batches():
            done = 0
            for future, result in batch:
                pending.discard(future)
                if isinstance(result, BaseException):  # the worker died past Dask's retries
                    for flat in first[future.key]:
                        st.record(flat, None, f"{type(result).__name__}: {result}")
                    done += len(first[future.key])
                else:
                    for flat, ok, value in result:
                        st.record(flat, value if ok else None, "" if ok else value)
                    done += len(result)
                future.release()
            bar.update(done)
            if time.monotonic() - last >= interval:
                began = time.monotonic()
                st.flush()
                last = time.monotonic()
                # writing never takes more than about a tenth of the client's time
                interval = max(FLUSH_INTERVAL, 10 * (last - began))
    finally:
        if pending:
            client.cancel(list(pending))


def run(
    experiment: str | Callable[..., Any] | Experiment,
    grid: Mapping[str, Any],
    *,
    fixed: Mapping[str, Any] | None = None,
    seeds: int = 1,
    seed: int = 0,
    store: str | os.PathLike[str] | None = None,
    client: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    retry_failed: bool = False,
    force: bool = False,
) -> Any:
    """Run ``experiment`` over the cartesian product of ``grid`` and ``seeds`` seeds, on Dask.

    Parameters
    ----------
    experiment : str, callable or Experiment
        A registered name (:data:`grassdyn.sweep.REGISTRY`), an import path
        ``"module:function"`` or any callable ``f(**params, rng) -> dict``.
    grid : mapping of str to list
        Axis name -> distinct values; the cells are every combination, times ``seeds``.
    fixed : mapping, optional
        Parameters held fixed (the experiment's defaults fill in the rest).
    seeds : int >= 1
        Seeds per grid point (the ``seed`` dimension).
    seed : int >= 0
        Root seed: each cell's ``SeedSequence`` comes from it and the cell's
        coordinates alone (:func:`grassdyn.sweep.spec.cell_seed`).
    store : path, optional
        Zarr store written as cells finish. An existing store of the same
        spec is completed (only its missing cells are computed); one of
        another spec, or a path that is not a sweep store, is refused
        untouched. None: in memory only.
    client : distributed.Client, str or None
        Where cells run: a client, a scheduler address, or None for a
        ``LocalCluster`` of ``workers`` processes (default: one per CPU).
    workers : int, optional
        Size of that LocalCluster.
    progress : bool or None
        A tqdm bar of cells done / total with the ETA; None: only on a terminal.
    retry_failed : bool
        Also recompute cells stored as failed.
    force : bool
        Allow more than :data:`grassdyn.sweep.spec.MAX_CELLS` cells.

    Returns
    -------
    xarray.Dataset
        One dimension per grid axis plus ``seed`` (coordinates: the values),
        a variable per output (NaN where missing or failed), ``status`` (0
        missing, 1 done, 2 failed) and ``error``; attributes: the spec, every
        parameter, the grassdyn version.

    Raises
    ------
    SpecError
        On a bad spec, or a store made from another spec (naming the difference).
    StoreError
        If ``store`` exists and is not a sweep store.
    OSError
        If the scheduler cannot be reached.
    ImportError
        Without the ``sweep`` extra (``pip install "grassdyn[sweep]"``).

    Examples
    --------
    >>> import grassdyn as gd
    >>> ds = gd.sweep.run("identifiability", {"rho": [0.2, 0.8]}, seeds=2,
    ...                   fixed={"steps": 50, "lr": 0.05}, client=client)  # doctest: +SKIP
    >>> ds.distance.median("seed")  # doctest: +SKIP
    """
    exp = get(experiment) if not isinstance(experiment, str) else None
    spec = make_spec(experiment, grid, fixed=fixed, seeds=seeds, seed=seed, force=force)
    return run_spec(spec, store=store, client=client, workers=workers, progress=progress,
                    retry_failed=retry_failed, experiment=exp)
