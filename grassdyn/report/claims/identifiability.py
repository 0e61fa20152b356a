"""Claim: SSL identifies the content subspace exactly when the augmentation is strong enough.

In the content/style model (docs/conventions.md; von Kügelgen et al., NeurIPS 2021)
the contrastive generator is ``A diag(gc, rho gs) A^T``: its top-k
eigenspace is the content subspace ``span(A[:, :k])`` when
``min(gc) > rho max(gs)``, and contains a style direction when
``min(gc) < rho max(gs)``. So the distance of the learned h = k subspace to
the content subspace jumps from 0 to ``pi/2`` (one principal angle) at the
transition ``rho* = min(gc) / max(gs)``. Online minibatch SGD and the
closed-form flow, both run to the same flow time ``t = steps x lr``, are
measured at each ``rho`` (:func:`grassdyn.compare.identifiability`); near
``rho*`` the spectral gap closes and convergence slows, which blurs the
transition. The measured transition is where the median SGD distance
crosses ``pi/4``, half-way between the two regimes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from grassdyn import compare, flows, grassmann, plotting, sgd
from grassdyn.report.claims._base import Check, ClaimResult, build_loss, build_model, rng_for
from grassdyn.report.progress import Progress

NAME = "identifiability"
TITLE = "Identifiability of the content subspace"
STREAM = 6
#: Half-way between identified (distance 0) and one style direction learned (distance pi/2).
THRESHOLD = math.pi / 4
#: The flow is also shown at this multiple of SGD's horizon: near ``rho*`` the gap is small and
#: an unlucky start needs far longer than ``steps x lr`` to converge; the exact closed form costs
#: the same at any time, and at the long horizon it shows the sharp transition of the limit.
LONG_HORIZON = 100


def crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """First ``x`` where ``y`` rises through ``level`` (linear interpolation); ``x[-1]`` if it never does.

    >>> crossing(np.array([0.0, 1.0]), np.array([0.0, 2.0]), 1.0)
    0.5
    """
    above = np.nonzero(y >= level)[0]
    if above.size == 0:
        return float(x[-1])
    i = int(above[0])
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (level - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["identifiability"]
    rhos = c["rhos"]
    progress.stage(TITLE, len(rhos))
    rng = rng_for(cfg, STREAM)
    k = len(cfg["model"]["content"])
    W0 = grassmann.random_point(cfg["model"]["d"], k, rng)
    t_end = c["steps"] * c["lr"]
    t_long = LONG_HORIZON * t_end
    flow_distance, flow_long_distance, sgd_distance = [], [], []
    for rho in rhos:
        model = build_model(cfg, rho)
        loss = build_loss(cfg, model)
        ends = flows.grassmann_closed_form(loss.C, W0, [t_end, t_long]).W
        flow_distance.append(float(compare.identifiability(ends[0], model).distance))
        flow_long_distance.append(float(compare.identifiability(ends[1], model).distance))
        run = sgd.simulate(loss, W0, lr=c["lr"], steps=c["steps"], batch_size=c["batch_size"],
                           seeds=c["seeds"], rng=rng, record_every=c["steps"], progress=False)
        sgd_distance.append(compare.identifiability(run.final, model).distance)
        progress.step()
    progress.finish()
    flow_distance, sgd_distance = np.asarray(flow_distance), np.asarray(sgd_distance)
    flow_long_distance = np.asarray(flow_long_distance)
    predicted = min(cfg["model"]["content"]) / max(cfg["model"]["style"])
    measured = crossing(np.asarray(rhos), np.median(sgd_distance, axis=1), THRESHOLD)
    rho_grid = np.asarray(rhos)
    flow_transition = crossing(rho_grid, flow_long_distance, THRESHOLD)
    # the limit jumps exactly at rho*: the long-horizon flow must cross within one grid cell of it
    spacing = float(np.max(np.diff(rho_grid))) if rho_grid.size > 1 else 1.0
    checks = [
        Check("rho where SGD's distance to the content subspace crosses `pi/4`", measured, predicted, "abs",
              c["transition_tol"]),
        Check(f"rho where the flow at t = {t_long:g} crosses `pi/4` (within one rho-grid cell)",
              flow_transition, predicted, "abs", spacing),
    ]
    data = {
        "rhos": rhos,
        "flow_distance": flow_distance,
        "flow_long_distance": flow_long_distance,
        "sgd_distance": sgd_distance,
        "predicted_transition": predicted,
        "measured_transition": measured,
        "flow_transition": flow_transition,
        "t_end": t_end,
        "t_long": t_long,
        "threshold": THRESHOLD,
    }
    statement = (
        f"Contrastive SGD (h = k = {k}, lr {c['lr']:g}, {c['steps']} steps, batch {c['batch_size']}, "
        f"{c['seeds']} seeds) learns the content subspace when rho < min(content) / max(style) = "
        f"{predicted:.4g}, and a style direction instead above it. Near the transition the gap closes and "
        f"convergence slows, so at SGD's horizon t = {t_end:g} the flow's transition is blurred; at "
        f"t = {t_long:g} it is sharp."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def figure(data: dict[str, Any]) -> Figure:
    """Distance to the content subspace against rho (flow at SGD's horizon and at a long one, SGD)."""
    return plotting.identifiability(
        data["rhos"],
        {f"flow at t = {data['t_end']:g}": data["flow_distance"], "SGD": data["sgd_distance"],
         f"flow at t = {data['t_long']:g}": data["flow_long_distance"]},
        transition=data["predicted_transition"],
        measured_transition=data["measured_transition"],
    )
