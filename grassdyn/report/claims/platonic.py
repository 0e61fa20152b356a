r"""Claim: below rho*, every SSL loss and optimiser learns the content subspace; above it they disagree.

Each loss of :mod:`grassdyn.ssl` is trained with SGD and with Adam
(:func:`grassdyn.sgd.simulate`) from the same starts (one Haar frame per seed;
scaled by ``init_scale`` on the unconstrained model), on the data model of the
report at ``rho`` below and above ``rho* = min(gc) / max(gs)``; the learned
subspaces are compared through principal angles (geodesic distance), with each
other and with the content subspace.

**Population optima** (derived for the model's moments ``C = sym E[x x+^T] -
mu mu^T``, ``Sigma``, ``Cov``, ``D = E[(x - x+)(x - x+)^T]``; with ``mu = 0``
all are diagonal in the basis of the mixing matrix, so each loss picks ``h``
latent directions by a score):

- alignment, contrastive (Grassmannian, quadratic): the top-``h``
  eigenspace of ``C`` (score ``gc``, ``rho gs``): the content iff ``rho < rho*``;
- spectral contrastive and InfoNCE with the dot similarity (unconstrained;
  InfoNCE's infinite-negative population, for ``mu = 0`` as in the report's
  model): stationary points satisfy
  ``C W = Sigma W S`` up to scale, so ``span W = Sigma^{-1/2} x`` (top-``h``
  eigenspace of ``Sigma^{-1/2} C Sigma^{-1/2}``); score ``gc/(gc + s^2)``,
  ``rho gs/(gs + s^2)``: the content iff ``min gc/(gc + s^2) > rho max gs/(gs + s^2)``,
  a threshold near 1 for small noise;
- VICReg (unconstrained): for large variance and covariance weights, the
  invariance ``tr(W^T D W)`` is minimised under ``W^T Cov W = gamma^2 I``: the
  bottom-``h`` generalised eigenspace of ``(D, Cov)``; score (lower is better)
  ``2 s^2/(gc + s^2)``, ``2((1 - rho) gs + s^2)/(gs + s^2)``: again the content
  up to a threshold near 1;
- Barlow Twins (unconstrained): its minimisers are every ``W`` with
  ``W^T Gamma W = I``, a set that contains non-content subspaces: the
  population optimum is *not* the content subspace. From a small start the
  stepwise dynamics (claim ``stepwise``) pick the top-``h`` eigenspace of
  ``Gamma``: its implicit bias, reported but not checked below ``rho*``.

- SimSiam and BYOL (:mod:`grassdyn.ssl.predictor`; not gradient flows, so the
  "optimum" is the stable non-collapsed fixed point of their field). With
  ``mu = 0``, ``Sigma = E[x x^T]`` and ``M = sym E[x x+^T]`` commute; in their
  common eigenbasis (the latent directions: content ``m = gc``,
  ``sigma = gc + s^2``; style ``m = rho gs``, ``sigma = gs + s^2``; noise
  ``m = 0``, ``sigma = s^2``) an aligned state ``W = U_S diag(w)``,
  ``Wp = diag(p)`` decouples into one eigenmode ODE per selected direction
  (:func:`grassdyn.symbolic.eigenmode_ode`). A direction *survives* weight
  decay ``eta`` iff ``eta < m^2 / (4 sigma)``
  (:func:`grassdyn.symbolic.weight_decay_threshold`); then its stable
  non-trivial point is ``p+ = (m + sqrt(m^2 - 4 eta sigma)) / (2 sigma)``,
  ``w^2 = p+^2 / alpha`` (the trivial point ``w = p = 0`` is stable too:
  collapse, :func:`grassdyn.symbolic.fixed_points`). The non-collapsed fixed
  point selecting ``h`` surviving directions ``S`` is a fixed point for every
  ``S``; it is stable transversally iff every other direction ``k`` shrinks
  under the predictor of every selected ``j``:
  ``g_k(p_j) = m_k p_j - sigma_k p_j^2 - eta < 0`` (a perturbation
  ``W += u_k delta^T`` leaves ``W^T Sigma W``, ``W^T M W`` and so ``Wp``
  unchanged to first order, and moves as ``dot delta = g_k(p_j) delta``;
  with BYOL's target ``a`` the pair ``(delta, delta_a)`` has trace
  ``-(sigma_k p_j^2 + eta + beta) < 0`` and determinant ``-beta g_k(p_j)``:
  the same condition for every EMA rate ``beta``). :func:`predictor_optima`
  enumerates the ``S`` that pass. Within ``span U_S`` the columns and the
  predictor's off-diagonal entries mix; that block is not derived here but
  checked in the tests through the Jacobian of the field (its only zero
  eigenvalues are the ``h(h-1)/2`` of the orbit ``W R``, ``R^T Wp R``). Since ``g_j(p_j) = 0``,
  ``g_k(p_j) = p_j ((m_k - m_j) - (sigma_k - sigma_j) p_j)``; for a content
  ``j`` (``p_j < m_j / sigma_j < 1``) and a style ``k`` this is
  ``p_j (gs (rho - p_j) - gc (1 - p_j)) < 0`` whenever ``rho gs < gc``, and for a
  noise ``k`` it is ``-gc p_j (1 - p_j) < 0``: **below rho* the content
  fixed point is stable for every eta below the content thresholds**, and
  when ``eta`` also exceeds every style threshold ``(rho gs)^2 / (4 (gs + s^2))``
  (as at the report's ``predictor_decay_fraction`` and ``rho_below``) it is
  the only non-collapsed fixed point: the population optimum is the content.
  Above rho* style directions survive too, and which ``S`` are stable is
  decided by ``g_k``, as for the normalised losses (the predictor ``p ~ m /
  sigma`` whitens each direction): at the report's model only the content
  passes. Weight decay is set to ``predictor_decay_fraction`` times the
  smallest content threshold ``min gc^2 / (4 (gc + s^2))``. The starts are the
  same Haar frames at scale ``predictor_init_scale`` with ``Wp = I``, not the
  small start of the other unconstrained losses: near ``W = 0`` the field is
  ``dW/dt ~ -(Sigma - M + eta) W`` (``Wp = I``), which collapses.
  :mod:`grassdyn.dynamics` has no Adam for these state-carrying losses, so
  SimSiam and BYOL are trained with SGD only (labels ``simsiam sgd``,
  ``byol sgd``), at their own learning rate ``predictor_lr`` (BYOL's target
  ``Wa <- ema Wa + (1 - ema) W`` per step, ``ema = byol_ema``).

So below ``rho*`` all optima coincide with the content; above it the
quadratic losses and Barlow Twins take a style direction while the
normalised losses (spectral contrastive, InfoNCE, VICReg) and, at the
report's weight decay, SimSiam and BYOL keep the content:
the "Platonic" agreement holds only below ``rho*``. Barlow Twins is reported,
not checked: under SGD the O(1/B) bias of its minibatch loss keeps ``C_cc``
below ``I`` (claim ``stepwise``), so the modes it has not learned keep growing
slowly and its subspace drifts from the implicit-bias one. A learned subspace counts
as at a predicted one when its median distance over seeds is below ``pi/4``,
half-way to a subspace that swapped one direction (distance ``pi/2``), as in
the claim ``identifiability``.

Also checked: InfoNCE's high-temperature limit (:mod:`grassdyn.ssl.nce`),
``tau grad L_tau - 2 grad L_contrastive = O(1/tau)``, as the fitted order of the
in-batch estimator's remainder on one sample of pairs.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import scipy.linalg
from matplotlib.figure import Figure

from grassdyn import grassmann, sgd, ssl
from grassdyn import theory_predictor as tp
from grassdyn.data import AugmentationModel
from grassdyn.report.checks import Check, bootstrap, slope_interval
from grassdyn.report.claims._base import ClaimResult, build_model, rng_for
from grassdyn.report.progress import Progress

NAME = "platonic"
TITLE = "Do different SSL losses learn the same subspace?"
STREAM = 13
#: Half-way between a subspace and one that swapped a direction for an orthogonal one.
THRESHOLD = math.pi / 4
#: The losses, the manifold each is trained on, and whether its population optimum is the content
#: subspace below rho* (Barlow Twins: no, its minimisers are not unique).
LOSSES = (
    ("alignment", "grassmann", True),
    ("contrastive", "grassmann", True),
    ("spectral_contrastive", "euclidean", True),
    ("info_nce", "euclidean", True),
    ("barlow_twins", "euclidean", False),
    ("vicreg", "euclidean", True),
)
OPTIMIZERS = ("sgd", "adam")
#: SimSiam and BYOL (:mod:`grassdyn.ssl.predictor`): unconstrained, SGD only (:mod:`grassdyn.dynamics` has no
#: Adam for a state-carrying loss); whether their optimum is the content is derived at run time.
PREDICTOR_METHODS = ("simsiam", "byol")
#: VICReg's invariance weight (25) makes its flow stiff: its SGD learning rate is this fraction of ``lr``
#: (Adam's steps are bounded by its learning rate and need no such factor).
VICREG_LR_FACTOR = 0.25
#: Temperatures of the InfoNCE order fit (the asymptotic range of the 1/tau remainder).
TEMPERATURES = (50.0, 100.0, 200.0, 400.0, 800.0)


def make_loss(name: str, model: AugmentationModel, temperature: float) -> Any:
    """The loss ``name`` on ``model`` (InfoNCE at ``temperature``, dot similarity)."""
    if name == "info_nce":
        return ssl.info_nce(model, temperature=temperature)
    return getattr(ssl, name)(model)


def content_weight_decay(cfg: dict[str, Any]) -> float:
    """SimSiam/BYOL's ``eta``: ``predictor_decay_fraction`` times the smallest content threshold.

    A content direction has ``m = gc``, ``sigma = gc + noise^2`` whatever ``rho``
    (module docstring), so its threshold ``m^2 / (4 sigma)`` is the same on both sides of rho*.
    """
    gc = np.asarray(cfg["model"]["content"], dtype=float)
    eta_star = tp.weight_decay_threshold(gc, gc + cfg["model"]["noise"] ** 2)
    return float(cfg["platonic"]["predictor_decay_fraction"] * np.min(eta_star))


def make_predictor_loss(name: str, model: AugmentationModel, cfg: dict[str, Any]) -> Any:
    """SimSiam or BYOL on ``model`` at the claim's weight decay (predictor ``I``, ratio ``alpha = 1``)."""
    c = cfg["platonic"]
    eta = content_weight_decay(cfg)
    if name == "simsiam":
        return ssl.simsiam(model, weight_decay=eta)
    return ssl.byol(model, weight_decay=eta, ema=c["byol_ema"], lr=c["predictor_lr"])


