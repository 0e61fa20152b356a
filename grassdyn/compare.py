r"""Comparing SGD runs with the flows they discretise: deviation, order, noise, samples, identifiability.

Pure functions returning arrays and small frozen dataclasses; nothing prints.
Conventions (docs/conventions.md): ``L(W) = -1/2 tr(W^T C W)``, Oja's subspace flow
``dW/dt = (I - W W^T) C W`` in gradient-flow time ``t`` (SGD step ``k`` at
``t = k * time_per_step``, see :mod:`grassdyn.sgd`), ``C = Q diag(lam) Q^T``
with ``lam`` descending, and subspaces compared through their principal
angles ``theta`` (geodesic distance ``||theta||_2``, chordal ``||sin theta||_2``).

- :func:`deviation`: distance between an SGD run and the flow at the same
  times, its mean and quantiles across seeds.
- :func:`lr_order`: the empirical order of exact gradient descent as a
  discretisation of the flow (explicit Euler plus a retraction: order 1
  [AMS08]_, [HLW06]_).
- :func:`predict_fluctuation` and :func:`stationary_sq_distance`: the
  stationary spread of minibatch SGD around the limit, predicted from the
  linearisation in the graph chart (a discrete Ornstein–Uhlenbeck process)
  and measured from a run.
- :func:`finite_sample_effect`: the empirical limit against the population
  limit, with the Davis–Kahan bounds [DK70]_, [YWS15]_.
- :func:`identifiability`: distance of the learned subspace to the data
  model's content subspace.

References
----------
.. [AMS08] P.-A. Absil, R. Mahony, R. Sepulchre, *Optimization Algorithms on
   Matrix Manifolds*, Princeton University Press (2008).
.. [HLW06] E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical
   Integration*, 2nd ed., Springer (2006).
.. [DK70] C. Davis, W. M. Kahan, "The rotation of eigenvectors by a
   perturbation. III", SIAM J. Numer. Anal. 7 (1970).
.. [YWS15] Y. Yu, T. Wang, R. J. Samworth, "A useful variant of the
   Davis–Kahan theorem for statisticians", Biometrika 102 (2015).
.. [MHB17] S. Mandt, M. D. Hoffman, D. M. Blei, "Stochastic gradient descent
   as approximate Bayesian inference", J. Mach. Learn. Res. 18 (2017).
.. [BZA24] T. Bendokat, R. Zimmermann, P.-A. Absil, "A Grassmann manifold
   handbook: basic geometry and computational aspects", Adv. Comput. Math.
   50 (2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from grassdyn import flows, grassmann
from grassdyn._array import mT as _mT
from grassdyn._validation import (
    as_float_array,
    as_frame,
    as_int,
    as_real,
    as_rng,
    as_symmetric,
    check_allocation,
    check_choice,
    check_steps,
)
from grassdyn.flows import _eigen
from grassdyn.trajectory import Trajectory

#: Most SGD steps that :func:`lr_order` runs in all (summed over its learning rates):
#: about a minute of exact gradient descent at small d.
MAX_LR_ORDER_STEPS = 10**6

__all__ = [
    "Deviation",
    "FiniteSampleEffect",
    "FluctuationPrediction",
    "Identifiability",
    "LrOrder",
    "Stationary",
    "deviation",
    "finite_sample_effect",
    "identifiability",
    "lr_order",
    "predict_fluctuation",
    "stationary_sq_distance",
]



def _generator(source: Any, name: str) -> np.ndarray:
    """``C`` from an array or from an object exposing ``.C`` (a quadratic loss)."""
    return as_symmetric(getattr(source, "C", source), name)


def _check_trajectory(traj: object, name: str) -> Trajectory:
    if not isinstance(traj, Trajectory):
        raise TypeError(f"{name} must be a Trajectory, got {type(traj).__name__}")
    return traj


# -- deviation from the flow ---------------------------------------------------------------
@dataclass(frozen=True)
class Deviation:
    """Distance of an SGD run from the flow at the run's times.

    Attributes
    ----------
    t : ndarray, shape (T,)
    per_seed : ndarray, shape (S, T)
        Distance for each seed (``S = 1`` for a run without a seed axis).
    mean : ndarray, shape (T,)
        Mean across seeds.
    levels : tuple of float
        Quantile levels.
    quantiles : ndarray, shape (len(levels), T)
        Quantiles across seeds.
    metric : str
    """

    t: np.ndarray
    per_seed: np.ndarray
    mean: np.ndarray
    levels: tuple[float, ...]
    quantiles: np.ndarray
    metric: str

    @property
    def max_mean(self) -> float:
        """Largest mean deviation over the run."""
        return float(np.max(self.mean))


def deviation(
    sgd_traj: Trajectory,
    flow: Trajectory | ArrayLike | Any,
    *,
    levels: Sequence[float] = (0.1, 0.5, 0.9),
    metric: str = "geodesic",
) -> Deviation:
    r"""Principal-angle distance between an SGD run and the flow, per time, across seeds.

    Parameters
    ----------
    sgd_traj : Trajectory
        A run of :func:`grassdyn.sgd.simulate`, ``W`` of shape ``(S, T, d, h)``
        (or any trajectory).
    flow : Trajectory, or array_like of shape (d, d), or a quadratic loss
        The flow evaluated at ``sgd_traj.t`` (batch axes broadcasting against
        the seeds), or a generator ``C`` (or an object with ``.C``): then the
        closed-form flow of the same manifold (:func:`grassdyn.flows.grassmann_closed_form`
        or :func:`grassdyn.flows.euclidean_closed_form`) is evaluated at
        ``sgd_traj.t`` from the run's own initial frames ``W[..., 0, :, :]``.
    levels : sequence of float in [0, 1]
        Quantile levels across seeds.
    metric : {"geodesic", "chordal"}

    Returns
    -------
    Deviation

    Notes
    -----
    The flow is the one the run discretises: Oja's flow for a Grassmannian
    run, ``dW/dt = C W`` (compared through spans) for an unconstrained one,
    in gradient-flow time (``sgd_traj.t`` already includes the momentum time
    factor of :mod:`grassdyn.sgd`).

    Examples
    --------
    >>> from grassdyn.objectives import Quadratic
    >>> from grassdyn.sgd import simulate
    >>> C = np.diag([3.0, 2.0, 1.0, 0.0])
    >>> W0 = np.full((4, 1), 0.5)
    >>> dev = deviation(simulate(Quadratic(C), W0, lr=1e-3, steps=1000, record_every=250), C)
    >>> dev.per_seed.shape, bool(dev.max_mean < 1e-3)
    ((1, 5), True)
    """
    sgd_traj = _check_trajectory(sgd_traj, "sgd_traj")
    check_choice(metric, "metric", ("geodesic", "chordal"))
    lv = np.atleast_1d(as_float_array(levels, "levels"))
    if lv.ndim != 1 or np.any((lv < 0) | (lv > 1)):
        raise ValueError(f"levels must be a 1-D sequence of values in [0, 1], got {levels!r}")
    if not isinstance(flow, Trajectory):
        C = _generator(flow, "flow")
        if C.shape[0] != sgd_traj.d:
            raise ValueError(f"flow: C must have shape ({sgd_traj.d}, {sgd_traj.d}), got {C.shape}")
        W0 = sgd_traj.W[..., 0, :, :]
        if sgd_traj.manifold == "grassmann":
            flow = flows.grassmann_closed_form(C, W0, sgd_traj.t)
        else:
            flow = flows.euclidean_closed_form(C, W0, sgd_traj.t, normalize=True)
    elif flow.t.shape != sgd_traj.t.shape or not np.allclose(flow.t, sgd_traj.t, rtol=1e-12, atol=0.0):
        raise ValueError(
            "flow must be evaluated at the SGD times sgd_traj.t "
            "(e.g. flows.grassmann_closed_form(C, W0, sgd_traj.t)), or pass the generator C"
        )
    dist = sgd_traj.distance_to(flow, metric=metric)
    per_seed = dist.reshape(-1, dist.shape[-1])
    return Deviation(
        t=sgd_traj.t,
        per_seed=per_seed,
        mean=per_seed.mean(axis=0),
        levels=tuple(float(x) for x in lv),
        quantiles=np.quantile(per_seed, lv, axis=0),
        metric=metric,
    )


# -- order in the learning rate -------------------------------------------------------------
@dataclass(frozen=True)
class LrOrder:
    """Convergence of exact gradient descent to the flow as ``lr -> 0``.

    ``errors[i]`` is the largest deviation (over the seeds and the times in
    ``[0, horizon]``) of the run with learning rate ``lrs[i]``; ``slope`` and
    ``intercept`` fit ``log(error) = slope * log(lr) + intercept``.
    """

    lrs: np.ndarray
    errors: np.ndarray
    slope: float
    intercept: float
    horizon: float


def lr_order(
    C: ArrayLike | Any,
    W0: ArrayLike,
    lrs: ArrayLike,
    *,
    horizon: float,
    manifold: str = "grassmann",
    retraction: str = "qr",
    optimizer: str = "sgd",
    momentum: float | None = None,
) -> LrOrder:
    r"""Empirical order of exact gradient descent as a discretisation of the flow.

    Parameters
    ----------
    C : array_like, shape (d, d), or a quadratic loss with ``.C``
        Generator of ``L(W) = -1/2 tr(W^T C W)``.
    W0 : array_like, shape (d, h) or (S, d, h)
        Initial frame(s).
    lrs : array_like, shape (m,)
        At least two distinct learning rates, each dividing ``horizon``
        (``horizon / lr`` an integer to within 1e-9).
    horizon : float > 0
        Gradient-flow time over which the deviation is maximised.
    manifold, retraction, optimizer, momentum
        Passed to :func:`grassdyn.sgd.simulate` (``momentum`` only with
        ``optimizer="momentum"``).

    Returns
    -------
    LrOrder

    Raises
    ------
    ValueError
        Naming ``horizon`` when the runs would take more than
        ``MAX_LR_ORDER_STEPS`` steps in all (``sum horizon / lr``),
        before any is started.

    Notes
    -----
    ``W_{k+1} = R_{W_k}(-lr grad L(W_k))`` agrees with the exact flow map over
    one step up to ``O(lr^2)`` for every retraction (a retraction agrees with
    the exponential to first order, [AMS08, §4.1]), so over a fixed horizon
    the global error is ``O(lr)``: the fitted slope is 1 ([HLW06, §II.3]).
    Heavy-ball momentum is first order as well, in the rescaled time
    ``lr / (1 - beta)`` per step, once its transient (``O(1/(1 - beta))``
    steps) has passed [KS21]; the momentum buffer starts at zero, so its
    first steps lag the flow by ``O(lr)`` too.

    Examples
    --------
    >>> C = np.diag([3.0, 2.0, 1.0, 0.0])
    >>> W0 = np.full((4, 1), 0.5)
    >>> order = lr_order(C, W0, [0.02, 0.01, 0.005], horizon=1.0)
    >>> round(order.slope, 1)
    1.0
    """
    from grassdyn.objectives import Quadratic
    from grassdyn.sgd import simulate

    C = _generator(C, "C")
    lr_arr = np.atleast_1d(as_float_array(lrs, "lrs"))
    if lr_arr.ndim != 1 or lr_arr.size < 2 or np.unique(lr_arr).size < 2:
        raise ValueError(f"lrs must hold at least two distinct learning rates, got {lrs!r}")
    if np.any(lr_arr <= 0):
        raise ValueError("lrs must be > 0")
    horizon = as_real(horizon, "horizon", low=0.0, low_open=True)
    W0 = as_frame(W0, "W0", orthonormal=manifold == "grassmann")
    seeds = W0.shape[0] if W0.ndim == 3 else 1
    # Refused before the first run: every run takes horizon / lr steps.
    total = sum(horizon / float(lr) for lr in lr_arr)
    if not total <= MAX_LR_ORDER_STEPS:
        raise ValueError(
            f"horizon = {horizon:.6g}: the runs take horizon / lr = {total:.3g} steps in all, more than "
            f"the limit of {MAX_LR_ORDER_STEPS:.0e}; shorten horizon or raise the learning rates"
        )
    loss = Quadratic(C)
    errors = np.empty(lr_arr.size)
    for i, lr in enumerate(lr_arr):
        steps = round(horizon / lr)
        if steps < 1 or abs(steps * lr - horizon) > 1e-9 * horizon:
            raise ValueError(
                f"lrs: horizon / lr must be an integer, got horizon / {lr:.6g} = {horizon / lr:.6g}"
            )
        traj = simulate(
            loss,
            W0,
            lr=float(lr),
            steps=steps,
            seeds=seeds,
            manifold=manifold,
            retraction=retraction,
            optimizer=optimizer,
            momentum=momentum,
            progress=False,
        )
        errors[i] = float(np.max(deviation(traj, C).per_seed))
    if np.any(errors <= 0):
        raise ValueError("lrs: a run matched the flow exactly (zero error); the order is undefined")
    slope, intercept = np.polyfit(np.log(lr_arr), np.log(errors), 1)
    return LrOrder(lrs=lr_arr, errors=errors, slope=float(slope), intercept=float(intercept), horizon=horizon)


# -- minibatch fluctuation -------------------------------------------------------------------
@dataclass(frozen=True)
class FluctuationPrediction:
    """Predicted stationary spread of minibatch SGD around the limit (see :func:`predict_fluctuation`).

    Attributes
    ----------
    mean_sq_distance : float
        Predicted stationary ``E[dist(W, U)^2]`` (geodesic, squared).
    variances : ndarray, shape (d - h, h)
        Stationary variance of each graph-chart coordinate ``X_ij``.
    rates : ndarray, shape (d - h, h)
        Linearised decay rates ``lam_j - lam_{h+i}`` of the flow.
    noise : ndarray, shape (d - h, h)
        Per-step gradient-noise second moment of each coordinate.
    limit : ndarray, shape (d, h)
        The limit ``U`` (top-h eigenvectors of ``C``).
    lr : float
    batch_size : int
    """

    mean_sq_distance: float
    variances: np.ndarray
    rates: np.ndarray
    noise: np.ndarray
    limit: np.ndarray
    lr: float
    batch_size: int


def predict_fluctuation(
    loss: Any,
    h: int,
    *,
    lr: float,
    batch_size: int,
    n_batches: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> FluctuationPrediction:
    r"""Stationary mean squared distance of Riemannian SGD to the limit, from the linearisation.

    Parameters
    ----------
    loss : quadratic SSL loss
        Exposes ``C`` (the generator SGD targets: population for a loss on a
        model, empirical for a loss on arrays) and minibatches
        (``draw``, ``batch_egrad``) as the losses of :mod:`grassdyn.ssl` do.
    h : int
        Subspace dimension; ``lam_h > lam_{h+1}`` is required.
    lr : float > 0
        Learning rate of plain SGD (for momentum, see Notes).
    batch_size : int >= 1
    n_batches : int
        Minibatches drawn to estimate the gradient-noise moments.
    rng : Generator, int or None

    Returns
    -------
    FluctuationPrediction

    Notes
    -----
    In the eigenbasis of ``C`` write a frame near the limit ``U = Q_top`` in
    the graph chart, ``span W = span(U + Q_bot X)``, ``X`` of shape
    ``(d - h, h)`` (the tangents of the principal angles to ``U`` are the
    singular values of ``X``, [BZA24]_). Linearising one SGD step
    ``W <- R_W(-lr grad_B L(W))`` at ``U`` (any retraction: they agree to
    first order) gives the vector autoregression

    .. math:: X_{k+1} = X_k - lr\,(X_k \Lambda_{top} - \Lambda_{bot} X_k) + lr\,\zeta_k,
              \qquad \zeta_k = Q_{bot}^\top(-\nabla^E_B L(U)),

    diagonal entrywise, ``x <- (1 - lr a) x + lr zeta`` with
    ``a_ij = lam_j - lam_{h+i} > 0``. ``zeta`` has mean zero (``U`` is a
    critical point of the full loss) and its covariance scales as ``1/B`` for
    i.i.d. minibatches. The discrete Lyapunov equation of this Ornstein–
    Uhlenbeck-type recursion [MHB17]_ has the diagonal solution

    .. math:: E[x_{ij}^2] = \frac{lr^2\, E[\zeta_{ij}^2]}{1 - (1 - lr\,a_{ij})^2}
              = \frac{lr\, E[\zeta_{ij}^2]}{a_{ij}(2 - lr\,a_{ij})}
              \approx \frac{lr}{2 a_{ij}} E[\zeta_{ij}^2] \propto \frac{lr}{B},

    and, since the principal angles are ``theta = arctan(sv(X)) ~ sv(X)``,
    ``E[dist^2] ~ E||X||_F^2 = sum_ij E[x_ij^2]``. Neglected: terms of
    higher order in ``X`` (relative error ``O(E[dist^2])``) and the bias of
    in-batch negatives drawn with replacement. ``E[zeta_ij^2]`` is estimated
    from ``n_batches`` minibatch gradients at ``U`` (relative error about
    ``sqrt(2 / n_batches)`` per entry). The prediction is for plain SGD with
    independent minibatches (online, or a fixed data set with replacement);
    heavy ball with coefficient ``beta`` behaves, to leading order in ``lr``,
    as SGD with learning rate ``lr / (1 - beta)``.

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> from grassdyn.ssl import alignment
    >>> loss = alignment(AugmentationModel(6, [3.0], [1.0], rho=0.5, noise=0.3, rng=0))
    >>> p = predict_fluctuation(loss, 1, lr=0.01, batch_size=32, rng=0)
    >>> q = predict_fluctuation(loss, 1, lr=0.01, batch_size=64, rng=0)
    >>> bool(1.6 < p.mean_sq_distance / q.mean_sq_distance < 2.4)
    True
    """
    if not (hasattr(loss, "C") and callable(getattr(loss, "draw", None))
            and callable(getattr(loss, "batch_egrad", None))):
        raise TypeError(
            f"loss must be a quadratic SSL loss with C, draw and batch_egrad, got {type(loss).__name__}"
        )
    C = as_symmetric(loss.C, "loss.C")
    d = C.shape[0]
    h = as_int(h, "h", minimum=1)
    if h >= d:
        raise ValueError(f"h must be < d = {d} (for h = d there is nothing to fluctuate), got {h}")
    lr = as_real(lr, "lr", low=0.0, low_open=True)
    B = as_int(batch_size, "batch_size", minimum=1)
    check_allocation((3, B, d), f"batch_size = {B}: a minibatch of up to 3 views")
    n_batches = check_steps(as_int(n_batches, "n_batches", minimum=2), f"n_batches = {n_batches}")
    rng = as_rng(rng)
    lam, Q = _eigen(C)
    flows.limit(C, h)  # raises, naming h, when the top-h eigenspace is not unique
    U, Qb = Q[:, :h], Q[:, h:]
    rates = lam[:h][None, :] - lam[h:][:, None]
    if np.any(lr * rates >= 2.0):
        raise ValueError(
            f"lr = {lr:.6g} is too large for the linearisation: lr * (lam_1 - lam_d) = "
            f"{lr * rates.max():.3g} >= 2 makes the linearised recursion unstable"
        )
    block = max(1, min(n_batches, (1 << 20) // (B * d)))
    second = np.zeros((d - h, h))
    done = 0
    while done < n_batches:
        m = min(block, n_batches - done)
        zeta = _mT(Qb) @ -loss.batch_egrad(U, loss.draw(B, rng, batch=(m,)))
        second += np.sum(zeta**2, axis=0)
        done += m
    noise = second / n_batches
    variances = lr * noise / (rates * (2.0 - lr * rates))
    return FluctuationPrediction(
        mean_sq_distance=float(np.sum(variances)),
        variances=variances,
        rates=rates,
        noise=noise,
        limit=U,
        lr=lr,
        batch_size=B,
    )


@dataclass(frozen=True)
class Stationary:
    """Measured stationary ``E[dist^2]``: the mean over seeds and late times, its standard error."""

    mean_sq_distance: float
    stderr: float
    samples: int


def stationary_sq_distance(traj: Trajectory, target: ArrayLike, *, burn_in: float = 0.5) -> Stationary:
    """Mean squared geodesic distance of a run to ``target`` over its stationary part.

    Parameters
    ----------
    traj : Trajectory
        A run, ``W`` of shape ``(S, T, d, h)``.
    target : array_like, shape (d, h)
        Orthonormal frame, e.g. the limit.
    burn_in : float in [0, 1)
        Times ``t < burn_in * t[-1]`` are discarded (the transient).

    Returns
    -------
    Stationary
        The standard error is that of the mean over independent seeds (the
        standard deviation of the per-seed means over ``sqrt(S)``; ``nan`` for
        one seed): successive iterates of one seed are correlated, seeds are not.
    """
    traj = _check_trajectory(traj, "traj")
    burn_in = as_real(burn_in, "burn_in", low=0.0, high=1.0)
    if burn_in == 1.0:
        raise ValueError("burn_in must be < 1")
    target = as_frame(target, "target")
    if target.shape[-2] != traj.d:
        raise ValueError(f"target must have d = {traj.d} rows to match traj, got shape {target.shape}")
    keep = traj.t >= burn_in * traj.t[-1]
    sq = traj.distance_to(target)[..., keep] ** 2
    per_seed = sq.reshape(-1, sq.shape[-1]).mean(axis=-1)
    S = per_seed.size
    stderr = float(np.std(per_seed, ddof=1) / np.sqrt(S)) if S > 1 else float("nan")
    return Stationary(mean_sq_distance=float(per_seed.mean()), stderr=stderr, samples=int(sq.size))


# -- finite samples --------------------------------------------------------------------------
@dataclass(frozen=True)
class FiniteSampleEffect:
    r"""Empirical against population limit, with two Davis–Kahan bounds.

    Attributes
    ----------
    empirical_limit, population_limit : ndarray, shape (d, h)
        Top-h eigenvectors of ``C_hat`` and of ``C``.
    angles : ndarray, shape (h,)
        Principal angles between them, ascending.
    distance : float
        Geodesic distance ``||theta||_2``.
    sin_op, sin_fro : float
        ``||sin Theta||_2 = sin theta_max`` and ``||sin Theta||_F`` (chordal distance).
    perturbation_op, perturbation_fro : float
        ``||C_hat - C||_2`` and ``||C_hat - C||_F``.
    population_gap : float
        ``lam_h(C) - lam_{h+1}(C)``.
    mixed_gap : float
        ``max(lam_h(C) - lam_{h+1}(C_hat), lam_h(C_hat) - lam_{h+1}(C))``.
    davis_kahan : float
        ``||C_hat - C||_2 / mixed_gap``, a bound on ``sin_op`` (inf if the gap is not positive).
    yu_wang_samworth : float
        ``2 min(sqrt(h) ||C_hat - C||_2, ||C_hat - C||_F) / population_gap``, a bound on ``sin_fro``.
    """

    empirical_limit: np.ndarray
    population_limit: np.ndarray
    angles: np.ndarray
    distance: float
    sin_op: float
    sin_fro: float
    perturbation_op: float
    perturbation_fro: float
    population_gap: float
    mixed_gap: float
    davis_kahan: float
    yu_wang_samworth: float


def finite_sample_effect(
    empirical: ArrayLike | Any, population: ArrayLike | Any, h: int
) -> FiniteSampleEffect:
    r"""How far the empirical limit (what SGD on a fixed data set finds) is from the population one.

    Parameters
    ----------
    empirical : array_like, shape (d, d), or a loss with ``.C``
        The empirical generator ``C_hat`` (e.g. ``ssl.alignment((X, Xp)).C``).
    population : array_like, shape (d, d), or a loss with ``.C``
        The population generator ``C``.
    h : int
        Subspace dimension, ``1 <= h < d``, with ``lam_h(C) > lam_{h+1}(C)``.

    Returns
    -------
    FiniteSampleEffect

    Notes
    -----
    Two bounds on the angles between the top-h eigenspaces ``V`` of ``C``
    and ``V_hat`` of ``C_hat = C + E``:

    - the sin-theta theorem of Davis & Kahan [DK70]_ (as restated in
      [YWS15, Thm 1]): ``||sin Theta(V_hat, V)|| <= ||E|| / delta`` for every
      unitarily invariant norm, where ``delta`` separates the eigenvalues of
      one matrix on its top-h block from those of the other off it; for the
      operator norm with ``delta = max(lam_h - lam_hat_{h+1},
      lam_hat_h - lam_{h+1})`` (both assignments of the roles are valid).
      It needs the sample spectrum;
    - the variant of Yu, Wang & Samworth [YWS15, Thm 2] with the population
      gap only: ``||sin Theta||_F <= 2 min(sqrt(h) ||E||_2, ||E||_F) /
      (lam_h - lam_{h+1})``.

    Examples
    --------
    >>> C = np.diag([3.0, 1.0, 0.0])
    >>> E = 0.1 * np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> fs = finite_sample_effect(C + E, C, 1)
    >>> bool(fs.sin_op <= fs.davis_kahan and fs.sin_fro <= fs.yu_wang_samworth)
    True
    """
    C_hat = _generator(empirical, "empirical")
    C = _generator(population, "population")
    if C_hat.shape != C.shape:
        raise ValueError(
            f"empirical and population must have the same shape, got {C_hat.shape} and {C.shape}"
        )
    d = C.shape[0]
    h = as_int(h, "h", minimum=1)
    if h >= d:
        raise ValueError(f"h must be < d = {d}, got {h}")
    U = flows.limit(C, h)
    lam = _eigen(C)[0]
    lam_hat, Q_hat = _eigen(C_hat)
    U_hat = Q_hat[:, :h]
    theta = grassmann.principal_angles(U_hat, U, check=False)
    E = C_hat - C
    e_op = float(np.linalg.norm(E, 2))
    # scaled before squaring: finite for any finite E
    e_max = float(np.max(np.abs(E)))
    e_fro = float(np.linalg.norm(E / e_max, "fro")) * e_max if e_max > 0 else 0.0
    gap = float(lam[h - 1] - lam[h])
    mixed = float(max(lam[h - 1] - lam_hat[h], lam_hat[h - 1] - lam[h]))
    return FiniteSampleEffect(
        empirical_limit=U_hat,
        population_limit=U,
        angles=theta,
        distance=float(np.linalg.norm(theta)),
        sin_op=float(np.sin(theta[-1])),
        sin_fro=float(np.linalg.norm(np.sin(theta))),
        perturbation_op=e_op,
        perturbation_fro=e_fro,
        population_gap=gap,
        mixed_gap=mixed,
        davis_kahan=e_op / mixed if mixed > 0 else float("inf"),
        yu_wang_samworth=2.0 * min(np.sqrt(h) * e_op, e_fro) / gap,
    )


# -- identifiability -------------------------------------------------------------------------
@dataclass(frozen=True)
class Identifiability:
    """Distance of learned subspaces to the content subspace of a data model.

    Attributes
    ----------
    angles : ndarray, shape (..., min(h, k))
        Principal angles between ``span W`` and the content subspace.
    distance : ndarray, shape (...)
        ``||theta||_2``: the geodesic distance when ``h = k``.
    identifiable : bool
        Whether the model makes the content the contrastive generator's
        top-k eigenspace (:meth:`grassdyn.data.AugmentationModel.identifiable`).
    """

    angles: np.ndarray
    distance: np.ndarray
    identifiable: bool


def identifiability(W: Trajectory | ArrayLike, model: Any) -> Identifiability:
    """Principal angles between learned subspaces and ``model.content_basis``.

    Parameters
    ----------
    W : Trajectory, or array_like of shape (..., d, h)
        Learned frames (a trajectory's :meth:`~grassdyn.Trajectory.frames`,
        so unconstrained runs are compared through their spans).
    model : AugmentationModel
        Provides ``content_basis`` (d, k) and ``identifiable()``.

    Returns
    -------
    Identifiability

    Notes
    -----
    The content subspace ``span(A[:, :k])`` is the ground truth of the linear
    content/style model (docs/conventions.md; von Kügelgen et al., NeurIPS 2021):
    with ``h = k`` a learned subspace identifies the content exactly when the
    distance is zero. For ``h != k`` the ``min(h, k)`` angles say how much of
    the smaller subspace lies in the larger.

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> model = AugmentationModel(5, [3.0, 2.0], [1.0], rho=0.5, noise=0.1, rng=0)
    >>> ident = identifiability(model.content_basis, model)
    >>> float(ident.distance) < 1e-12, ident.identifiable
    (True, True)
    """
    basis = getattr(model, "content_basis", None)
    if basis is None or not callable(getattr(model, "identifiable", None)):
        raise TypeError(f"model must be a data model with content_basis, got {type(model).__name__}")
    F = W.frames() if isinstance(W, Trajectory) else as_frame(W, "W")
    if F.shape[-2] != basis.shape[0]:
        raise ValueError(f"W must have d = {basis.shape[0]} rows to match model, got shape {F.shape}")
    theta = grassmann.principal_angles(F, basis, check=False)
    return Identifiability(
        angles=theta, distance=np.linalg.norm(theta, axis=-1), identifiable=bool(model.identifiable())
    )
