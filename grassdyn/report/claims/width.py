"""Claim: the Grassmannian dynamics do not depend on the width — nested starts stay nested.

One frame ``W0`` of the largest width is drawn; for every width ``h`` the
flow starts at ``W0[:, :h]``. Since ``span W_h(t) = span(e^{Ct} W0[:, :h])``
(Yan, Helmke & Moore 1994), the subspaces stay nested,
``span W_h(t) ⊂ span W_H(t)`` for ``h < H``: a narrower model is a
sub-model of a wider one at every time. Nesting is checked on independent
ODE solves at each width (:func:`grassdyn.flows.integrate`), where nothing
forces it, by the largest principal angle between ``W_h(t)`` and
``W_H(t)``. Each width converges to its top-h eigenspace at its own rate
``lam_h - lam_{h+1}`` (:func:`grassdyn.theory.rate`): checked on the closed
form as the guarantee ``tan theta_max(t) <= tan theta_max(0) e^{-(lam_h - lam_{h+1}) t}``,
with the late-time fitted rates reported beside the predicted ones.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from grassdyn import flows, grassmann, plotting, theory
from grassdyn.report.checks import Check, exact
from grassdyn.report.claims._base import (
    ClaimResult,
    build_loss,
    build_model,
    envelope_ratio,
    fit_rate,
    rng_for,
)
from grassdyn.report.progress import Progress

NAME = "width_independence"
TITLE = "Width independence"
STREAM = 3
#: Tolerance of the per-width ODE solves: tight, so the nesting they show is the flow's, not rounding's.
NESTING_RTOL = 1e-10


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["width"]
    widths = sorted(c["widths"])
    progress.stage(TITLE, len(widths))
    loss = build_loss(cfg, build_model(cfg))
    C = loss.C
    W0 = grassmann.random_point(C.shape[0], widths[-1], rng_for(cfg, STREAM))
    t = np.linspace(0.0, c["t_max"], c["n_times"])
    distances, solves, predicted, measured, envelope = {}, {}, {}, {}, {}
    for h in widths:
        closed = flows.grassmann_closed_form(C, W0[:, :h], t)
        limit = flows.limit(C, h)
        distances[h] = closed.distance_to(limit)
        predicted[h] = theory.rate(C, h)
        measured[h] = fit_rate(t, distances[h]).estimate
        envelope[h] = envelope_ratio(t, closed.principal_angles(limit)[..., -1], predicted[h])
        solves[h] = flows.integrate(loss, W0[:, :h], t, rtol=NESTING_RTOL)
        progress.step()
    progress.finish()
    nesting = {
        f"{h}_in_{H}": grassmann.principal_angles(solves[h].W, solves[H].W, check=False)[..., -1]
        for h, H in itertools.pairwise(widths)
    }
    worst_nesting = max((float(v.max()) for v in nesting.values()), default=0.0)
    checks = [
        Check("largest principal angle between nested solves, over widths and times (rad)",
              exact(worst_nesting, "deterministic ODE solves"), c["max_nesting_error"], "<=",
              why=(f"{c['max_nesting_error'] / NESTING_RTOL:.3g} times the solves' rtol {NESTING_RTOL:g}, "
                   "room for their accumulated error; solves that parted would differ by order 1 rad")),
    ]
    checks += [
        Check(f"largest `tan theta_max(t) / (tan theta_max(0) e^(-(lam_h - lam_(h+1)) t))` at width h = {h}",
              exact(envelope[h], "closed form at every recorded time"), 1.0, "<=",
              why="the theorem's guarantee holds from every start: the ratio may not exceed 1 at any t")
        for h in widths
    ]
    data = {
        "t": t,
        "widths": widths,
        "distance": {str(h): distances[h] for h in widths},
        "predicted_rate": {str(h): predicted[h] for h in widths},
        "measured_rate": {str(h): measured[h] for h in widths},
        "nesting_angle": nesting,
    }
    statement = (
        f"From nested starts `W0[:, :h]`, h in {widths}, independent ODE solves stay nested, and each width "
        "converges to its top-h eigenspace at its own rate `lam_h - lam_(h+1)` (fitted late-time rates "
        + ", ".join(f"{measured[h]:.4g} against {predicted[h]:.4g}" for h in widths)
        + "): the dynamics of a narrow model are those of a wide one, restricted."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def figure(data: dict[str, Any]) -> Figure:
    """Distance to the top-h eigenspace per width with its predicted rate, and the nesting angles."""
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_d, ax_n = fig.subplots(1, 2)
    runs = {int(h): {"t": data["t"], "distance": data["distance"][str(h)]} for h in data["widths"]}
    rates = {int(h): data["predicted_rate"][str(h)] for h in data["widths"]}
    plotting.width_independence(runs, rates, ax=ax_d)
    t = np.asarray(data["t"])
    for key, angle in data["nesting_angle"].items():
        h, H = key.split("_in_")
        ax_n.plot(t, np.maximum(angle, 1e-17), label=f"span $W_{{{h}}}(t) \\subset$ span $W_{{{H}}}(t)$")
    plotting.log_scale(ax_n)
    ax_n.set_xlabel("flow time $t$")
    ax_n.set_ylabel("largest principal angle (rad)")
    ax_n.set_title("Nesting of independent ODE solves")
    if data["nesting_angle"]:
        ax_n.legend(fontsize="x-small")
    return fig