def predictor_optima(loss: Any, h: int) -> list[np.ndarray]:
    """Frames ``(d, h)`` of every stable non-collapsed fixed point of SimSiam/BYOL (module docstring).

    In the common eigenbasis ``U`` of ``Sigma`` and ``M``
    (:func:`grassdyn.theory_predictor.common_eigenbasis`), the ``h``-subsets
    ``S`` of surviving directions (``eta < m^2 / (4 sigma)``) with
    ``g_k(p+_j) = m_k p_j - sigma_k p_j^2 - eta < 0`` for every ``j`` in ``S`` and
    ``k`` outside it. The condition does not involve ``alpha`` or BYOL's ``beta``.
    """
    U, m, sigma = tp.common_eigenbasis(loss)
    eta = loss.weight_decay
    alive = np.flatnonzero(m**2 > 4.0 * eta * sigma)
    p = tp.fixed_point_values(m[alive], sigma[alive], eta, loss.predictor_lr)["p+"]
    p_of = dict(zip(alive.tolist(), p.tolist(), strict=True))
    frames = []
    for S in itertools.combinations(alive.tolist(), h):
        pj = np.array([p_of[j] for j in S])
        others = np.setdiff1d(np.arange(m.size), S)
        growth = m[others, None] * pj - sigma[others, None] * pj**2 - eta  # (k, j)
        if np.all(growth < 0.0):
            frames.append(U[:, list(S)])
    return frames


