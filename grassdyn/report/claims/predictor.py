"""Claim: SimSiam with a linear predictor follows its eigenmode ODE, aligns, and collapses above eta*.

The dynamics of :mod:`grassdyn.ssl.predictor` (Tian, Chen & Ganguli, ICML
2021, arXiv 2102.06810) on the claim's own small data model (zero mean, so
``Sigma`` and ``M`` share eigenvectors), in three runs, time in flow time
(SGD step ``k`` at ``t = k lr``):

1. *aligned start* (``W = U diag(w0)``, ``Wp = diag(p0)`` on the top modes):
   minibatch SGD over seeds, the matrix ODE (:func:`grassdyn.flows.integrate`)
   and the eigenmode prediction (:func:`grassdyn.theory_predictor.eigenmode_trajectory`):
   eigenvalues ``p_j`` of the predictor and ``s_j`` of ``F = W^T M W``;
2. *generic start* (Gaussian ``W``, a non-symmetric predictor): the
   eigen-alignment (largest principal angle between an eigenvector of ``F``
   and the nearest eigenvector of ``sym Wp``) falls, and SGD's top mode follows
   the matrix ODE's from the same starts (paired per seed);
3. *the weight-decay threshold* ``eta* = m^2 / (4 sigma)`` of the top mode
   (:func:`grassdyn.symbolic.weight_decay_threshold`): SGD from the same
   aligned start for ``eta / eta*`` on both sides of 1; it keeps
   ``s -> s_+`` below and collapses (``s -> 0``) above.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from grassdyn import flows, sgd
from grassdyn import theory_predictor as tp
from grassdyn.data import AugmentationModel
from grassdyn.report.checks import Check, Interval, bootstrap, exact
from grassdyn.report.claims._base import ClaimResult, rng_for
from grassdyn.report.progress import Progress
from grassdyn.ssl import simsiam

NAME = "predictor"
TITLE = "SimSiam with a predictor: eigenmodes, alignment and the weight-decay threshold"
STREAM = 13


def _model(c: dict[str, Any], rng: np.random.Generator) -> AugmentationModel:
    return AugmentationModel(c["d"], c["content"], c["style"], c["rho"], c["noise"], rng=rng)


def _spectra(run: Any, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending eigenvalues of ``sym Wp`` and of ``F = W^T M W``, shape (..., T, h)."""
    P = run.state["predictor"]
    F = np.swapaxes(run.W, -1, -2) @ M @ run.W
    p = np.linalg.eigvalsh(0.5 * (P + np.swapaxes(P, -1, -2)))[..., ::-1]
    return p, np.linalg.eigvalsh(F)[..., ::-1]


