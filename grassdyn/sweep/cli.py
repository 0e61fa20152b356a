"""``grassdyn sweep``: run a sweep from a TOML spec, or plot a stored one.

``grassdyn sweep SPEC.toml --out STORE.zarr [--scheduler ADDRESS] [--workers N] [--resume] [--force]``
runs the spec (:mod:`grassdyn.sweep.spec`) on a ``LocalCluster`` of ``N``
processes, or on the Dask scheduler at ``ADDRESS``, writing the Zarr store
as cells finish; ``--resume`` completes an existing store of the same spec.
``grassdyn sweep plot STORE.zarr [--out DIR]`` draws the experiment's figures.

Exit status: 0 when every cell is done, 1 when some cells failed (they are
stored with their errors), 2 on a usage, spec or store error (one line on
stderr, no traceback), 130 when interrupted (the cells received are stored;
``--resume`` completes the sweep).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

EXIT_OK, EXIT_FAILED_CELLS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to the ``grassdyn`` parser's subparsers."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep on Dask (or plot one: `grassdyn sweep plot STORE.zarr`)",
        description=(
            "Run an experiment over a grid of parameters and seeds on Dask, storing every cell in a Zarr "
            "store as it finishes (`grassdyn sweep SPEC.toml --out STORE.zarr`), or draw the figures of a "
            "stored sweep (`grassdyn sweep plot STORE.zarr --out DIR`). Exit status 1 if cells failed, "
            "2 on a bad spec or store, 130 if interrupted."
        ),
    )
    parser.add_argument("spec", metavar="SPEC.toml|plot", help="the sweep's TOML spec, or `plot`")
    parser.add_argument("store", nargs="?", metavar="STORE.zarr", help="with `plot`: the store to draw")
    parser.add_argument("--out", metavar="PATH",
                        help="the Zarr store to write (a run), or the figure directory (plot; default: "
                             "STORE-plots beside the store)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", metavar="N", type=int,
                        help="worker processes of the local cluster (default: one per CPU)")
    parser.add_argument("--resume", action="store_true", help="complete an existing store of the same spec")
    parser.add_argument("--force", action="store_true",
                        help="run a sweep with more cells than the safety limit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return parser


def _error(message: str) -> int:
    print(f"grassdyn sweep: error: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_USAGE


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(f"grassdyn sweep: {message}", file=sys.stderr)


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _run(args: argparse.Namespace) -> int:
    from grassdyn.sweep._deps import require
    from grassdyn.sweep.spec import SpecError, load_spec
    from grassdyn.sweep.store import StoreError, read_spec

    if args.out is None:
        return _error("--out STORE.zarr is required (the Zarr store the sweep writes)")
    if args.store is not None:
        return _error(f"unexpected argument {args.store!r} (did you mean `grassdyn sweep plot STORE`?)")
    if args.workers is not None and args.scheduler is not None:
        return _error("--workers sizes the local cluster; it cannot be combined with --scheduler")
    if args.workers is not None and args.workers < 1:
        return _error(f"--workers must be >= 1, got {args.workers}")
    try:
        for name in ("distributed", "xarray", "zarr"):
            require(name)
        spec = load_spec(args.spec, force=args.force)
        out = Path(args.out)
        if out.exists() and not (out.is_dir() and not any(out.iterdir())):
            read_spec(out)  # a path that is not a sweep store is refused here, untouched
            if not args.resume:
                return _error(f"{args.out!r} already holds a sweep: pass --resume to complete it, "
                              "or choose another --out")
    except (ImportError, SpecError, StoreError) as exc:
        return _error(str(exc))

    from grassdyn.sweep.engine import dashboard, run_spec

    def on_client(client: Any) -> None:
        link = dashboard(client)
        if link:
            _say(args, f"dashboard: {link}")

    previous = signal.signal(signal.SIGTERM, _terminate)
    start = time.perf_counter()
    try:
        _say(args, f"{spec.experiment}: {spec.total} cells ({spec.total // spec.seeds} grid points x "
                   f"{spec.seeds} seeds) -> {args.out}")
        ds = run_spec(spec, store=args.out, client=args.scheduler, workers=args.workers,
                      progress=False if args.quiet else None, on_client=on_client)
    except KeyboardInterrupt:
        done = _stored(args.out)
        print(f"grassdyn sweep: interrupted; {done} of {spec.total} cells are stored in {args.out} "
              "(run again with --resume to complete it)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (SpecError, StoreError) as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
    status = ds["status"].values
    failed = int((status == 2).sum())
    _say(args, f"{int((status == 1).sum())} of {spec.total} cells done, {failed} failed "
               f"({time.perf_counter() - start:.1f} s); see {args.out}")
    if failed:
        first = str(ds["error"].values[status == 2].ravel()[0])
        _say(args, f"first error: {first}")
    return EXIT_FAILED_CELLS if failed else EXIT_OK


def _stored(store: str) -> int:
    """Cells recorded in a store (done or failed), for the interruption message."""
    try:
        import zarr

        return int((zarr.open_group(store, mode="r")["status"][...] != 0).sum())
    except Exception:  # the message is informational; a store that cannot be read says 0
        return 0


def _plot(args: argparse.Namespace) -> int:
    from grassdyn.sweep._deps import require
    from grassdyn.sweep.store import StoreError

    if args.store is None:
        return _error("plot needs the store: `grassdyn sweep plot STORE.zarr [--out DIR]`")
    out = Path(args.out) if args.out else Path(args.store).with_name(Path(args.store).stem + "-plots")
    try:
        for name in ("xarray", "zarr"):
            require(name)
        from grassdyn.sweep.plots import plot_store

        written = plot_store(args.store, out)
    except (ImportError, StoreError, ValueError) as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write to {str(out)!r}: {exc.strerror or exc}")
    _say(args, f"{len(written)} figure(s) in {out}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run the ``sweep`` command parsed by :func:`add_parser`; return the exit status."""
    if args.spec == "plot":
        return _plot(args)
    return _run(args)