def _top(M: np.ndarray, h: int) -> np.ndarray:
    return np.linalg.eigh(M)[1][:, ::-1][:, :h]


def predicted_optimum(name: str, model: AugmentationModel, h: int) -> np.ndarray:
    """Orthonormal frame of the subspace the loss's population optimum (or, for Barlow Twins, the
    small-start implicit bias) selects; see the module docstring."""
    mm = np.outer(model.mean, model.mean)
    C = 0.5 * (model.cross_moment + model.cross_moment.T) - mm
    Sigma = model.second_moment
    Cov = Sigma - mm
    if name in ("alignment", "barlow_twins"):
        return _top(0.5 * (model.cross_moment + model.cross_moment.T), h)
    if name == "contrastive":
        return _top(C, h)
    if name in ("spectral_contrastive", "info_nce"):
        M = C + mm if name == "spectral_contrastive" else C
        ev, V = np.linalg.eigh(Sigma)
        isqrt = (V / np.sqrt(ev)) @ V.T
        return np.linalg.qr(isqrt @ _top(isqrt @ M @ isqrt, h))[0]
    if name == "vicreg":
        D = 2.0 * Sigma - model.cross_moment - model.cross_moment.T
        return np.linalg.qr(scipy.linalg.eigh(D, Cov)[1][:, :h])[0]
    raise ValueError(f"unknown loss {name!r}")