def _schedule(t_max: float, n_times: int, lr: float) -> tuple[int, int]:
    steps = max(1, round(t_max / lr))
    return steps, max(1, round(steps / (n_times - 1)))


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["predictor"]
    factors = np.asarray(c["threshold_factors"], dtype=float)
    progress.stage(TITLE, 3 + factors.size)
    rng = rng_for(cfg, STREAM)
    model = _model(c, rng)
    eta, h = c["weight_decay"], len(c["content"])
    loss = simsiam(model, weight_decay=eta, predictor_lr=c["predictor_lr"])
    _, m, sigma = tp.common_eigenbasis(loss)
    m, sigma = m[:h], sigma[:h]
    modes = np.arange(h)
    w0 = p0 = np.full(h, c["init_scale"])
    steps, every = _schedule(c["t_max"], c["n_times"], c["lr"])

    # 1. aligned start: SGD, the matrix ODE and the eigenmode prediction on the same times
    start = tp.aligned_state(loss, modes, w0, p0)
    run = sgd.simulate(loss, start, lr=c["lr"], steps=steps, batch_size=c["batch_size"], seeds=c["seeds"],
                       rng=rng, record_every=every, manifold="euclidean", progress=False)
    progress.step()
    ode = flows.integrate(loss, start, run.t, manifold="euclidean", rtol=1e-10, atol=1e-12)
    pred = tp.eigenmode_trajectory(loss, modes, w0, p0, run.t)
    progress.step()
    # noise-free Euler steps (the exact field) at the same lr: their deviation from the ODE is the
    # discretisation error O(lr), the model error SGD's mean carries on top of its noise
    euler = sgd.simulate(loss, start, lr=c["lr"], steps=steps, record_every=every, manifold="euclidean",
                         progress=False)
    p_sgd, s_sgd = _spectra(run, loss.M)
    p_eul, s_eul = _spectra(euler, loss.M)
    p_ode, s_ode = _spectra(ode, loss.M)
    # the eigenmode ODE orders modes by m; the matrix spectra are sorted, so compare sorted predictions
    p_pred, s_pred = np.sort(pred.p, axis=-1)[..., ::-1], np.sort(pred.s, axis=-1)[..., ::-1]
    ode_error = float(max(np.max(np.abs(p_ode - p_pred)), np.max(np.abs(s_ode - s_pred))))
    # per seed, time averages over the second half of the run (SGD noise decorrelates within it), against
    # the prediction's average over the same times
    tail = max(2, run.t.size // 2)
    s_final = s_sgd[:, -tail:].mean(axis=1)
    p_final = p_sgd[:, -tail:].mean(axis=1)
    s_tail_pred, p_tail_pred = s_pred[-tail:].mean(axis=0), p_pred[-tail:].mean(axis=0)
    s_euler_err = np.abs(s_eul[0, -tail:].mean(axis=0) - s_tail_pred)
    p_euler_err = np.abs(p_eul[0, -tail:].mean(axis=0) - p_tail_pred)

    # 2. generic start: eigen-alignment
    W0 = sgd.init_frames(c["d"], h, c["seeds"], rng, kind="gaussian", scale=c["generic_scale"])
    P0 = 0.5 * np.eye(h) + 0.3 * rng.standard_normal((h, h))
    generic = simsiam(model, weight_decay=eta, predictor_lr=c["predictor_lr"], predictor=P0)
    run_g = sgd.simulate(generic, W0, lr=c["lr"], steps=steps, batch_size=c["batch_size"], seeds=c["seeds"],
                         rng=rng, record_every=every, manifold="euclidean", progress=False)
    ode_g = flows.integrate(generic, W0, run_g.t, manifold="euclidean", rtol=1e-8, atol=1e-10)
    progress.step()
    F_g = np.swapaxes(run_g.W, -1, -2) @ loss.M @ run_g.W
    angle_sgd = tp.eigen_alignment(run_g.state["predictor"], F_g)
    F_go = np.swapaxes(ode_g.W, -1, -2) @ loss.M @ ode_g.W
    angle_ode = tp.eigen_alignment(ode_g.state["predictor"], F_go)
    # paired per seed: SGD against the matrix ODE from the same generic start
    top_sgd = np.linalg.eigvalsh(F_g[:, -tail:])[..., -1]
    top_g = (top_sgd - np.linalg.eigvalsh(F_go[:, -tail:])[..., -1]).mean(axis=1)

    # 3. the threshold of the top mode, from the eta = 0 fixed point p = m / sigma on s = m p^2 / alpha
    star = float(tp.weight_decay_threshold(m[0], sigma[0]))
    alpha = c["predictor_lr"]
    p_start = m[0] / sigma[0]
    w_start = p_start / np.sqrt(alpha)
    t_steps, _ = _schedule(c["threshold_t_max"], 2, c["threshold_lr"])
    s_end = np.empty((factors.size, c["threshold_seeds"]))
    s_theory = np.empty(factors.size)
    for i, f in enumerate(factors):
        lo = simsiam(model, weight_decay=float(f * star), predictor_lr=alpha)
        st = tp.aligned_state(lo, [0], [w_start], [p_start])
        r = sgd.simulate(lo, st, lr=c["threshold_lr"], steps=t_steps, batch_size=c["batch_size"],
                         seeds=c["threshold_seeds"], rng=rng, record_every=t_steps, manifold="euclidean",
                         progress=False)
        s_end[i] = (np.swapaxes(r.W, -1, -2) @ lo.M @ r.W)[:, -1, 0, 0]
        theory = tp.eigenmode_trajectory(lo, [0], [w_start], [p_start], [0.0, c["threshold_t_max"]])
        s_theory[i] = theory.s[-1, 0]
        progress.step()
    progress.finish()
    s_critical = m[0] * (m[0] / (2 * sigma[0])) ** 2 / alpha  # s at the saddle-node, eta = eta*
    collapsed = s_end < 0.5 * s_critical
    below = np.where(factors < 1)[0]
    above = np.where(factors > 1)[0]
    # per seed: the largest factor that kept the mode and the smallest that lost it
    kept = np.array([factors[~collapsed[:, j]].max(initial=factors.min()) for j in range(s_end.shape[1])])
    lost = np.array([factors[collapsed[:, j]].min(initial=factors.max()) for j in range(s_end.shape[1])])
    crossing = Interval(float(np.median(0.5 * (kept + lost))), float(kept.min()), float(lost.max()),
                        f"bracket on the grid of eta/eta* over {s_end.shape[1]} seeds")
    s_plus_grid = tp.fixed_point_values(m[0], sigma[0], float(factors[below].max()) * star, alpha)["s+"][0]

    checks = [
        Check("matrix ODE against the eigenmode ODE from the aligned start: max |eigenvalue error| over t",
              exact(ode_error, "DOP853 at rtol 1e-10 against the mode ODE"), 1e-6, "<=",
              why="the aligned set is invariant, so both solve the same ODE; the bound is ten thousand "
                  "times the integrators' tolerance"),
    ]
    for j in range(h):
        checks.append(Check(
            f"SGD correlation eigenvalue s_{j + 1} (mean over the second half) against the eigenmode ODE",
            bootstrap(s_final[:, j], np.mean, rng=rng), float(s_tail_pred[j]), "within",
            tolerance=float(s_euler_err[j]), effect=float(s_tail_pred[j]), fraction=c["value_fraction"],
            why="tolerance: the Euler error at this lr (noise-free steps against the ODE); effect: the "
                "predicted value itself, which tells it from collapse (s = 0)"))
        checks.append(Check(
            f"SGD predictor eigenvalue p_{j + 1} (mean over the second half) against the eigenmode ODE",
            bootstrap(p_final[:, j], np.mean, rng=rng), float(p_tail_pred[j]), "within",
            tolerance=float(p_euler_err[j]), effect=float(p_tail_pred[j]), fraction=c["value_fraction"],
            why="tolerance: the Euler error at this lr (noise-free steps against the ODE); effect: the "
                "predicted value itself, which tells it from the trivial fixed point p = 0"))
    s_plus_top = float(tp.fixed_point_values(m[0], sigma[0], eta, alpha)["s+"][0])
    checks += [
        Check("final eigen-alignment angle from a generic start (rad), SGD",
              bootstrap(angle_sgd[:, -tail:].mean(axis=1), np.median, rng=rng), c["alignment_tol"], "<=",
              why="the eigenspaces of Wp and F align (`Tian et al. 2021`); a generic start begins "
                  f"at a median {float(np.median(angle_sgd[:, 0])):.3g} rad"),
        Check("top correlation eigenvalue from a generic start: SGD minus the matrix ODE (second half)",
              bootstrap(top_g, np.mean, rng=rng), 0.0, "within", effect=s_plus_top,
              fraction=c["value_fraction"],
              why="effect s_+, the stable value both approach: tells agreement from one of them collapsing"),
        Check("eta/eta* where SGD's top mode collapses", crossing, 1.0, "within", effect=1.0,
              fraction=c["crossing_fraction"],
              why="effect one: tells the derived threshold `m^2/(4 sigma)` from no threshold "
                  "(`eta* = 0`); the window is the grid bracket"),
        Check("largest final s above the threshold, relative to s at the saddle-node",
              exact(float(s_end[above].max() / s_critical), "largest over seeds and eta > eta*"),
              1e-3, "<=", why="above eta* the only fixed point is s = 0, approached exponentially"),
    ]
    data = {
        "t": run.t,
        "modes": {"m": m, "sigma": sigma},
        "aligned": {"p_sgd": p_sgd, "s_sgd": s_sgd, "p_ode": p_ode, "s_ode": s_ode, "p_pred": p_pred,
                    "s_pred": s_pred, "p_euler": p_eul[0], "s_euler": s_eul[0]},
        "generic": {"angle_sgd": angle_sgd, "angle_ode": angle_ode[0] if angle_ode.ndim > 1 else angle_ode},
        "threshold": {"eta_star": star, "factors": factors, "s_end": s_end, "s_theory": s_theory,
                      "s_critical": s_critical, "s_plus_below": s_plus_grid},
        "weight_decay": eta,
        "predictor_lr": alpha,
        "ode_error": ode_error,
        "sgd_steps": steps,
    }
    statement = (
        "SimSiam with a linear predictor (`Tian, Chen & Ganguli 2021`) on a model with mode eigenvalues "
        f"m = {np.round(m, 4).tolist()} of M and sigma = {np.round(sigma, 4).tolist()} of Sigma, "
        f"weight decay {eta:g}: from an aligned start SGD (lr {c['lr']:g}, batch {c['batch_size']}, "
        f"{c['seeds']} seeds), the matrix ODE and the derived eigenmode ODE agree on the eigenvalues of the "
        "predictor and of "
        "`F = W^T M W`; from a generic start their eigenspaces align; the top mode keeps `s -> s_+` for "
        f"weight decay below `eta* = m^2/(4 sigma)` = {star:.4g} and collapses above (SGD crosses between "
        f"{crossing.low:g} and {crossing.high:g} times eta*)."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def figure(data: dict[str, Any]) -> Figure:
    """Eigenvalues against t (aligned start), eigen-alignment (generic start), collapse against eta/eta*."""
    fig = Figure(figsize=(13.0, 4.0), layout="constrained")
    ax_e, ax_a, ax_t = fig.subplots(1, 3)
    t = np.asarray(data["t"])
    al = {k: np.asarray(v) for k, v in data["aligned"].items()}
    colors = ("C0", "C1", "C2", "C3")
    for j in range(al["s_pred"].shape[-1]):
        col = colors[j % len(colors)]
        for key, mark in (("s", "-"), ("p", ":")):
            sgd_vals = al[f"{key}_sgd"][..., j]
            ax_e.fill_between(t, np.quantile(sgd_vals, 0.1, axis=0), np.quantile(sgd_vals, 0.9, axis=0),
                              color=col, alpha=0.15, lw=0)
            ax_e.plot(t, np.median(sgd_vals, axis=0), mark, color=col, lw=1.0, alpha=0.8)
            ax_e.plot(t, al[f"{key}_ode"][..., j], mark, color="k", lw=0.8)
            ax_e.plot(t, al[f"{key}_pred"][..., j], "o", color=col, ms=2.5, mfc="none")
    ax_e.plot([], [], "-", color="gray", label="$s_j$ (eig. of $W^T M W$), SGD median, 10-90%")
    ax_e.plot([], [], ":", color="gray", label="$p_j$ (eig. of $W_p$), SGD median")
    ax_e.plot([], [], "-", color="k", lw=0.8, label="matrix ODE")
    ax_e.plot([], [], "o", color="gray", mfc="none", ms=3, label="eigenmode ODE")
    ax_e.set(xlabel="flow time t", ylabel="eigenvalue", title="Aligned start")
    ax_e.legend(fontsize=7)
    g = data["generic"]
    ang = np.asarray(g["angle_sgd"])
    for a in ang:
        ax_a.semilogy(t, np.maximum(a, 1e-12), color="C0", lw=0.6, alpha=0.5)
    ax_a.semilogy(t, np.maximum(np.asarray(g["angle_ode"]), 1e-12), "k", lw=1.2,
                  label="matrix ODE (first seed's start)")
    ax_a.plot([], [], color="C0", lw=0.6, label="SGD, per seed")
    ax_a.set(xlabel="flow time t", ylabel="largest angle between eigenspaces (rad)",
             title="Eigen-alignment of $W_p$ and $F$ (generic start)")
    ax_a.legend(fontsize=7)
    th = data["threshold"]
    f = np.asarray(th["factors"])
    s_end = np.asarray(th["s_end"])
    for j in range(s_end.shape[1]):
        ax_t.plot(f, s_end[:, j], "o", color="C0", ms=3, alpha=0.6,
                  label="SGD (per seed)" if j == 0 else None)
    ax_t.plot(f, np.asarray(th["s_theory"]), "k_", ms=14, mew=1.5, label="eigenmode ODE at the final time")
    grid = np.linspace(min(f.min(), 0.5), 1.0, 200)
    m, sig = data["modes"]["m"][0], data["modes"]["sigma"][0]
    # s_+- = m p_+-^2 / alpha, p_+- = (m +- sqrt(m^2 - 4 sigma eta)) / (2 sigma), along the grid of eta
    eta = grid * th["eta_star"]
    root = np.sqrt(np.maximum(m**2 - 4 * sig * eta, 0.0))
    for sign, style, label in ((1, "-", "stable $s_+$"), (-1, ":", "saddle $s_-$ (basin boundary)")):
        p = (m + sign * root) / (2 * sig)
        ax_t.plot(grid, m * p**2 / data["predictor_lr"], style, color="k", lw=1.0, label=label)
    ax_t.axvline(1.0, color="gray", ls="--", lw=0.8, label=r"$\eta^* = m^2/(4\sigma)$")
    ax_t.set(xlabel=r"weight decay $\eta / \eta^*$", ylabel="final $s$ of the top mode",
             title=f"Collapse above the threshold ($\\eta^*$ = {th['eta_star']:.3g})",
             xlim=(grid[0] - 0.05, None))
    ax_t.legend(fontsize=7)
    return fig
