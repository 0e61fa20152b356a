"""Claim: the unconstrained flow ``dW/dt = C W`` collapses to a rank-one representation.

From a small Gaussian start, ``W(t) = e^{Ct} W0`` (:func:`grassdyn.flows.euclidean_closed_form`)
and unconstrained minibatch SGD on the same loss
(:func:`grassdyn.sgd.simulate` with ``manifold="euclidean"``) turn every
column towards the top eigenvector of ``C``: ``sigma_2 / sigma_1`` decays like
``e^{-(lam_1 - lam_2) t}`` and the effective rank (Roy & Vetterli 2007;
:func:`grassdyn.theory.effective_rank`) tends to 1, whatever the width ``h``.
Time is flow time; SGD step ``k`` sits at ``t = k lr``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from grassdyn import flows, plotting, sgd, theory
from grassdyn.report.claims._base import (
    Check,
    ClaimResult,
    build_loss,
    build_model,
    fit_rate,
    rng_for,
)
from grassdyn.report.progress import Progress

NAME = "collapse"
TITLE = "Collapse of the unconstrained dynamics"
STREAM = 1


def sgd_schedule(t_max: float, n_times: int, lr: float) -> tuple[int, int]:
    """Steps reaching flow time ``t_max`` at learning rate ``lr``, and the recording stride."""
    steps = max(1, round(t_max / lr))
    return steps, max(1, round(steps / (n_times - 1)))


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
    measured_rate = fit_rate(t, sv_flow[:, 1] / sv_flow[:, 0])
    bound = c["max_effective_rank"]
    checks = [
        Check("final effective rank of the unconstrained flow", er_flow[-1], bound, "<="),
        Check("final effective rank of unconstrained SGD (largest over seeds)", er_sgd[:, -1].max(), bound,
              "<="),
        Check("decay rate of `sigma_2 / sigma_1` along the flow", measured_rate, predicted_rate, "rel",
              c["rate_rtol"]),
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
