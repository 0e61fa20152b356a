"""Claim: the top-h eigenspace is the only stable critical point of Oja's flow, and the flow finds it.

For ``C = diag(eigenvalues)`` with distinct eigenvalues the critical points
of ``dW/dt = (I - W W^T) C W`` on Gr(d, h) are the spans of h coordinate
vectors; :func:`grassdyn.symbolic.critical_points` derives the spectrum of
each linearisation exactly (``lam_j - lam_i``, ``i in I``, ``j not in I``:
Yan, Helmke & Moore 1994) and classifies it. Exactly one is stable, the
span of the top h eigenvectors, and the numerical flow from a random start
(:func:`grassdyn.flows.grassmann_closed_form`) ends there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn import flows, grassmann, symbolic
from grassdyn.report.checks import Check, exact
from grassdyn.report.claims._base import ClaimResult, rng_for
from grassdyn.report.progress import Progress

NAME = "stability"
TITLE = "Symbolic stability of the critical points"
STREAM = 7
#: Flow time in units of the inverse gap: e^{-40} is far below any tolerance worth asking.
GAP_TIMES = 40.0


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["stability"]
    progress.stage(TITLE, 2)
    lam, h = c["eigenvalues"], c["h"]
    points = symbolic.critical_points(lam, h)
    progress.step()
    stable = [p for p in points if p.classification == "stable"]
    C = np.diag(np.asarray(lam, dtype=float))
    d = C.shape[0]
    W0 = grassmann.random_point(d, h, rng_for(cfg, STREAM))
    gap = float(np.sort(lam)[::-1][h - 1] - np.sort(lam)[::-1][h])
    t_end = GAP_TIMES / gap
    end = flows.grassmann_closed_form(C, W0, [0.0, t_end]).final
    target = np.eye(d)[:, list(stable[0].indices)] if len(stable) == 1 else flows.limit(C, h)
    end_distance = float(grassmann.distance(end, target))
    progress.finish()
    checks = [
        Check("number of stable critical points", exact(len(stable), "exact symbolic classification"), 1,
              "within", effect=1, fraction=0.5,
              why="a count, derived exactly: one stable point, told from none or two"),
        Check(f"distance of the flow at t = {t_end:.4g} to the stable point (rad)",
              exact(end_distance, "closed form"), c["flow_tol"], "<=",
              why=(f"after {GAP_TIMES:g} inverse gaps the distance is about e^-{GAP_TIMES:g} times its "
                   "start, far below the bound; a flow ending at another critical point would be pi/2 away")),
    ]
    data = {
        "d": d,
        "h": h,
        "eigenvalues": lam,
        "points": [
            {
                "indices": [i + 1 for i in p.indices],
                "spectrum": [float(v) for v in p.eigenvalues],
                "index": -1 if p.index is None else int(p.index),
                "classification": p.classification,
            }
            for p in points
        ],
        "assumptions": points.assumptions,
        "latex": points.to_latex(),
        "flow_time": t_end,
        "flow_end_distance": end_distance,
    }
    statement = (
        f"For C = diag({', '.join(map(str, lam))}) on Gr({d}, {h}), sympy derives the linearisation at "
        "every critical point: exactly one is stable, the top-h eigenspace, and the numerical flow "
        "from a random start converges to it."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def table(data: dict[str, Any]) -> str:
    """The critical points as a markdown table (subset I, spectrum, index, class)."""
    rows = ["| I (eigenvectors) | spectrum of the linearisation | index | class |", "|---|---|---|---|"]
    for p in data["points"]:
        subset = "{" + ", ".join(map(str, p["indices"])) + "}"
        spectrum = ", ".join(f"{v:g}" for v in p["spectrum"])
        rows.append(f"| {subset} | {spectrum} | {p['index']} | {p['classification']} |")
    return "\n".join(rows)
