"""Run the report: compute every claim, draw the figures, write ``results.json``, ``summary.md``.

Files written into the output directory:

- ``<figure>.png`` and ``<figure>.svg`` for the five figures of
  :data:`grassdyn.report.figures.FIGURES`, drawn from the very numbers
  stored in ``results.json`` (the data are round-tripped through JSON first);
- ``results.json`` (schema: :mod:`grassdyn.report.schema`);
- ``summary.md``: each claim with its measured intervals and a verdict
  (pass, inconclusive or fail) against its prediction, and the symbolic
  stability table;
- ``config.toml``: the resolved configuration; ``grassdyn report --config
  config.toml`` reproduces the numbers (every random draw derives from its seed);
- ``.grassdyn-report.json``: the marker naming the files of the report.

The directory is written atomically (:mod:`grassdyn.report.output`): the files
go into a hidden directory beside ``out``, which replaces ``out`` whole only
once the report is complete; an interrupted run leaves ``out`` as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib

from grassdyn import __version__
from grassdyn.report.checks import combine
from grassdyn.report.claims import BY_NAME, CLAIMS, ClaimResult
from grassdyn.report.config import dumps_config
from grassdyn.report.figures import FIGURES
from grassdyn.report.output import atomic_write_text, report_directory
from grassdyn.report.progress import Progress
from grassdyn.report.schema import SCHEMA_VERSION
from grassdyn.report.summary import summary

__all__ = ["FIGURE_FORMATS", "compute_claims", "run_report", "save_figure", "write_claim"]

#: Raster for reading, vector for papers.
FIGURE_FORMATS = ("png", "svg")
#: PNG resolution: sharp on screen at a few tens of KB per figure.
PNG_DPI = 110


def compute_claims(
    cfg: dict[str, Any], names: list[str] | None = None, progress: Progress | None = None
) -> tuple[dict[str, ClaimResult], dict[str, float]]:
    """Compute the named claims (all by default), with their wall-clock times in seconds."""
    progress = progress if progress is not None else Progress(False)
    modules = CLAIMS if names is None else [BY_NAME[n] for n in names]
    results, timing = {}, {}
    for module in modules:
        start = time.perf_counter()
        results[module.NAME] = module.compute(cfg, progress)
        timing[module.NAME] = time.perf_counter() - start
    return results, timing


def save_figure(fig: Any, out: Path, stem: str) -> list[str]:
    """Write ``stem.png`` and ``stem.svg`` into ``out``, each atomically; return the file names."""
    files = []
    for fmt in FIGURE_FORMATS:
        name = f"{stem}.{fmt}"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
        try:
            # no date and a fixed id salt: the SVG is byte-identical across runs of one configuration
            with os.fdopen(fd, "wb") as f, matplotlib.rc_context({"svg.hashsalt": "grassdyn"}):
                fig.savefig(f, format=fmt, dpi=PNG_DPI, metadata={"Date": None} if fmt == "svg" else None)
            os.replace(tmp, out / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        files.append(name)
        # the first save placed the axes; freezing that layout spares the next format a second pass
        fig.set_layout_engine("none")
    return files


def _round_trip(x: Any) -> Any:
    return json.loads(json.dumps(x))


def run_report(
    cfg: dict[str, Any], out: str | Path, *, progress: Progress | None = None, force: bool = False
) -> dict[str, Any]:
    """Run every claim of the report on the resolved configuration ``cfg``, write into ``out``.

    ``out`` is replaced whole, atomically, once the report is complete; it
    must be missing, empty or an earlier grassdyn report unless ``force``
    (:func:`grassdyn.report.output.check_replaceable`), which is checked
    before any computation.

    Returns
    -------
    dict
        The content of ``results.json``.
    """
    with report_directory(out, force=force, version=__version__) as tmp:
        return _run_into(cfg, tmp, progress)


def _run_into(cfg: dict[str, Any], out: Path, progress: Progress | None) -> dict[str, Any]:
    start = time.perf_counter()
    progress = progress if progress is not None else Progress(False)
    results, timing = compute_claims(cfg, progress=progress)
    claims = _round_trip({name: r.to_json() for name, r in results.items()})
    data = {name: c["data"] for name, c in claims.items()}
    figures = {}
    progress.stage("Drawing the figures", len(FIGURES))
    for spec in FIGURES:
        fig = spec.build(data)
        figures[spec.name] = {"title": spec.title, "claims": list(spec.claims),
                              "files": save_figure(fig, out, spec.name)}
        progress.step()
    progress.finish()
    doc = {
        "schema_version": SCHEMA_VERSION,
        "grassdyn_version": __version__,
        "config": cfg,
        "verdict": combine(c["verdict"] for c in claims.values()),
        "passed": all(c["passed"] for c in claims.values()),
        "claims": claims,
        "figures": figures,
        "timing": {"total_seconds": 0.0, "claims": timing},
    }
    (out / "config.toml").write_text(dumps_config(cfg), encoding="utf-8")
    doc["timing"]["total_seconds"] = time.perf_counter() - start
    (out / "results.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(summary(doc), encoding="utf-8")
    return doc


def write_claim(
    name: str, cfg: dict[str, Any], out: str | Path, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Compute one claim and write its figure (PNG, SVG), a markdown table and its JSON data into ``out``.

    This is what the ``analysis/`` scripts run. Returns the content of ``<name>.json``.
    """
    from grassdyn.report.summary import claim_section

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results, timing = compute_claims(cfg, [name], progress)
    claim = _round_trip(results[name].to_json())
    module = BY_NAME[name]
    figure = getattr(module, "figure", None)
    files = save_figure(figure(claim["data"]), out, name) if figure is not None else []
    doc = {"grassdyn_version": __version__, "config": cfg, "claim": name, **claim,
           "seconds": timing[name], "files": files}
    atomic_write_text(out / f"{name}.json", json.dumps(doc, indent=1) + "\n")
    atomic_write_text(out / f"{name}.md", claim_section(name, claim, files[0] if files else None))
    return doc