def _span(W: np.ndarray) -> np.ndarray:
    """Orthonormal frames of the column spans (unconstrained iterates are not orthonormal)."""
    return np.linalg.qr(W)[0]


def method_labels() -> list[str]:
    """``"<loss> <optimizer>"``: the six losses with each optimiser, then SimSiam and BYOL with SGD."""
    return [f"{name} {opt}" for name, _, _ in LOSSES for opt in OPTIMIZERS] + [
        f"{name} sgd" for name in PREDICTOR_METHODS]


def _train(cfg: dict[str, Any], model: AugmentationModel, frames: np.ndarray,
           rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Final learned frames ``(methods, seeds, d, h)`` in the order of :func:`method_labels`, and each
    final ``W``'s condition ``s_min / s_max`` ``(methods, seeds)`` (near 0: a collapsed direction)."""
    c = cfg["platonic"]
    out, cond = [], []

    def keep(W: np.ndarray) -> None:
        s = np.linalg.svd(W, compute_uv=False)
        cond.append(s[..., -1] / s[..., 0])
        out.append(_span(W))

    for name, manifold, _ in LOSSES:
        loss = make_loss(name, model, c["temperature"])
        for opt in OPTIMIZERS:
            if opt == "adam":
                lr = c["adam_lr_grassmann"] if manifold == "grassmann" else c["adam_lr"]
            else:
                lr = c["lr"] * (VICREG_LR_FACTOR if name == "vicreg" else 1.0)
            W0 = frames if manifold == "grassmann" else c["init_scale"] * frames
            # the same minibatch streams for every loss: differences come from the losses, not the draws
            stream = np.random.SeedSequence([cfg["seed"], STREAM, rng_seed])
            run = sgd.simulate(loss, W0, lr=lr, steps=c["steps"], batch_size=c["batch_size"],
                               seeds=frames.shape[0], rng=stream, manifold=manifold, optimizer=opt,
                               record_every=c["steps"], progress=False)
            keep(run.W[:, -1])
    for name in PREDICTOR_METHODS:
        stream = np.random.SeedSequence([cfg["seed"], STREAM, rng_seed])
        run = sgd.simulate(make_predictor_loss(name, model, cfg), c["predictor_init_scale"] * frames,
                           lr=c["predictor_lr"], steps=c["steps"], batch_size=c["batch_size"],
                           seeds=frames.shape[0], rng=stream, manifold="euclidean", record_every=c["steps"],
                           progress=False)
        keep(run.W[:, -1])
    return np.stack(out), np.stack(cond)


def temperature_order(model: AugmentationModel, h: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Remainders ``||tau g_tau - 2 g_contrastive||`` of the in-batch estimator on one minibatch."""
    batch = model.sample_pairs(64, rng)
    W = rng.standard_normal((model.d, h)) * 0.3
    limit = 2.0 * ssl.contrastive(model).batch_egrad(W, batch)
    taus = np.array(TEMPERATURES)
    rem = np.array([np.linalg.norm(t * ssl.info_nce(model, t).batch_egrad(W, batch) - limit) for t in taus])
    return taus, rem


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["platonic"]
    rng = rng_for(cfg, STREAM)
    h = len(cfg["model"]["content"])
    rhos = (c["rho_below"], c["rho_above"])
    progress.stage(TITLE, 2)
    d = cfg["model"]["d"]
    frames = grassmann.random_point(d, h, rng, batch=(c["seeds"],))
    labels = method_labels()
    sides = {}
    # whether each method's population optimum is unique (the predictor methods: derived per side)
    unique = {}
    for j, rho in enumerate(rhos):
        model = build_model(cfg, rho)
        learned, condition = _train(cfg, model, frames, j)  # (methods, seeds, d, h), (methods, seeds)
        content = model.content_basis
        pairwise = grassmann.distance(learned[:, None], learned[None, :])  # (m, m, seeds)
        to_content = grassmann.distance(learned, content)  # (m, seeds)
        optima = [predicted_optimum(name, model, h) for name, _, _ in LOSSES for _ in OPTIMIZERS]
        unique[j] = [u for _, _, u in LOSSES for _ in OPTIMIZERS]
        stable = []
        for name in PREDICTOR_METHODS:
            found = predictor_optima(make_predictor_loss(name, model, cfg), h)
            stable.append(len(found))
            # none or several stable points: reported against the top-h of M, not checked
            M = 0.5 * (model.cross_moment + model.cross_moment.T)
            optima.append(found[0] if len(found) == 1 else _top(M, h))
            unique[j].append(len(found) == 1)
        optima = np.stack(optima)
        to_optimum = grassmann.distance(learned, optima[:, None])  # (m, seeds)
        sides[j] = {
            "rho": rho,
            "pairwise": np.median(pairwise, axis=-1),
            "to_content": to_content,
            "to_optimum": to_optimum,
            "optimum_to_content": grassmann.distance(optima, content),
            "optimum_unique": unique[j],
            "predictor_stable_points": stable,
            "condition": condition,
        }
        progress.step()
    progress.finish()
    rho_star = min(cfg["model"]["content"]) / max(cfg["model"]["style"])
    brng = np.random.default_rng([cfg["seed"], STREAM, 9])
    checks = []
    below = sides[0]
    for m, label in enumerate(labels):
        if unique[0][m] and below["optimum_to_content"][m] < 1e-6:
            checks.append(Check(
                f"rho = {rhos[0]:g} < rho*: median distance of {label} to the content subspace",
                bootstrap(below["to_content"][m], np.median, rng=brng), THRESHOLD, "<=",
                why="its population optimum is the content subspace; pi/4 is half-way to a subspace with one "
                    "style direction"))
    above = sides[1]
    own = [m for m in range(len(labels)) if unique[1][m]]
    checks.append(Check(
        f"rho = {rhos[1]:g} > rho*: largest median distance of a method to its own population optimum "
        f"({', '.join(labels[m] for m in own)})",
        bootstrap(above["to_optimum"][own].T, _largest_median, rng=brng), THRESHOLD, "<=",
        why="each loss's derived optimum (module docstring); pi/4 is half-way to a subspace with one "
            "direction swapped"))
    taus, rem = temperature_order(build_model(cfg, rhos[0]), h, rng)
    checks.append(Check(
        "order in 1/tau of InfoNCE's remainder tau grad L_tau - 2 grad L_contrastive (log-log slope in tau)",
        slope_interval(np.log(taus), np.log(rem)), -1.0, "within", tolerance=0.01, effect=1.0, fraction=0.5,
        why="tells the derived order 1/tau from 1/tau^2 (slope -2) or no convergence (slope 0); the "
            f"tolerance is the next term of the expansion, which bends the local slope by O(1/tau) at "
            f"tau >= {TEMPERATURES[0]:g}"))
    bt = [labels.index(f"barlow_twins {opt}") for opt in OPTIMIZERS]
    agree = [labels[m] for m in range(len(labels))
             if np.median(above["to_content"][m]) < THRESHOLD]
    data = {
        "labels": labels,
        "rhos": list(rhos),
        "rho_star": rho_star,
        "threshold": THRESHOLD,
        "below": sides[0],
        "above": sides[1],
        "temperatures": taus,
        "temperature_remainder": rem,
    }
    pm = [labels.index(f"{name} sgd") for name in PREDICTOR_METHODS]

    def _optimum(side: dict[str, Any], m: int) -> str:
        if not side["optimum_unique"][m]:
            count = side["predictor_stable_points"][m - pm[0]]
            return f"{count} stable non-collapsed fixed points (not checked)"
        return "the content" if side["optimum_to_content"][m] < 1e-6 else "not the content"

    statement = (
        f"Alignment, contrastive, spectral contrastive, InfoNCE (dot, tau = {c['temperature']:g}), Barlow "
        f"Twins and VICReg, each trained with SGD and Adam from the same {c['seeds']} starts (h = {h}), and "
        "SimSiam and BYOL with SGD only (grassdyn.dynamics has no Adam for a loss that carries a predictor "
        f"and a target) at weight decay {content_weight_decay(cfg):.3g}, a fraction "
        f"{c['predictor_decay_fraction']:g} of the smallest content threshold. "
        "Their derived population optimum (the stable non-collapsed fixed point, module docstring) is "
        f"{_optimum(below, pm[0])} below rho* and {_optimum(above, pm[0])} above it (SimSiam; BYOL: "
        f"{_optimum(below, pm[1])}, {_optimum(above, pm[1])}). "
        f"Below rho* = {rho_star:.3g} (rho = {rhos[0]:g}) every loss whose population optimum is the content "
        "subspace, with either optimiser, lands within pi/4 of it. Barlow Twins, whose "
        "minimisers are not unique (reported, not checked), ends at median distances "
        f"{np.median(below['to_content'][bt[0]]):.2f} (SGD) and "
        f"{np.median(below['to_content'][bt[1]]):.2f} (Adam) from it. Above "
        f"rho* (rho = {rhos[1]:g}) the methods disagree: only {', '.join(agree) or 'none'} keep the content, "
        "as derived (module docstring). Median distances to the content below and above rho*: SimSiam "
        f"{np.median(below['to_content'][pm[0]]):.3f}, {np.median(above['to_content'][pm[0]]):.3f}; BYOL "
        f"{np.median(below['to_content'][pm[1]]):.3f}, {np.median(above['to_content'][pm[1]]):.3f}."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def _largest_median(x: np.ndarray) -> float:
    return float(np.max(np.median(x, axis=0)))


def figure(data: dict[str, Any]) -> Figure:
    """Principal-angle distances between the learned subspaces and the content, below and above rho*."""
    labels = [*data["labels"], "content"]
    fig = Figure(figsize=(13.5, 7.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, rho in zip(axes, ("below", "above"), data["rhos"], strict=True):
        side = data[key]
        pair = np.asarray(side["pairwise"])
        content = np.median(np.asarray(side["to_content"]), axis=-1)
        n = pair.shape[0]
        M = np.zeros((n + 1, n + 1))
        M[:n, :n] = pair
        M[:n, n] = M[n, :n] = content
        im = ax.imshow(M, vmin=0.0, vmax=math.pi / 2, cmap="viridis")
        ax.set_xticks(range(n + 1), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n + 1), labels, fontsize=7)
        for i in range(n + 1):
            for j in range(n + 1):
                ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=5,
                        color="w" if M[i, j] < 0.8 else "k")
        side_txt = "<" if key == "below" else ">"
        ax.set_title(f"rho = {rho:g} {side_txt} rho* = {data['rho_star']:.3g}: median distance (rad)")
    fig.suptitle("SimSiam and BYOL: SGD only (no Adam for a state-carrying loss)", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.7, label="geodesic distance ||theta||_2")
    return fig
