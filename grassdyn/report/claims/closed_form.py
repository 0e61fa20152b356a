"""Claim: Oja's flow is solved exactly by the closed form, and converges at rate ``lam_h - lam_{h+1}``.

The closed form ``span W(t) = span(e^{Ct} W0)`` (:func:`grassdyn.flows.grassmann_closed_form`)
and an adaptive ODE integrator of ``dW/dt = (I - W W^T) C W``
(:func:`grassdyn.flows.integrate`) are run from the same start on the
configured contrastive generator ``C``; they must agree to the integrator's
tolerance at every time, and the largest principal angle to the top-h
eigenspace must obey ``tan theta_max(t) <= tan theta_max(0) e^{-(lam_h - lam_{h+1}) t}``
(Yan, Helmke & Moore 1994; :func:`grassdyn.theory.rate`), a guarantee from
every start. The late-time decay rate of the distance, fitted on the second
half of the run, is reported beside the predicted asymptotic rate; it is not a
pass/fail check because a start with a small component along the slowest
direction reaches the asymptotic regime only after a long transient.
"""

from __future__ import annotations

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

NAME = "closed_form_exactness"
TITLE = "Exactness of the Grassmannian closed form"
STREAM = 2


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["dynamics"]
    progress.stage(TITLE, 2)
    loss = build_loss(cfg, build_model(cfg))
    C, h = loss.C, c["h"]
    W0 = grassmann.random_point(C.shape[0], h, rng_for(cfg, STREAM))
    t = np.linspace(0.0, c["t_max"], c["n_times"])
    limit = flows.limit(C, h)
    closed = flows.grassmann_closed_form(C, W0, t)
    progress.step()
    numeric = flows.integrate(loss, W0, t, rtol=c["integrator_rtol"])
    progress.finish()
    d_exact = closed.distance_to(limit)
    d_numeric = numeric.distance_to(limit)
    deviation = numeric.distance_to(closed)
    predicted_rate = theory.rate(C, h)
    measured_rate = fit_rate(t, d_exact).estimate
    theta_max = closed.principal_angles(limit)[..., -1]
    checks = [
        Check(f"max over t of the distance between {numeric.method} and the closed form (rad)",
              exact(float(deviation.max()), "deterministic ODE solve against the closed form"),
              c["max_integrator_error"], "<=",
              why=(f"{c['max_integrator_error'] / c['integrator_rtol']:.3g} times the integrator's rtol, "
                   "room for the global error an adaptive solver accumulates; a different flow would "
                   "miss by the distance itself, order 1 rad")),
        Check("largest `tan theta_max(t) / (tan theta_max(0) e^(-(lam_h - lam_(h+1)) t))` over t > 0",
              exact(envelope_ratio(t, theta_max, predicted_rate), "closed form at every recorded time"), 1.0,
              "<=",
              why="the theorem's guarantee holds from every start: the ratio may not exceed 1 at any t"),
    ]
    data = {
        "t": t,
        "closed_form_distance": d_exact,
        "integrator_distance": d_numeric,
        "integrator_deviation": deviation,
        "integrator": numeric.method,
        "integrator_steps": int(numeric.stats.get("accepted_steps", 0)),
        "integrator_evaluations": int(numeric.stats.get("nfev", 0)),
        "integrator_orthogonality_defect": float(np.max(numeric.orthogonality_defect())),
        "predicted_rate": predicted_rate,
        "measured_rate": measured_rate,
        "generator_eigenvalues": np.linalg.eigvalsh(C)[::-1],
    }
    statement = (
        f"On the contrastive generator of the data model (d = {C.shape[0]}, h = {h}), the closed form "
        f"and the {numeric.method} integrator (rtol {c['integrator_rtol']:g}) follow the same subspace, "
        "and the distance to the top-h eigenspace decays at least like `e^(-(lam_h - lam_(h+1)) t)`: "
        f"the fitted late-time rate is {measured_rate:.4g} against the gap {predicted_rate:.4g}."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def curves(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The closed form and the integrator as curves for :func:`grassdyn.plotting.distance_to_limit`."""
    return {
        "closed form": {"t": data["t"], "distance": data["closed_form_distance"]},
        f"integrator ({data['integrator']})": {"t": data["t"], "distance": data["integrator_distance"]},
    }


def figure(data: dict[str, Any]) -> Figure:
    """Distance to the limit (closed form, integrator) and their deviation over time."""
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_d, ax_e = fig.subplots(1, 2)
    plotting.distance_to_limit(curves(data), rate=data["predicted_rate"], ax=ax_d)
    t, dev = np.asarray(data["t"]), np.asarray(data["integrator_deviation"])
    ax_e.plot(t[1:], np.maximum(dev[1:], 1e-17), color="#D55E00")
    plotting.log_scale(ax_e)
    ax_e.set_xlabel("flow time $t$")
    ax_e.set_ylabel("distance integrator to closed form (rad)")
    ax_e.set_title("Integrator error")
    return fig
