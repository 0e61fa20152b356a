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
from grassdyn.report.checks import Interval
from grassdyn.report.claims import BY_NAME, CLAIMS, Check
from grassdyn.report.claims._base import to_jsonable
from grassdyn.report.config import load_config, loads_config
from grassdyn.report.figures import FIGURES
from grassdyn.report.progress import Progress
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
    assert results["verdict"] == "pass" and results["passed"] is True
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
        (lambda r: r["claims"]["collapse"]["checks"][0].update(relation="abs"), "not in"),
        (lambda r: r["claims"]["collapse"].update(verdict="passed"), "not in"),
        (lambda r: r["claims"]["collapse"]["data"]["flow"].update(t=["0"]), "expected number"),
        (lambda r: r.update(extra=1), "unexpected key 'extra'"),
    ],
    ids=["missing-key", "wrong-type", "bad-enum", "bad-verdict", "string-in-array", "unknown-key"],
)
def test_the_schema_rejects_broken_results(report, mutate, expected):
    results = json.loads(json.dumps(report[2]))
    mutate(results)
    errors = schema_errors(results, RESULTS_SCHEMA)
    assert any(expected in e for e in errors), errors


def _check_from_json(c):
    def num(v):
        return math.nan if v is None else v

    measured = Interval(num(c["measured"]), num(c["low"]), num(c["high"]), c["method"])
    return Check(c["quantity"], measured, c["predicted"], c["relation"], c["tolerance"], num(c["effect"]),
                 c["fraction"], c["why"])


def test_every_claim_and_check_is_recorded(report):
    _, _, results = report
    assert list(results["claims"]) == [module.NAME for module in CLAIMS]
    for claim in results["claims"].values():
        recomputed = [_check_from_json(c) for c in claim["checks"]]
        assert [c.verdict for c in recomputed] == [c["verdict"] for c in claim["checks"]]
        assert [c.passed for c in recomputed] == [c["passed"] for c in claim["checks"]]
        assert claim["passed"] == all(c.passed for c in recomputed) == (claim["verdict"] == "pass")


