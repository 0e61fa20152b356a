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

Its interval is the percentile bootstrap over seeds, widened to the rho-grid
cell that holds the crossing (between grid points the curve is not
measured). At SGD's finite horizon even the flow crosses before ``rho*``:
for ``rho < rho*`` the slowest direction decays at the gap
``min(gc) - rho max(gs)``, which vanishes at ``rho*``. That shift is known
exactly, from the closed form at the same horizon and start (its crossing
found by root bracketing in rho), and is the check's stated model tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import optimize

from grassdyn import compare, flows, grassmann, plotting, sgd
from grassdyn.report.checks import Check, Interval, bootstrap
from grassdyn.report.claims._base import ClaimResult, build_loss, build_model, rng_for
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


def bracket(x: np.ndarray, y: np.ndarray, level: float) -> Interval:
    """The crossing of ``level`` with the grid cell that holds it as its interval.

    A deterministic curve sampled on a grid pins its crossing down to the
    cell where it rises through ``level``: anywhere inside, the samples agree.

    >>> bracket(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.5, 2.0]), 1.0)
    Interval(estimate=1.3333333333333333, low=1.0, high=2.0, method='grid cell holding the crossing')
    """
    at = crossing(x, y, level)
    above = np.nonzero(y >= level)[0]
    if above.size == 0 or above[0] == 0:
        # the curve never rises through the level on the grid: no cell brackets it
        return Interval(at, -math.inf, math.inf, "no crossing on the grid")
    i = int(above[0])
    return Interval(at, float(x[i - 1]), float(x[i]), "grid cell holding the crossing")


def _flow_distance(cfg: dict[str, Any], W0: np.ndarray, rho: float, t: float) -> float:
    """Distance to the content subspace of the closed-form flow at time ``t``, at augmentation ``rho``."""
    model = build_model(cfg, rho)
    end = flows.grassmann_closed_form(build_loss(cfg, model).C, W0, [t]).final
    return float(compare.identifiability(end, model).distance)


def _flow_crossing(cfg: dict[str, Any], W0: np.ndarray, rhos: np.ndarray, distance: np.ndarray,
                   t: float) -> float:
    """The rho where the flow at time ``t`` crosses ``pi/4``, to 1e-6, inside the grid cell that holds it."""
    cell = bracket(rhos, distance, THRESHOLD)
    if not cell.finite:
        return math.nan
    return float(optimize.brentq(lambda r: _flow_distance(cfg, W0, r, t) - THRESHOLD, cell.low, cell.high,
                                 xtol=1e-6))


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
    rho_grid = np.asarray(rhos)
    boot = bootstrap(sgd_distance.T, lambda d: crossing(rho_grid, np.median(d, axis=0), THRESHOLD), rng=rng)
    cell = bracket(rho_grid, np.median(sgd_distance, axis=1), THRESHOLD)
    sgd_fit = Interval(boot.estimate, min(boot.low, cell.low), max(boot.high, cell.high),
                       f"{boot.method}, widened to the rho-grid cell holding the crossing")
    measured = sgd_fit.estimate
    flow_fit = bracket(rho_grid, flow_long_distance, THRESHOLD)
    flow_transition = flow_fit.estimate
    flow_end_transition = _flow_crossing(cfg, W0, rho_grid, flow_distance, t_end)
    fraction = c["transition_fraction"]
    resolution = fraction * predicted
    why = (f"the effect is rho* itself (a transition at rho = 0 would mean no augmentation identifies); "
           f"a passing window is at most {resolution:.3g} wide ({fraction:g} of it)")
    shift = abs(predicted - flow_end_transition)
    sgd_check_why = why + (f"; tolerance: the flow itself crosses at {flow_end_transition:.4g} at "
                           f"t = {t_end:g}, a finite-horizon shift computed from the closed form")
    if math.isfinite(shift) and 2 * shift < resolution:
        sgd_check = Check("rho where SGD's median distance to the content subspace crosses `pi/4`", sgd_fit,
                          predicted, "within", tolerance=shift, effect=predicted, fraction=fraction,
                          why=sgd_check_why)
    else:
        # the horizon is too short for rho*: the shift leaves no room to decide (read: inconclusive)
        wide = Interval(sgd_fit.estimate, sgd_fit.low - shift, sgd_fit.high + shift,
                        f"{sgd_fit.method}, widened by the flow's finite-horizon shift")
        sgd_check = Check("rho where SGD's median distance to the content subspace crosses `pi/4`", wide,
                          predicted, "within", effect=predicted, fraction=fraction,
                          why=sgd_check_why + ", too large at this horizon to test rho*")
    checks = [
        sgd_check,
        Check(f"rho where the flow at t = {t_long:g} crosses `pi/4`", flow_fit, predicted, "within",
              effect=predicted, fraction=fraction,
              why=why + "; at this horizon the limit's jump at rho* is sharp: the grid cell is the interval"),
    ]
    data = {
        "rhos": rhos,
        "flow_distance": flow_distance,
        "flow_long_distance": flow_long_distance,
        "sgd_distance": sgd_distance,
        "predicted_transition": predicted,
        "measured_transition": measured,
        "flow_transition": flow_transition,
        "flow_end_transition": flow_end_transition if math.isfinite(flow_end_transition) else None,
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
        {f"flow at t = {data['t_long']:g}": data["flow_long_distance"],
         f"flow at t = {data['t_end']:g}": data["flow_distance"], "SGD": data["sgd_distance"]},
        transition=data["predicted_transition"],
        measured_transition=data["measured_transition"],
    )
