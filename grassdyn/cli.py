"""The ``grassdyn`` command."""

from __future__ import annotations

import argparse
import sys

from grassdyn import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="grassdyn",
        description="Gradient-flow dynamics on the Grassmannian for linear SSL.",
    )
    parser.add_argument("--version", action="version", version=f"grassdyn {__version__}")
    sub = parser.add_subparsers(dest="command")
    report = sub.add_parser("report", help="check the theory against simulation, write a report")
    report.add_argument("--config", help="TOML configuration file")
    report.add_argument("--out", default="grassdyn-report", help="output directory")
    report.add_argument("--quick", action="store_true", help="small, fast configuration")
    args = parser.parse_args(argv)
    if args.command != "report":
        parser.print_help()
        return 0
    print(
        "grassdyn report is not implemented yet. It will check the closed-form Grassmannian\n"
        "dynamics, integrators, SGD simulations and symbolic stability against each other and\n"
        f"write figures, summary.md and results.json to {args.out}/.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
