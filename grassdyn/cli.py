"""The ``grassdyn`` command.

``grassdyn report [--config FILE] [--out DIR] [--quick] [--quiet]`` checks
the central claims of the Grassmannian theory of linear SSL against
simulation and writes figures, ``summary.md``, ``results.json`` and
``config.toml`` into ``DIR`` (see :mod:`grassdyn.report.run`).

Exit status: 0 when every check passed, 1 when a check failed (the report is
written either way), 2 on a usage or configuration error, which is reported
as one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import sys

from grassdyn import __version__
from grassdyn.sweep import cli as sweep_cli

EXIT_OK, EXIT_FAILED_CHECK, EXIT_USAGE = 0, 1, 2


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
            "results.json and config.toml. Exit status 1 if a check fails, 2 on a bad configuration."
        ),
    )
    report.add_argument("--config", metavar="FILE",
                        help="TOML file overriding any subset of the default configuration")
    report.add_argument("--out", metavar="DIR", default="grassdyn-report",
                        help="output directory (default: grassdyn-report)")
    report.add_argument("--quick", action="store_true",
                        help="fewer points and seeds: the same checks in well under a minute")
    report.add_argument("--quiet", action="store_true", help="no progress display")
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

    from grassdyn.report.progress import Progress
    from grassdyn.report.run import run_report

    progress = Progress(False if args.quiet else None)
    try:
        doc = run_report(cfg, args.out, progress=progress)
    except OSError as exc:
        return _error(f"cannot write to {args.out!r}: {exc.strerror or exc}")
    except (ValueError, FloatingPointError) as exc:
        # the configuration parsed but a computation rejected it (e.g. SGD diverging at a large lr)
        return _error(" ".join(str(exc).split()))
    failed = [c["title"] for c in doc["claims"].values() if not c["passed"]]
    status = "all checks passed" if not failed else f"FAILED: {'; '.join(failed)}"
    if not args.quiet:
        print(f"grassdyn report: {status} ({doc['timing']['total_seconds']:.1f} s); "
              f"see {args.out}/summary.md", file=sys.stderr)
    return EXIT_OK if not failed else EXIT_FAILED_CHECK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grassdyn`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "report":
        return _report(args)
    if args.command == "sweep":
        return sweep_cli.run(args)
    parser.print_help()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
