"""The ``grassdyn`` command.

``grassdyn report [--config FILE] [--out DIR] [--quick] [--quiet]`` checks
the central claims of the Grassmannian theory of linear SSL against
simulation and writes figures, ``summary.md``, ``results.json`` and
``config.toml`` into ``DIR`` (see :mod:`grassdyn.report.run`).

The report directory is written atomically (:mod:`grassdyn.report.output`):
``DIR`` is replaced whole once the report is complete, and only if it is
empty, missing, an earlier grassdyn report, or ``--force`` is given.

Exit status: 0 when every check passed, 1 when a check failed, 3 when no
check failed but one was inconclusive (its interval too wide to decide; the
report is written in these three cases), 2 on a usage or configuration error
(a configuration too large for this machine included), reported as one line
on stderr without a traceback, and 130 / 143 when interrupted by ``SIGINT``
(Ctrl-C) / ``SIGTERM``, which leave ``DIR`` as it was.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Any

from grassdyn import __version__
from grassdyn.sweep import cli as sweep_cli

EXIT_OK, EXIT_FAILED_CHECK, EXIT_USAGE, EXIT_INCONCLUSIVE = 0, 1, 2, 3
#: The shell's convention: 128 + the signal number.
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM


class _Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler, so clean-up runs as for Ctrl-C."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grassdyn",
        description=(
            "Gradient-flow dynamics on the Grassmannian for linear self-supervised learning. "
            "Run `grassdyn report` to check the theory against simulation."
        ),
    )
    parser.add_argument("--version", action="version", version=f"grassdyn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    report = sub.add_parser(
        "report",
        help="check the theory against simulation and write a report",
        description=(
            "Check the closed-form Grassmannian dynamics, an ODE integrator, SGD simulations and the "
            "symbolic stability analysis against each other; write figures (PNG, SVG), summary.md, "
            "results.json and config.toml. Exit status 1 if a check fails, 3 if one is inconclusive, "
            "2 on a bad configuration, 130/143 when interrupted (the output directory is then unchanged)."
        ),
    )
    report.add_argument("--config", metavar="FILE",
                        help="TOML file overriding any subset of the default configuration")
    report.add_argument("--out", metavar="DIR", default="grassdyn-report",
                        help="output directory (default: grassdyn-report)")
    report.add_argument("--quick", action="store_true",
                        help="fewer points and seeds: the same checks in well under a minute")
    report.add_argument("--quiet", action="store_true", help="no progress display")
    report.add_argument("--force", action="store_true",
                        help="replace DIR whole even if it holds files not written by grassdyn report")
    sweep_cli.add_parser(sub)
    return parser


def _error(message: str) -> int:
    print(f"grassdyn report: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _report(args: argparse.Namespace) -> int:
    from grassdyn.report.config import ConfigError, load_config

    try:
        cfg = load_config(args.config, quick=args.quick)
    except ConfigError as exc:
        return _error(str(exc))

    from grassdyn.report.output import OutputError
    from grassdyn.report.progress import Progress
    from grassdyn.report.run import run_report

    progress = Progress(False if args.quiet else None)
    try:
        doc = run_report(cfg, args.out, progress=progress, force=args.force)
    except KeyboardInterrupt:
        return _interrupted(progress, args.out, "interrupted", EXIT_SIGINT)
    except _Terminated:
        return _interrupted(progress, args.out, "terminated", EXIT_SIGTERM)
    except OutputError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write to {args.out!r}: {exc.strerror or exc}")
    except MemoryError:
        return _error("out of memory: reduce the sizes in the configuration (seeds, d, batch_sizes, ...)")
    except (ValueError, FloatingPointError) as exc:
        # the configuration parsed but a computation rejected it (e.g. SGD diverging at a large lr)
        return _error(" ".join(str(exc).split()))
    verdicts = {c["title"]: _verdict(c) for c in doc["claims"].values()}
    failed = [t for t, v in verdicts.items() if v == "fail"]
    unsure = [t for t, v in verdicts.items() if v == "inconclusive"]
    status = "all checks passed"
    if unsure:
        status = f"INCONCLUSIVE: {'; '.join(unsure)}"
    if failed:
        status = f"FAILED: {'; '.join(failed)}" + (f"; inconclusive: {'; '.join(unsure)}" if unsure else "")
    if not args.quiet:
        print(f"grassdyn report: {status} ({doc['timing']['total_seconds']:.1f} s); "
              f"see {args.out}/summary.md", file=sys.stderr)
    return EXIT_FAILED_CHECK if failed else EXIT_INCONCLUSIVE if unsure else EXIT_OK


def _verdict(claim: dict[str, Any]) -> str:
    """A claim's verdict; reports written before verdicts existed only say passed or not."""
    return claim.get("verdict", "pass" if claim["passed"] else "fail")


def _interruptible(work: Callable[[], Any]) -> Any:
    """Run ``work`` with SIGTERM turned into an exception, so partial output is cleaned up."""

    def on_sigterm(signum: int, frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return work()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(progress: Any, out: str, what: str, status: int) -> int:
    # end the progress line in place (it stays as drawn: the stage did not finish)
    newline = "\n" if progress.enabled else ""
    print(f"{newline}grassdyn report: {what}; {out} left as it was", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grassdyn`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "report":
        try:
            return _interruptible(lambda: _report(args))
        except KeyboardInterrupt:
            # Ctrl-C while loading the configuration or importing: nothing was written
            print("grassdyn report: interrupted", file=sys.stderr)
            return EXIT_SIGINT
        except _Terminated:
            print("grassdyn report: terminated", file=sys.stderr)
            return EXIT_SIGTERM
    if args.command == "sweep":
        return sweep_cli.run(args)
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
