"""The command line of one claim, shared by the ``analysis/`` scripts: ``python -m analysis.<name>``.

Writes the claim's figure (PNG, SVG), a markdown table of its checks and its
JSON data into ``--out`` (default ``analysis-output/``), from the same
configuration and code as ``grassdyn report``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grassdyn.report.claims import BY_NAME
from grassdyn.report.config import ConfigError, load_config
from grassdyn.report.progress import Progress
from grassdyn.report.run import write_claim


def main(name: str, argv: list[str] | None = None) -> int:
    """Run claim ``name``; exit status as ``grassdyn report`` (0 pass, 1 fail, 3 inconclusive, 2 usage)."""
    module = BY_NAME[name]
    summary_line = module.__doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog=f"python -m analysis.{name}", description=summary_line)
    parser.add_argument("--config", metavar="FILE", help="TOML file overriding the report's defaults")
    parser.add_argument("--out", metavar="DIR", default="analysis-output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="the quick configuration")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, quick=args.quick)
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    doc = write_claim(name, cfg, args.out, progress=Progress(False if args.quiet else None))
    if not args.quiet:
        print((Path(args.out) / f"{name}.md").read_text(encoding="utf-8"))
    return {"pass": 0, "fail": 1, "inconclusive": 3}[doc.get("verdict", "pass" if doc["passed"] else "fail")]
