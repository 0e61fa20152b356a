"""``grassdyn report --quick``: every promised file, valid images, schema-valid results, honest summary.

The quick report runs once per module (in-process, through ``grassdyn.cli.main``);
every test here reads its output.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from grassdyn.cli import main
from grassdyn.report.claims import CLAIMS, Check
from grassdyn.report.claims._base import to_jsonable
from grassdyn.report.config import load_config
from grassdyn.report.figures import FIGURES
from grassdyn.report.run import FIGURE_FORMATS, compute_claims, save_figure
from grassdyn.report.schema import RESULTS_SCHEMA
from grassdyn.report.summary import summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run the quick report once per test session, even when pytest-xdist spreads this module.

    Under xdist every worker has its own base temporary directory inside the
    session's; the first worker to take the lock runs the report there, the
    others wait for it and read its output.
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, status_file = root / "quick-report", root / "quick-report.status"
    with open(root / "quick-report.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not status_file.exists():
            status = main(["report", "--quick", "--quiet", "--out", str(out)])
            status_file.write_text(str(status), encoding="utf-8")
    status = int(status_file.read_text(encoding="utf-8"))
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return status, out, results


# -- a small JSON Schema validator, independent of the package ----------------------------
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "null": lambda v: v is None,
}


def schema_errors(value, schema, path="$"):
    """Errors of ``value`` against the subset of JSON Schema that RESULTS_SCHEMA uses."""
    kind = schema.get("type")
    if isinstance(kind, list):
        if not any(_TYPES[k](value) for k in kind):
            return [f"{path}: expected one of {kind}, got {type(value).__name__}"]
        kind = None
    if kind is not None and not _TYPES[kind](value):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: {value} < {schema['minimum']}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{path}[{i}]")
    if kind == "object":
        props = schema.get("properties", {})
        errors += [f"{path}: missing {key!r}" for key in schema.get("required", []) if key not in value]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif extra is False:
                errors.append(f"{path}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, f"{path}.{key}")
    return errors


def numeric_leaves(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from numeric_leaves(v)
    elif isinstance(x, list):
        for v in x:
            yield from numeric_leaves(v)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield float(x)


# A number is a token not glued to a word, a decimal point or a sign-less operator: "h = 3",
# "1.5e-09", "-0.5", but not the 2 of "sigma_2" or the 0 of "0.1.0".
NUMBER = re.compile(r"(?<![\w.+\-])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def prose(markdown: str) -> str:
    """The summary without fenced blocks and inline code (formulas, file names, the LaTeX source)."""
    return re.sub(r"`[^`]*`", " ", re.sub(r"```.*?```", " ", markdown, flags=re.S))


def printed_precision(token: str) -> float:
    """Half a unit in the last printed digit: the rounding a faithful printout may carry."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


# -- the files --------------------------------------------------------------------------
def test_quick_report_passes_and_writes_every_promised_file(report):
    status, out, results = report
    assert status == 0, [c["title"] for c in results["claims"].values() if not c["passed"]]
    promised = {"summary.md", "results.json", "config.toml"}
    promised |= {f"{spec.name}.{fmt}" for spec in FIGURES for fmt in FIGURE_FORMATS}
    assert promised <= {p.name for p in out.iterdir()}
    assert {f for spec in results["figures"].values() for f in spec["files"]} == promised - {
        "summary.md", "results.json", "config.toml"}


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_png_figures_are_real_images(report, spec):
    _, out, _ = report
    path = out / f"{spec.name}.png"
    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE
    assert len(raw) > 20_000
    pixels = image.imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert float(np.var(pixels[..., :3])) > 1e-3, "a single-colour image"


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_svg_figures_are_vector_drawings(report, spec):
    _, out, _ = report
    text = (out / f"{spec.name}.svg").read_text(encoding="utf-8")
    assert "<svg" in text and text.count("<path") > 20


# -- results.json ---------------------------------------------------------------------------
def test_results_follow_the_schema(report):
    _, _, results = report
    assert schema_errors(results, RESULTS_SCHEMA) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda r: r.pop("config"), "missing 'config'"),
        (lambda r: r["claims"]["collapse"].update(passed="yes"), "expected boolean"),
        (lambda r: r["claims"]["collapse"]["checks"][0].update(relation="~"), "not in"),
        (lambda r: r["claims"]["collapse"]["data"]["flow"].update(t=["0"]), "expected number"),
        (lambda r: r.update(extra=1), "unexpected key 'extra'"),
    ],
    ids=["missing-key", "wrong-type", "bad-enum", "string-in-array", "unknown-key"],
)
def test_the_schema_rejects_broken_results(report, mutate, expected):
    results = json.loads(json.dumps(report[2]))
    mutate(results)
    errors = schema_errors(results, RESULTS_SCHEMA)
    assert any(expected in e for e in errors), errors


def test_every_claim_and_check_is_recorded(report):
    _, _, results = report
    assert list(results["claims"]) == [module.NAME for module in CLAIMS]
    for claim in results["claims"].values():
        recomputed = [_recheck(c) for c in claim["checks"]]
        assert [c.passed for c in recomputed] == [c["passed"] for c in claim["checks"]]
        assert claim["passed"] == all(c.passed for c in recomputed)


