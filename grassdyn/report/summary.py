"""``summary.md``: the report a theorist reads, written only from the numbers in ``results.json``.

Every number printed here is formatted by :func:`fmt` from a value stored in
``results.json`` (the tests parse them back and check), so the summary
cannot drift from the run.
"""

from __future__ import annotations

from typing import Any

from grassdyn.report.claims import stability

__all__ = ["claim_section", "fmt", "summary"]


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


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _prediction(check: dict[str, Any]) -> str:
    p, tol = fmt(check["predicted"]), fmt(check["tolerance"])
    return {
        "<=": f"at most {p}",
        ">=": f"at least {p}",
        "abs": f"{p} within {tol}",
        "rel": f"{p} within a relative {tol}",
        "within": f"{p}, inside the interval [{fmt(check.get('low', p))}, {fmt(check.get('high', p))}]",
    }[check["relation"]]


def claim_section(name: str, claim: dict[str, Any], figure: str | None, label: str = "") -> str:
    """A claim as markdown: its statement, one line per check, and its figure."""
    lines = [f"## {claim['title']}: {_verdict(claim['passed'])}", "", claim["statement"], ""]
    for check in claim["checks"]:
        lines.append(
            f"- **{_verdict(check['passed'])}** {check['quantity']}: measured {fmt(check['measured'])}, "
            f"predicted {_prediction(check)}."
        )
    if name == stability.NAME:
        data = claim["data"]
        lines += ["", stability.table(data), "", f"Assumptions: {data['assumptions']}.", "",
                  "LaTeX of the table:", "", "```latex", data["latex"], "```"]
    if figure is not None:
        lines += ["", f"![{label or claim['title']}]({figure})"]
    return "\n".join(lines) + "\n"


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
    failed = [c["title"] for c in claims.values() if not c["passed"]]
    verdict = "**All claims passed.**" if not failed else f"**Failed: {'; '.join(failed)}.**"
    lines = [
        "# grassdyn report",
        "",
        verdict,
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
        "| claim | verdict | figure |",
        "|---|---|---|",
    ]
    for name, claim in claims.items():
        spec = figure_of.get(name)
        where = f"{spec['title']}: `{spec['files'][0]}`" if spec else "table below"
        lines.append(f"| {claim['title']} | {_verdict(claim['passed'])} | {where} |")
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