def test_every_quick_check_is_decisive_and_explained(report):
    # inconclusive means the quick configuration is too small for its own checks
    _, _, results = report
    for name, claim in results["claims"].items():
        for c in claim["checks"]:
            assert c["verdict"] != "inconclusive", (name, c["quantity"], c["low"], c["high"], c["resolution"])
            assert c["why"] and c["method"]
            if c["relation"] == "within":
                assert 2 * c["tolerance"] < c["resolution"] == pytest.approx(c["fraction"] * c["effect"])


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
def text_leaves(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from text_leaves(v)
    elif isinstance(x, list):
        for v in x:
            yield from text_leaves(v)
    elif isinstance(x, str):
        yield x


def test_every_number_in_the_summary_comes_from_the_results(report):
    # a number is stored as a number, or inside a stored text (a check's why, a statement)
    _, out, results = report
    text = (out / "summary.md").read_text(encoding="utf-8")
    stored_text = [float(t) for s in text_leaves(results) for t in NUMBER.findall(prose(s))]
    values = np.array(sorted(set(numeric_leaves(results)) | set(stored_text)))
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
        assert f"## {claim['title']}: {claim['verdict'].upper()}" in text
        for c in claim["checks"]:
            line = next(ln for ln in text.splitlines() if ln.startswith("- **") and c["quantity"] in ln)
            assert line.startswith(f"- **{c['verdict'].upper()}**")
            assert c["method"] in line and f"Why: {c['why']}." in line
            if c["low"] != c["high"]:
                assert re.search(r"measured \S+ \[\S+, \S+\]", line)
    assert len(re.findall(r"^- \*\*(PASS|FAIL|INCONCLUSIVE)\*\*", text, flags=re.M)) == sum(
        len(c["checks"]) for c in results["claims"].values())
    assert "| I (eigenvectors) | spectrum of the linearisation | index | class |" in text
    assert "\\begin{tabular}" in text
    for spec in results["figures"].values():
        assert f"]({spec['files'][0]})" in text


def test_failed_and_inconclusive_checks_read_as_such(report):
    results = json.loads(json.dumps(report[2]))
    failed, undecided = results["claims"]["width_independence"], results["claims"]["sgd_to_flow"]
    failed["checks"][0].update(measured=1.0, low=1.0, high=1.0, verdict="fail", passed=False)
    failed.update(verdict="fail", passed=False)
    undecided["checks"][1].update(low=-0.5, high=1.5, verdict="inconclusive", passed=False)
    undecided.update(verdict="inconclusive", passed=False)
    text = summary(results)
    assert f"**Failed: {failed['title']}.**" in text
    assert f"more seeds or points needed): {undecided['title']}.**" in text
    assert f"## {failed['title']}: FAIL" in text and f"## {undecided['title']}: INCONCLUSIVE" in text
    assert f"| {undecided['title']} | INCONCLUSIVE |" in text
    assert "- **INCONCLUSIVE** order in lr of minibatch SGD" in text


def test_the_command_exits_1_when_a_check_fails(monkeypatch, tmp_path, report):
    results = json.loads(json.dumps(report[2]))
    results["claims"]["collapse"].update(passed=False, verdict="fail")
    results.update(passed=False, verdict="fail")
    monkeypatch.setattr("grassdyn.report.run.run_report", lambda cfg, out, **kw: results)
    assert main(["report", "--quick", "--quiet", "--out", str(tmp_path)]) == 1


def test_a_non_finite_measurement_is_stored_as_null_and_fails():
    doc = Check("q", Interval(math.nan, math.nan, math.nan, "x"), 1.0, "<=").to_json()
    assert doc["measured"] is None and doc["passed"] is False and doc["verdict"] == "fail"
    json.dumps(doc, allow_nan=False)  # strict JSON
    claim = next(iter(RESULTS_SCHEMA["properties"]["claims"]["properties"].values()))
    assert schema_errors(doc, claim["properties"]["checks"]["items"]) == []


# -- checks that can fail -----------------------------------------------------------------
def _sgd_order(cfg_text):
    result = BY_NAME["sgd_to_flow"].compute(loads_config(cfg_text, quick=True), Progress(False))
    return result.checks[1]


def test_rho_07_no_longer_passes_the_sgd_order_check():
    # issue 9: with rho = 0.7 SGD leaves the flow at the larger lrs (distance ~1.5 rad) and its
    # measured order, 0.27 in the issue, passed "within 0.3" of 0.5; the interval now shows it undecided
    check = _sgd_order("[model]\nrho = 0.7")
    assert check.verdict != "pass"
    assert check.measured.width > check.resolution
    assert _sgd_order("").verdict == "pass"  # the same check decides at the quick configuration


@pytest.mark.parametrize(
    "text, match",
    [("[dynamics]\nseeds = 1", r"\[dynamics\] seeds = 1: must be >= 2"),
     ("[dynamics]\nlrs = [0.08, 0.04, 0.02]", r"\[dynamics\] lrs: needs at least 4 distinct"),
     ("[dynamics]\norder_fraction = 0", r"\[dynamics\] order_fraction = 0: must be > 0"),
     ("[finite]\nslope_fraction = 1.5", r"\[finite\] slope_fraction = 1.5: must be <= 1"),
     ("[dynamics]\norder_tol = 0.3", "unknown key 'order_tol' in \\[dynamics\\]")],
    ids=["one-seed", "three-lrs", "fraction-zero", "fraction-above-one", "removed-tolerance-key"],
)
def test_the_configuration_refuses_checks_that_could_not_decide(text, match):
    from grassdyn.report.config import ConfigError

    with pytest.raises(ConfigError, match=match):
        loads_config(text)


def test_a_horizon_too_short_for_the_transition_reads_inconclusive():
    # at t = 10 the flow itself crosses far before rho*: the known shift leaves no room to decide
    cfg = loads_config("[identifiability]\nsteps = 100", quick=True)
    check = BY_NAME["identifiability"].compute(cfg, Progress(False)).checks[0]
    assert check.verdict == "inconclusive"
    assert "widened by the flow's finite-horizon shift" in check.measured.method


def test_too_few_seeds_make_a_check_inconclusive_not_passed():
    check = _sgd_order("[dynamics]\nseeds = 2")
    assert check.verdict == "inconclusive"
    assert check.measured.low <= check.predicted <= check.measured.high


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