def _recheck(c):
    """The check of a stored result, old style (Check of claims._base) or interval style (report.checks)."""
    if "verdict" not in c:
        return Check(c["quantity"], c["measured"], c["predicted"], c["relation"], c["tolerance"])
    from grassdyn.report import checks

    interval = checks.Interval(*(float("nan") if c[k] is None else c[k] for k in ("measured", "low", "high")),
                               c["method"])
    effect = float("nan") if c["effect"] is None else c["effect"]
    return checks.Check(c["quantity"], interval, c["predicted"], c["relation"], c["tolerance"], effect,
                        c["fraction"], c["why"])


def test_config_toml_reproduces_the_configuration(report):
    _, out, results = report
    assert load_config(out / "config.toml") == results["config"]


def test_a_rerun_from_the_stored_configuration_gives_the_same_numbers(report):
    _, out, results = report
    cfg = load_config(out / "config.toml")
    names = ["collapse", "closed_form_exactness"]
    rerun, _ = compute_claims(cfg, names)
    for name in names:
        again = json.loads(json.dumps(to_jsonable(rerun[name].data)))
        assert again == results["claims"][name]["data"]


# -- summary.md -------------------------------------------------------------------------------
def test_every_number_in_the_summary_comes_from_the_results(report):
    _, out, results = report
    text = (out / "summary.md").read_text(encoding="utf-8")
    values = np.array(sorted(set(numeric_leaves(results))))
    tokens = NUMBER.findall(prose(text))
    assert len(tokens) > 40
    orphans = []
    for token in tokens:
        x = float(token)
        tol = max(printed_precision(token), 5e-4 * abs(x))
        if not np.any(np.abs(values - x) <= tol):
            orphans.append(token)
    assert orphans == []


def test_the_summary_states_each_claim_with_its_verdict(report):
    _, out, results = report
    text = (out / "summary.md").read_text(encoding="utf-8")
    for claim in results["claims"].values():
        verdict = "PASS" if claim["passed"] else "FAIL"
        assert f"## {claim['title']}: {verdict}" in text
        assert len(re.findall(r"^- \*\*(PASS|FAIL)\*\*", text, flags=re.M)) == sum(
            len(c["checks"]) for c in results["claims"].values())
    assert "| I (eigenvectors) | spectrum of the linearisation | index | class |" in text
    assert "\\begin{tabular}" in text
    for spec in results["figures"].values():
        assert f"]({spec['files'][0]})" in text


def test_a_failed_check_reads_as_failed(report):
    results = json.loads(json.dumps(report[2]))
    claim = results["claims"]["width_independence"]
    claim["checks"][0].update(measured=1.0, passed=False)
    claim["passed"] = False
    text = summary(results)
    assert f"**Failed: {claim['title']}.**" in text
    assert f"## {claim['title']}: FAIL" in text


def test_the_command_exits_1_when_a_check_fails(monkeypatch, tmp_path, report):
    results = json.loads(json.dumps(report[2]))
    results["claims"]["collapse"]["passed"] = False
    monkeypatch.setattr("grassdyn.report.run.run_report", lambda cfg, out, progress=None: results)
    assert main(["report", "--quick", "--quiet", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize(
    "relation, measured, predicted, tol, passed",
    [
        ("<=", 1.0, 1.0, 0.0, True),
        ("<=", 1.1, 1.0, 0.0, False),
        (">=", 0.9, 1.0, 0.0, False),
        ("abs", 1.25, 1.0, 0.3, True),
        ("abs", 1.35, 1.0, 0.3, False),
        ("rel", 2.2, 2.0, 0.15, True),
        ("rel", 2.4, 2.0, 0.15, False),
        ("<=", float("nan"), 1.0, 0.0, False),
    ],
)
def test_check_relations(relation, measured, predicted, tol, passed):
    assert Check("q", measured, predicted, relation, tol).passed is passed


def test_a_non_finite_measurement_is_stored_as_null_and_fails():
    doc = Check("q", float("nan"), 1.0, "<=", 0.0).to_json()
    assert doc["measured"] is None and doc["passed"] is False
    json.dumps(doc, allow_nan=False)  # strict JSON
    claim = next(iter(RESULTS_SCHEMA["properties"]["claims"]["properties"].values()))
    assert schema_errors(doc, claim["properties"]["checks"]["items"]) == []


@pytest.mark.parametrize("spec", [FIGURES[-1]], ids=lambda s: s.name)
def test_figures_are_drawn_from_the_stored_numbers(report, tmp_path, spec):
    # redrawing from results.json alone reproduces the report's files byte for byte
    _, out, results = report
    data = {name: claim["data"] for name, claim in results["claims"].items()}
    files = save_figure(spec.build(data), tmp_path, spec.name)
    for name in files:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_an_analysis_script_writes_its_figure_and_table(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "analysis.collapse", "--quick", "--quiet", "--out", str(tmp_path)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {f"collapse.{ext}" for ext in ("png", "svg", "md", "json")}
    table = (tmp_path / "collapse.md").read_text(encoding="utf-8")
    assert table.startswith("## Collapse of the unconstrained dynamics: PASS")
