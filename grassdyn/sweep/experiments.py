r"""The shipped experiments: SGD against the flow, finite samples, identifiability, the NTK change.

Each is one cell of a sweep: keyword parameters and ``rng`` (the cell's
``SeedSequence``) in, a few named scalars out, computed with the same
functions the report uses (:mod:`grassdyn.compare`, :mod:`grassdyn.flows`,
:mod:`grassdyn.sgd`, :mod:`grassdyn.width`). Conventions (docs/conventions.md): the content/style
data model :class:`grassdyn.data.AugmentationModel` (content variances
``gc``, style ``gs``, the augmentation keeps a fraction ``rho`` of the
style), quadratic SSL losses ``L = -1/2 tr(W^T C W)``, Oja's flow in
gradient-flow time ``t = steps x lr`` (momentum: ``lr / (1 - beta)`` per
step), geodesic distances ``||theta||_2`` over principal angles (rad). The
data model's mixing matrix is drawn from ``model_seed``, a parameter, so
every cell of a sweep shares one model; minibatches, data sets and initial
frames come from the cell's ``rng``.

Theory drawn on the plots: the deviation of minibatch SGD from the flow
scales like ``sqrt(lr / B)`` (the stationary spread of a linearised SGD,
Mandt, Hoffman & Blei 2017; :func:`grassdyn.compare.predict_fluctuation`),
the finite-sample error like ``n^{-1/2}`` (Davis–Kahan), and the content
subspace is the contrastive generator's top-k eigenspace exactly when
``rho < rho* = min(gc) / max(gs)`` (von Kügelgen et al., NeurIPS 2021),
and the relative change of the empirical NTK of a two-layer network trained
by full-batch gradient descent falls like ``m^{-1/2}`` in the width for
supervised training (lazy training: Jacot, Gabriel & Hongler 2018; Lee et
al. 2019), the rate against which the report's ``ntk`` claim measures the
SSL losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from grassdyn import compare, flows, grassmann, sgd, ssl, width
from grassdyn._validation import as_int, as_real, check_choice
from grassdyn.data import AugmentationModel
from grassdyn.sweep.registry import experiment

__all__ = ["finite_samples", "identifiability", "ntk_change", "sgd_deviation"]

#: The quadratic SSL losses (those with a closed-form flow).
LOSSES = {"contrastive": ssl.contrastive, "alignment": ssl.alignment}
#: The report's default data model (grassdyn/report/config.py): rho* = 2 / 4 = 0.5.
D, CONTENT, STYLE, RHO, NOISE = 16, (5.0, 3.0, 2.0), (4.0, 2.0, 1.0), 0.25, 0.2


def _model(d: int, content: Sequence[float], style: Sequence[float], rho: float, noise: float,
           model_seed: int) -> AugmentationModel:
    return AugmentationModel(d, content, style, rho, noise, rng=as_int(model_seed, "model_seed", minimum=0))


def _check_model(p: Mapping[str, Any]) -> None:
    as_real(p["rho"], "rho", low=0.0, high=1.0)
    check_choice(p["loss"], "loss", tuple(LOSSES))
    AugmentationModel(p["d"], p["content"], p["style"], p["rho"], p["noise"], rng=0)


def rho_star(parameters: Mapping[str, Any]) -> float:
    """``min(content) / max(style)``: the augmentation strength where identifiability is lost."""
    return float(min(parameters["content"]) / max(parameters["style"]))


# -- SGD against the flow ------------------------------------------------------------------------
def _check_sgd_deviation(p: Mapping[str, Any]) -> None:
    _check_model(p)
    as_real(p["lr"], "lr", low=0.0, low_open=True)
    as_int(p["batch_size"], "batch_size", minimum=1)
    check_choice(p["optimizer"], "optimizer", sgd.OPTIMIZERS)
    h = as_int(p["h"], "h", minimum=1)
    if h >= p["d"]:
        raise ValueError(f"h must be < d = {p['d']}, got {h}")
    as_real(p["t_max"], "t_max", low=0.0, low_open=True)
    as_int(p["n_times"], "n_times", minimum=2)


def _sqrt_lr_law(parameters: Mapping[str, Any], x: str, y: str | None) -> dict[str, tuple[Any, ...]]:
    if x == "lr" and y == "batch_size":
        return {"lr / B constant: deviation ∝ (lr/B)^(1/2)": ("ratio", "lr", "batch_size")}
    if x == "lr":
        return {"∝ lr^(1/2)": ("power", "lr", 0.5)}
    if x == "batch_size":
        return {"∝ B^(-1/2)": ("power", "batch_size", -0.5)}
    return {}


@experiment(
    "sgd_deviation",
    outputs=("max_deviation", "stationary_rms"),
    plots=(("max_deviation", "lr", "batch_size"), ("stationary_rms", "lr", "batch_size")),
    theory=_sqrt_lr_law,
    validate=_check_sgd_deviation,
)
def sgd_deviation(
    *,
    lr: float,
    batch_size: int = 32,
    optimizer: str = "sgd",
    loss: str = "contrastive",
    h: int = 3,
    t_max: float = 8.0,
    n_times: int = 41,
    d: int = D,
    content: Sequence[float] = CONTENT,
    style: Sequence[float] = STYLE,
    rho: float = RHO,
    noise: float = NOISE,
    model_seed: int = 0,
    rng: np.random.SeedSequence,
) -> dict[str, float]:
    """Online minibatch SGD against the closed-form flow from the same random start.

    Returns
    -------
    dict
        ``max_deviation``: the largest distance, over the recorded times in
        ``[0, t_max]``, between SGD and Oja's flow at the same time
        (:func:`grassdyn.compare.deviation`); ``stationary_rms``: the
        root-mean-square distance to the limit over the second half of the
        run (:func:`grassdyn.compare.stationary_sq_distance`; stationary once
        ``t_max`` is several times ``1 / (lam_h - lam_{h+1})``).
    """
    start, stream = rng.spawn(2)
    loss_fn = LOSSES[loss](_model(d, content, style, rho, noise, model_seed))
    W0 = grassmann.random_point(d, h, np.random.default_rng(start))
    per_step = lr / (1.0 - 0.9) if optimizer == "momentum" else lr
    steps = max(1, round(t_max / per_step))
    run = sgd.simulate(loss_fn, W0, lr=lr, steps=steps, batch_size=batch_size, rng=[stream],
                       record_every=max(1, steps // (n_times - 1)), optimizer=optimizer, progress=False)
    limit = flows.limit(loss_fn.C, h)
    return {
        "max_deviation": float(compare.deviation(run, loss_fn.C).per_seed.max()),
        "stationary_rms": float(np.sqrt(compare.stationary_sq_distance(run, limit).mean_sq_distance)),
    }


# -- finite samples ------------------------------------------------------------------------------
def _check_finite(p: Mapping[str, Any]) -> None:
    _check_model(p)
    as_int(p["n"], "n", minimum=2)
    if p["h"] is not None:
        as_int(p["h"], "h", minimum=1)


def _finite_theory(parameters: Mapping[str, Any], x: str, y: str | None) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    if x == "n":
        out["∝ n^(-1/2)"] = ("power", "n", -0.5)
    if "rho" in (x, y):
        out[f"rho* = {rho_star(parameters):.3g}"] = ("threshold", "rho", rho_star(parameters))
    return out


@experiment(
    "finite_samples",
    outputs=("to_population", "to_content", "sin_fro", "davis_kahan"),
    plots=(("to_population", "n", "rho"), ("to_content", "n", "rho")),
    theory=_finite_theory,
    validate=_check_finite,
)
def finite_samples(
    *,
    n: int,
    rho: float = RHO,
    loss: str = "contrastive",
    h: int | None = None,
    d: int = D,
    content: Sequence[float] = CONTENT,
    style: Sequence[float] = STYLE,
    noise: float = NOISE,
    model_seed: int = 0,
    rng: np.random.SeedSequence,
) -> dict[str, float]:
    """The limit of the flow on ``n`` sampled pairs against the population limit and the content.

    Returns
    -------
    dict
        ``to_population``: geodesic distance between the top-h eigenspaces of
        the empirical and the population generator
        (:func:`grassdyn.compare.finite_sample_effect`, ``h`` = number of
        content factors by default); ``to_content``: distance of the empirical
        limit to the content subspace (:func:`grassdyn.compare.identifiability`);
        ``sin_fro``: ``||sin Theta||_F`` to the population limit;
        ``davis_kahan``: its bound by Yu, Wang & Samworth (2015).
        A cell at ``rho = rho*`` (no population gap) fails.
    """
    model = _model(d, content, style, rho, noise, model_seed)
    h = model.k if h is None else h
    empirical = LOSSES[loss](model.sample_pairs(n, rng=np.random.default_rng(rng)))
    effect = compare.finite_sample_effect(empirical, LOSSES[loss](model), h)
    return {
        "to_population": effect.distance,
        "to_content": float(compare.identifiability(effect.empirical_limit, model).distance),
        "sin_fro": effect.sin_fro,
        "davis_kahan": effect.yu_wang_samworth,
    }


# -- identifiability -----------------------------------------------------------------------------
def _check_identifiability(p: Mapping[str, Any]) -> None:
    _check_model(p)
    n = as_int(p["n"], "n", minimum=0)
    B = as_int(p["batch_size"], "batch_size", minimum=1)
    if 0 < n < B:
        raise ValueError(f"batch_size = {B} must be <= n = {n} (n = 0: online, fresh pairs every step)")
    as_real(p["lr"], "lr", low=0.0, low_open=True)
    as_int(p["steps"], "steps", minimum=1)


def _identifiability_theory(
    parameters: Mapping[str, Any], x: str, y: str | None
) -> dict[str, tuple[Any, ...]]:
    if "rho" in (x, y):
        return {f"rho* = {rho_star(parameters):.3g}": ("threshold", "rho", rho_star(parameters))}
    return {}


@experiment(
    "identifiability",
    outputs=("distance", "flow_distance"),
    plots=(("distance", "rho", "n"), ("distance", "rho", "batch_size"), ("flow_distance", "rho", "n")),
    theory=_identifiability_theory,
    validate=_check_identifiability,
)
def identifiability(
    *,
    rho: float,
    n: int = 0,
    batch_size: int = 64,
    loss: str = "contrastive",
    lr: float = 0.02,
    steps: int = 1000,
    d: int = D,
    content: Sequence[float] = CONTENT,
    style: Sequence[float] = STYLE,
    noise: float = NOISE,
    model_seed: int = 0,
    rng: np.random.SeedSequence,
) -> dict[str, float]:
    """Distance to the content subspace of SGD (h = k) after ``steps`` steps, and of the flow at that time.

    ``n = 0``: online SGD (fresh pairs every step, the population flow);
    ``n > 0``: SGD on one data set of ``n`` pairs (the empirical flow).

    Returns
    -------
    dict
        ``distance``: SGD's final distance to the content subspace;
        ``flow_distance``: that of the closed-form flow of the same generator
        (population or empirical) from the same start at ``t = steps x lr``.
    """
    start, data, stream = rng.spawn(3)
    model = _model(d, content, style, rho, noise, model_seed)
    source = model if n == 0 else model.sample_pairs(n, rng=np.random.default_rng(data))
    loss_fn = LOSSES[loss](source)
    W0 = grassmann.random_point(d, model.k, np.random.default_rng(start))
    run = sgd.simulate(loss_fn, W0, lr=lr, steps=steps, batch_size=batch_size, rng=[stream],
                       record_every=steps, progress=False)
    flow_end = flows.grassmann_closed_form(loss_fn.C, W0, [steps * lr]).final
    return {
        "distance": float(compare.identifiability(run.final, model).distance[0]),
        "flow_distance": float(compare.identifiability(flow_end, model).distance),
    }


# -- the NTK change against the width ----------------------------------------------------------
def _check_ntk(p: Mapping[str, Any]) -> None:
    as_real(p["rho"], "rho", low=0.0, high=1.0)
    model = AugmentationModel(p["d"], p["content"], p["style"], p["rho"], p["noise"], rng=0)
    loss = check_choice(p["loss"], "loss", width.OBJECTIVES)
    output = check_choice(p["output"], "output", width.OUTPUTS)
    check_choice(p["activation"], "activation", width.ACTIVATIONS)
    h = as_int(p["h"], "h", minimum=1)
    if h > model.k:
        raise ValueError(f"h must be <= the {model.k} content factors (the supervised targets), got {h}")
    m = as_int(p["m"], "m", minimum=1)
    if h > m:
        raise ValueError(f"m must be >= h = {h}, got {m}")
    as_int(p["n"], "n", minimum=2)
    as_real(p["lr"], "lr", low=0.0, low_open=True)
    steps = as_int(p["steps"], "steps", minimum=1)
    n_times = as_int(p["n_times"], "n_times", minimum=2)
    if steps % (n_times - 1):
        raise ValueError(f"steps = {steps} must be a multiple of n_times - 1 = {n_times - 1} "
                         "(ntk_change_t is recorded at n_times equally spaced steps)")
    beta = as_real(p["off_diagonal"], "off_diagonal", low=0.0)
    if loss == "barlow_twins" and output == "grassmann" and beta != 1.0:
        raise ValueError(f"off_diagonal = {beta:g}: Barlow Twins on a Grassmannian output layer needs "
                         "off_diagonal = 1 (otherwise it is not invariant under W -> W Q)")


def _ntk_theory(parameters: Mapping[str, Any], x: str, y: str | None) -> dict[str, tuple[Any, ...]]:
    if x == "m":
        return {"∝ m^(-1/2) (lazy training)": ("power", "m", -0.5)}
    return {}


@experiment(
    "ntk_change",
    outputs=("ntk_change", "ntk_change_t", "linearisation_distance", "final_loss"),
    plots=(("ntk_change", "m", "loss"), ("linearisation_distance", "m", "loss"), ("ntk_change", "m", "lr")),
    theory=_ntk_theory,
    validate=_check_ntk,
)
def ntk_change(
    *,
    m: int,
    loss: str = "supervised",
    output: str = "free",
    lr: float = 0.2,
    steps: int = 30,
    n_times: int = 11,
    n: int = 16,
    h: int = 2,
    activation: str = "relu",
    off_diagonal: float = 1.0,
    d: int = D,
    content: Sequence[float] = CONTENT,
    style: Sequence[float] = STYLE,
    rho: float = RHO,
    noise: float = NOISE,
    model_seed: int = 0,
    rng: np.random.SeedSequence,
) -> dict[str, Any]:
    """Train a width-``m`` two-layer network on both layers and measure how far it leaves the NTK picture.

    The network and training of the report's ``ntk`` claim:
    :class:`grassdyn.width.TwoLayer` (``f(x) = W^T sigma(U x / sqrt d) / sqrt m``,
    output layer ``output``) trained by :func:`grassdyn.width.train`
    (full-batch gradient descent, ``steps`` steps of ``lr``, so up to
    ``t = steps x lr``) on ``n`` triplets ``(x, x+, x-)`` of the data model,
    with the objective ``loss`` (supervised targets ``tanh`` of the first
    ``h`` content coordinates; ``off_diagonal`` weighs Barlow Twins'
    redundancy term); the NTK is taken on the ``n`` training inputs. Defaults
    are those of the claim. A dot-product loss can diverge (it is unbounded
    below): the cell then fails with :class:`grassdyn.sgd.DivergenceError`,
    naming the step, and is recorded as failed.

    Returns
    -------
    dict
        ``ntk_change``: ``||Theta_t - Theta_0||_F / ||Theta_0||_F`` at the
        end; ``ntk_change_t`` (``n_times``,): the same at steps
        ``0, steps / (n_times - 1), ..., steps``; ``linearisation_distance``:
        ``||f - f_lin||_F / ||f_lin||_F`` at the end, against the network
        linearised around its initialisation (the NTK approximation);
        ``final_loss``: the objective at the end.
    """
    data, init = rng.spawn(2)
    model = _model(d, content, style, rho, noise, model_seed)
    X, Xp, Xn = model.sample_triplets(n, np.random.default_rng(data))
    Y = np.tanh(X @ model.content_basis[:, :h])
    objective = width.objective(loss, X, Xp, Xn, Y, off_diagonal=off_diagonal)
    net = width.TwoLayer(d, m, h, activation=activation, output=output, rng=np.random.default_rng(init))
    run = width.train(net, objective, lr=lr, steps=steps, probe=X, record_every=steps // (n_times - 1))
    return {
        "ntk_change": float(run.ntk_change[-1]),
        "ntk_change_t": run.ntk_change,
        "linearisation_distance": float(run.linearisation_distance[-1]),
        "final_loss": float(run.loss[-1]),
    }
