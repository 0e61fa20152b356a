"""Claim: the unconstrained flow ``dW/dt = C W`` collapses to a rank-one representation.

From a small Gaussian start, ``W(t) = e^{Ct} W0`` (:func:`grassdyn.flows.euclidean_closed_form`)
and unconstrained minibatch SGD on the same loss
(:func:`grassdyn.sgd.simulate` with ``manifold="euclidean"``) turn every
column towards the top eigenvector of ``C``: ``sigma_2 / sigma_1`` decays like
``e^{-(lam_1 - lam_2) t}`` and the effective rank (Roy & Vetterli 2007;
:func:`grassdyn.theory.effective_rank`) tends to 1, whatever the width ``h``.
Time is flow time; SGD step ``k`` sits at ``t = k lr``.

The rate is fitted on the closed form, whose points are deterministic: the
interval is the least-squares fit's, with the two leading relative
corrections ``e^{-2(lam_1 - lam_2) t}`` and ``e^{-2(lam_2 - lam_3) t}``
fitted beside it, and its stated tolerance is the a-posteriori truncation
error (how far those corrections moved the rate; the neglected terms decay
faster). The effective-rank bounds are checked on the flow's final value and
on SGD's largest over seeds (bootstrapped over seeds: every seed must
collapse).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import optimize

from grassdyn import flows, plotting, sgd, theory
from grassdyn.report.checks import Check, Interval, bootstrap, exact
from grassdyn.report.claims._base import ClaimResult, build_loss, build_model, fit_rate, rng_for
from grassdyn.report.progress import Progress

NAME = "collapse"
TITLE = "Collapse of the unconstrained dynamics"
STREAM = 1


def sgd_schedule(t_max: float, n_times: int, lr: float) -> tuple[int, int]:
    """Steps reaching flow time ``t_max`` at learning rate ``lr``, and the recording stride."""
    steps = max(1, round(t_max / lr))
    return steps, max(1, round(steps / (n_times - 1)))


def _second_singular_value(bound: float) -> float:
    """``s`` such that singular values ``(1, s)`` have effective rank ``bound`` (in (1, 2))."""
    if bound >= 2:
        return 1.0
    if bound <= 1:
        return 0.0
    return float(optimize.brentq(lambda s: theory.effective_rank(np.diag([1.0, s])) - bound, 1e-12, 1.0))


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["collapse"]
    progress.stage(TITLE, 2)
    rng = rng_for(cfg, STREAM)
    loss = build_loss(cfg, build_model(cfg))
    C, h = loss.C, c["h"]
    W0 = sgd.init_frames(C.shape[0], h, 1, rng, kind="gaussian", scale=c["init_scale"])[0]
    t = np.linspace(0.0, c["t_max"], c["n_times"])
    flow = flows.euclidean_closed_form(C, W0, t, normalize=True)
    progress.step()
    steps, every = sgd_schedule(c["t_max"], c["n_times"], c["lr"])
    run = sgd.simulate(loss, W0, lr=c["lr"], steps=steps, batch_size=c["batch_size"], seeds=c["seeds"],
                       rng=rng, record_every=every, manifold="euclidean", progress=False)
    progress.finish()
    sv_flow = np.linalg.svd(flow.W, compute_uv=False)
    sv_sgd = np.linalg.svd(run.W, compute_uv=False)
    # SGD's scale grows like e^{lam_1 t}; only the shape of the spectrum is drawn and stored
    sv_sgd = sv_sgd / sv_sgd[..., :1]
    er_flow, er_sgd = theory.effective_rank(flow.W), theory.effective_rank(run.W)
    lam = np.linalg.eigvalsh(C)[::-1]
    predicted_rate = float(lam[0] - lam[1])
    # sigma_1^2 and sigma_2^2 of e^{Ct} W0 carry relative corrections e^{-2(lam_1 - lam_2) t} and
    # e^{-2(lam_2 - lam_3) t} (the next terms of the Gram matrix sum_j e^{2 lam_j t} w_j w_j^T)
    ratio = sv_flow[:, 1] / sv_flow[:, 0]
    rate = fit_rate(t, ratio, corrections=(2 * float(lam[0] - lam[1]), 2 * float(lam[1] - lam[2])))
    # a-posteriori truncation error: the terms left out decay faster than the two fitted, so they
    # move the rate by less than the fitted ones did
    truncation = abs(rate.estimate - fit_rate(t, ratio).estimate)
    measured_rate = rate.estimate
    bound = c["max_effective_rank"]
    second = _second_singular_value(bound)
    why_rank = (f"an effective rank of {bound:g} allows a second singular value of {100 * second:.2g}% "
                f"of the first; the start's effective rank is {float(theory.effective_rank(W0)):.3g}")
    rate_why = (f"the rate is the effect (no collapse: rate 0), a passing window at most "
                f"{c['rate_fraction'] * predicted_rate:.3g} wide; tolerance: the a-posteriori truncation "
                "error of the fit (the shift the two fitted corrections make; the neglected ones decay "
                "faster)")
    if 2 * truncation < c["rate_fraction"] * predicted_rate:
        rate_check = Check("decay rate of `sigma_2 / sigma_1` along the flow", rate, predicted_rate, "within",
                           tolerance=truncation, effect=predicted_rate, fraction=c["rate_fraction"],
                           why=rate_why)
    else:
        # the run is too short for the asymptotic rate: the truncation error leaves no room (inconclusive)
        wide = Interval(rate.estimate, rate.low - truncation, rate.high + truncation,
                        f"{rate.method}, widened by its truncation error")
        rate_check = Check("decay rate of `sigma_2 / sigma_1` along the flow", wide, predicted_rate, "within",
                           effect=predicted_rate, fraction=c["rate_fraction"], why=rate_why)
    checks = [
        Check("final effective rank of the unconstrained flow", exact(er_flow[-1], "closed form"), bound,
              "<=", why=why_rank),
        # the largest over seeds is the statistic: every seed must collapse, not a typical one
        Check("final effective rank of unconstrained SGD (largest over seeds)",
              bootstrap(er_sgd[:, -1], np.max, rng=rng), bound, "<=", why=why_rank),
        rate_check,
    ]
    data = {
        "flow": {"t": t, "singular_values": sv_flow, "effective_rank": er_flow},
        "sgd": {"t": run.t, "singular_values": sv_sgd, "effective_rank": er_sgd},
        "initial_effective_rank": float(theory.effective_rank(W0)),
        "top_alignment_final": theory.top_alignment(flow.final, C),
        "predicted_rate": predicted_rate,
        "measured_rate": measured_rate,
        "sgd_steps": steps,
    }
    statement = (
        f"Without the orthogonality constraint, `W(t) = e^(Ct) W0` (h = {h}) and unconstrained SGD "
        f"(lr {c['lr']:g}, batch {c['batch_size']}, {c['seeds']} seeds) collapse: the effective rank "
        f"falls from {data['initial_effective_rank']:.4g} towards one, and `sigma_2/sigma_1` decays at "
        "rate `lam_1 - lam_2`."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def figure(data: dict[str, Any]) -> Figure:
    """Normalised singular values and effective rank, flow and SGD."""
    return plotting.collapse({"flow $e^{Ct}W_0$": data["flow"], "unconstrained SGD": data["sgd"]})
