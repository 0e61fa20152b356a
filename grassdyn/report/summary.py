"""``summary.md``: the report a theorist reads, written only from the numbers in ``results.json``.

Every number printed here is formatted by :func:`fmt` from a value stored in
``results.json`` (the tests parse them back and check), so the summary
cannot drift from the run.
"""

from __future__ import annotations

from typing import Any

from grassdyn.report.claims import stability

__all__ = ["LABELS", "check_line", "claim_section", "fmt", "fmt_interval", "summary"]


def fmt(x: float | int | None) -> str:
    """Four significant digits; integers as integers; None (a non-finite measurement) as such.

    >>> fmt(2.0), fmt(0.123456), fmt(1.5e-9), fmt(None)
    ('2', '0.1235', '1.5e-09', 'not finite')
    """
    if x is None:
        return "not finite"
    x = float(x)
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


#: How each verdict is printed.
LABELS = {"pass": "PASS", "inconclusive": "INCONCLUSIVE", "fail": "FAIL"}


def _verdict(item: dict[str, Any]) -> str:
    return LABELS[item["verdict"]]


def fmt_interval(estimate: float | None, low: float | None, high: float | None) -> str:
    """``estimate [low, high]`` with as many digits (4 to 12) as it takes to tell the three apart.

    >>> fmt_interval(2.0000007, 2.0000005, 2.000001)
    '2.0000007 [2.0000005, 2.000001]'
    >>> fmt_interval(0.51, 0.48, 0.55)
    '0.51 [0.48, 0.55]'
    """
    values = (estimate, low, high)
    if None in values:
        return " ".join([fmt(estimate), f"[{fmt(low)}, {fmt(high)}]"])
    digits = 4
    distinct = len({float(v) for v in values})
    while digits < 12 and len({f"{float(v):.{digits}g}" for v in values}) < distinct:
        digits += 1
    e, lo, hi = (f"{float(v):.{digits}g}" for v in values)
    return f"{e} [{lo}, {hi}]"


def _measured(check: dict[str, Any]) -> str:
    """The estimate, its interval unless it is a single value, and how it was measured."""
    m, low, high = check["measured"], check["low"], check["high"]
    if m is not None and low == high == m:
        return f"{fmt(m)} ({check['method']})"
    return f"{fmt_interval(m, low, high)} ({check['method']})"


def _prediction(check: dict[str, Any]) -> str:
    p = fmt(check["predicted"])
    if check["relation"] == "<=":
        return f"at most {p}"
    if check["relation"] == ">=":
        return f"at least {p}"
    text = f"{p}, inside a window at most {fmt(check['resolution'])} wide"
    if check["tolerance"] > 0:
        text += f", the interval widened by a model tolerance of {fmt(check['tolerance'])} on each side"
    return text


def check_line(check: dict[str, Any]) -> str:
    """One check as a markdown list item: verdict, estimate and interval, prediction and resolution, why."""
    return (f"- **{_verdict(check)}** {check['quantity']}: measured {_measured(check)}; "
            f"predicted {_prediction(check)}. Why: {check['why']}.")


def claim_section(name: str, claim: dict[str, Any], figure: str | None, label: str = "") -> str:
    """A claim as markdown: its statement, one line per check, and its figure."""
    lines = [f"## {claim['title']}: {_verdict(claim)}", "", claim["statement"], ""]
    lines += [check_line(check) for check in claim["checks"]]
    if name == stability.NAME:
        data = claim["data"]
        lines += ["", stability.table(data), "", f"Assumptions: {data['assumptions']}.", "",
                  "LaTeX of the table:", "", "```latex", data["latex"], "```"]
    if figure is not None:
        lines += ["", f"![{label or claim['title']}]({figure})"]
    return "\n".join(lines) + "\n"


def _headline(claims: dict[str, Any]) -> str:
    """The top line: all passed, or which claims failed and which could not decide."""
    failed = [c["title"] for c in claims.values() if c["verdict"] == "fail"]
    undecided = [c["title"] for c in claims.values() if c["verdict"] == "inconclusive"]
    if not failed and not undecided:
        return "**All claims passed.**"
    parts = []
    if failed:
        parts.append(f"**Failed: {'; '.join(failed)}.**")
    if undecided:
        parts.append(f"**Inconclusive (the run cannot decide; more seeds or points needed): "
                     f"{'; '.join(undecided)}.**")
    return " ".join(parts)


def _model_line(doc: dict[str, Any]) -> str:
    m = doc["config"]["model"]
    eig = doc["claims"]["closed_form_exactness"]["data"]["generator_eigenvalues"]
    shown = ", ".join(fmt(v) for v in eig[: doc["config"]["dynamics"]["h"] + 3])
    return (
        f"**Data model.** d = {fmt(m['d'])}, content variances {', '.join(map(fmt, m['content']))}, "
        f"style variances {', '.join(map(fmt, m['style']))}, rho = {fmt(m['rho'])}, noise {fmt(m['noise'])}, "
        f"{m['loss']} loss. Largest eigenvalues of its generator C: {shown}, ..."
    )


def summary(doc: dict[str, Any]) -> str:
    """The markdown summary of a ``results.json`` document."""
    claims = doc["claims"]
    figure_of = {c: spec for spec in doc["figures"].values() for c in spec["claims"]}
    lines = [
        "# grassdyn report",
        "",
        _headline(claims),
        "",
        f"grassdyn `{doc['grassdyn_version']}` checked the central claims of the Grassmannian theory of "
        "linear self-supervised learning against simulation: closed forms, an ODE integrator, SGD runs "
        "and a symbolic derivation, on one data model. Every number below is stored in `results.json`; "
        "`config.toml` reproduces the run exactly (`grassdyn report --config config.toml`). "
        f"Seed {doc['config']['seed']}; run time {fmt(doc['timing']['total_seconds'])} s.",
        "",
        _model_line(doc),
        "",
        "Conventions: t is gradient-flow time (SGD step k at `t = k lr`); distances between subspaces are "
        "geodesic, the Euclidean norm of the vector of principal angles, in radians.",
        "",
        "Verdicts: a check measures an interval (a bootstrap over seeds, a fit's standard error, or one "
        "deterministic value). It passes when the interval holds the prediction and is narrow enough that it "
        "could have excluded it, fails when it excludes it, and is inconclusive when it holds the prediction "
        "but is too wide to tell; a claim takes the worst verdict of its checks.",
        "",
        "| claim | verdict | figure |",
        "|---|---|---|",
    ]
    for name, claim in claims.items():
        spec = figure_of.get(name)
        where = f"{spec['title']}: `{spec['files'][0]}`" if spec else "table below"
        lines.append(f"| {claim['title']} | {_verdict(claim)} | {where} |")
    lines.append("")
    shown: set[str] = set()
    for name, claim in claims.items():
        spec = figure_of.get(name)
        figure = None
        if spec is not None and spec["files"][0] not in shown:
            figure = spec["files"][0]
            shown.add(figure)
        lines.append(claim_section(name, claim, figure, spec["title"] if spec else ""))
    return "\n".join(lines)
