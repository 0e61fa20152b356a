r"""SimSiam and BYOL with a linear predictor: stop-gradient dynamics that are not gradient flows.

**Model** (Tian, Chen & Ganguli, "Understanding self-supervised learning
dynamics without contrastive pairs", ICML 2021, arXiv 2102.06810: [TCG21]_,
§3). Online representation ``f(x) = W^T x`` with ``W`` of shape ``(d, h)``
(the grassdyn convention of docs/conventions.md; the paper's ``W`` is our
``W^T``, of shape ``h x d``), linear predictor ``Wp`` of shape ``(h, h)``,
target branch ``Wa^T x`` behind a stop-gradient, ``Wa`` of shape ``(d, h)``
(SimSiam: ``Wa = W``; BYOL: an exponential moving average of ``W``). The loss
of one ordered pair is ``1/2 ||Wp W^T x1 - sg(Wa^T x2)||^2``; we use its
symmetrisation over the two views (as SimSiam does), whose expectation is the
same. With

- ``Sigma = E[x x^T]`` (the paper's ``X + X'``: augmentation-averaged
  covariance plus augmentation covariance), and
- ``M = sym E[x x+^T]`` (the paper's ``X = E[xbar xbar^T]``, the covariance
  of the augmentation-averaged input; for an
  :class:`~grassdyn.data.AugmentationModel` the cross moment
  ``mu mu^T + A diag(gc, rho gs) A^T``, so ``X' = Sigma - M``),

the population dynamics are the coupled ODEs of ``Wp``, ``W`` and ``Wa`` of
[TCG21]_'s linear model, transposed to our convention:

.. math::

   \dot W_p &= \alpha_p\,(-W_p W^\top \Sigma W + W_a^\top M W) - \eta\, W_p, \\
   \dot W   &= -\Sigma W W_p^\top W_p + M W_a W_p - \eta\, W, \\
   \dot W_a &= \beta\, (W - W_a) \quad\text{(BYOL; SimSiam: } W_a = W).

``eta`` is the weight decay (on ``W`` and ``Wp``), ``alpha_p`` the
predictor's learning-rate ratio, ``beta`` the EMA rate. The right-hand sides
of ``W`` and ``Wp`` are minus the partial gradients of the loss *with the
target held fixed*: the stop-gradient. With ``Wa = W`` the system is not the
gradient flow of any function of ``(W, Wp)`` (its ``W``-part lacks the target
branch's term ``-M W Wp^T``), so these losses expose a vector field
(:meth:`PredictorLoss.field`), not ``egrad``; ``is_gradient = False`` makes
gradient-only functions refuse them.

**Time and EMA.** ``t`` is gradient-flow time; SGD with learning rate ``lr``
at step ``k`` sits at ``t = k lr``. The BYOL target update per SGD step is
``Wa <- ema Wa + (1 - ema) W`` (``ema`` in ``[0, 1)``, BYOL's ``tau``), at the
learning rate ``lr`` given to :func:`byol`: its flow limit is the rate
``beta = (1 - ema) / lr``. ``ema = 0`` is SimSiam exactly.

**Sources and estimators.** Population form on an ``AugmentationModel``
(``Sigma = model.second_moment``, ``M = sym model.cross_moment``, in closed
form); empirical form on arrays ``(X, Xp)`` of ``n`` pairs
(``Sigma = (X^T X + Xp^T Xp) / 2n``, ``M = sym(X^T Xp) / n``); minibatch
estimators replace these by the same averages over a minibatch of ``B``
pairs, unbiased for the population (fresh draws) or the data set, and
computed in ``O(B d h)`` without any ``d x d`` matrix
(:meth:`PredictorLoss.batch_field`).

**DirectPred** ([TCG21]_): ``predictor="direct"`` sets ``Wp`` instead
of training it, from the eigendecomposition of a running estimate ``F`` of
the online correlation ``E[f f^T] = W^T Sigma W``: ``Wp = U diag(p) U^T``
with ``p_j = sqrt(s_j / max_j s_j) + eps`` (``s_j`` the eigenvalues of ``F``
clipped at 0). SGD updates ``F <- rho F + (1 - rho) F_B`` with the minibatch
correlation ``F_B``; the flow limit of this average (``lr -> 0`` at fixed
``rho``) is the exact correlation, which the flow uses.

**State.** A state is a dict of arrays with leading batch axes: ``"W"``
``(..., d, h)``, ``"predictor"`` ``(..., h, h)``, ``"target"``
``(..., d, h)`` (BYOL with ``ema > 0``) and ``"correlation"``
``(..., h, h)`` (DirectPred). :attr:`PredictorLoss.dynamic_keys` are the
components the ODE moves; the rest are functions of them in the flow.

References
----------
.. [TCG21] Y. Tian, X. Chen, S. Ganguli, "Understanding self-supervised
   learning dynamics without contrastive pairs", ICML 2021, arXiv 2102.06810.
   Cited by result (the coupled ODEs of the linear model, the decoupled
   eigenmode dynamics, DirectPred) rather than by equation number.
.. [CH21] X. Chen, K. He, "Exploring simple Siamese representation
   learning", CVPR 2021 (SimSiam).
.. [G20] J.-B. Grill et al., "Bootstrap your own latent", NeurIPS 2020 (BYOL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_real
from grassdyn.ssl._base import Batch, SSLLoss, _sym

__all__ = ["PredictorLoss", "byol", "direct_predictor", "simsiam"]

State = dict[str, np.ndarray]


def direct_predictor(F: np.ndarray, eps: float) -> np.ndarray:
    r"""DirectPred's predictor ``U diag(sqrt(s / max s) + eps) U^T`` from correlations ``F`` (..., h, h).

    ``F = U diag(s) U^T``; negative eigenvalues (rounding) are clipped at 0,
    and an all-zero ``F`` gives ``eps I`` (DirectPred, [TCG21]_).

    Examples
    --------
    >>> direct_predictor(np.diag([4.0, 1.0]), 0.1).round(3).tolist()
    [[1.1, 0.0], [0.0, 0.6]]
    """
    s, U = np.linalg.eigh(_sym(F))
    s = np.clip(s, 0.0, None)
    top = np.max(s, axis=-1, keepdims=True)
    p = np.sqrt(np.divide(s, top, out=np.zeros_like(s), where=top > 0)) + eps
    return (U * p[..., None, :]) @ _mT(U)


class PredictorLoss(SSLLoss):
    """SimSiam / BYOL with a linear predictor: a vector field on a state, not a gradient.

    Build with :func:`simsiam` or :func:`byol`; the formulas, normalisation and
    sources are in :mod:`grassdyn.ssl.predictor`.
    """

    #: gradient-only functions (check_gradient, the closed forms) refuse this loss
    is_gradient = False

    def __init__(
        self,
        source: Any,
        *,
        name: str,
        predictor: ArrayLike | str | None,
        weight_decay: float,
        predictor_lr: float,
        ema: float,
        lr: float | None,
        correlation_momentum: float,
        eps: float,
    ) -> None:
        super().__init__(source)
        self.name = name
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.predictor_lr = as_real(predictor_lr, "predictor_lr", low=0.0, low_open=True)
        self.ema = as_real(ema, "ema", low=0.0)
        if self.ema >= 1.0:
            raise ValueError(f"ema must be in [0, 1), got {self.ema} (ema = 1 never moves the target)")
        if self.ema > 0.0:
            if lr is None:
                raise ValueError("lr must be given with ema > 0: the EMA rate is beta = (1 - ema) / lr")
            self.lr = as_real(lr, "lr", low=0.0, low_open=True)
            self.ema_rate = (1.0 - self.ema) / self.lr
        else:
            self.lr = None if lr is None else as_real(lr, "lr", low=0.0, low_open=True)
            self.ema_rate = None
        self.direct = isinstance(predictor, str)
        if self.direct:
            if predictor != "direct":
                raise ValueError(f"predictor must be an (h, h) array, None or 'direct'; got {predictor!r}")
            self.initial_predictor = None
        elif predictor is None:
            self.initial_predictor = None
        else:
            P = as_float_array(predictor, "predictor")
            if P.ndim < 2 or P.shape[-1] != P.shape[-2]:
                raise ValueError(f"predictor must be a square matrix of shape (h, h), got shape {P.shape}")
            self.initial_predictor = P
        self.correlation_momentum = as_real(correlation_momentum, "correlation_momentum", low=0.0, high=1.0)
        if self.correlation_momentum == 1.0:
            raise ValueError("correlation_momentum must be < 1 (1 never updates the estimate)")
        self.eps = as_real(eps, "eps", low=0.0)
        if self.model is not None:
            self.Sigma = self.model.second_moment
            self.M = _sym(self.model.cross_moment)
        else:
            X, Xp = self.data[0], self.data[1]
            n = X.shape[0]
            self.Sigma = (X.T @ X + Xp.T @ Xp) / (2 * n)
            self.M = _sym(X.T @ Xp) / n

    # -- the paper's covariances ---------------------------------------------------------------
    @property
    def augmentation_averaged_covariance(self) -> np.ndarray:
        """``X = M``: the covariance of the augmentation-averaged input (the paper's ``X``), (d, d)."""
        return self.M

    @property
    def augmentation_covariance(self) -> np.ndarray:
        """``X' = Sigma - M``: the augmentation covariance, averaged over inputs (the paper's ``X'``)."""
        return self.Sigma - self.M

    # -- state ------------------------------------------------------------------------------
    @property
    def has_target(self) -> bool:
        """Whether the target is a separate state (BYOL with ``ema > 0``)."""
        return self.ema > 0.0

    @property
    def dynamic_keys(self) -> tuple[str, ...]:
        """State components moved by the ODE (the others are functions of these in the flow)."""
        keys = ("W",) if self.direct else ("W", "predictor")
        return (*keys, "target") if self.has_target else keys

    @property
    def state_keys(self) -> tuple[str, ...]:
        """Every recorded state component."""
        keys = ("W", "predictor") + (("target",) if self.has_target else ())
        return (*keys, "correlation") if self.direct else keys

    def init_state(self, W0: ArrayLike | Mapping[str, ArrayLike]) -> State:
        """The initial state from a frame ``W0`` (..., d, h) or a mapping of components.

        Missing components start at: predictor the one given to the loss (or
        ``I_h``); target ``W0``; correlation ``W0^T Sigma W0`` (DirectPred,
        whose predictor is then set from it).
        """
        given = dict(W0) if isinstance(W0, Mapping) else {"W": W0}
        unknown = set(given) - set(self.state_keys)
        if unknown:
            raise ValueError(f"W0 has unknown state components {sorted(unknown)}; expected {self.state_keys}")
        if "W" not in given:
            raise ValueError("W0 given as a mapping must hold 'W'")
        W = as_float_array(given["W"], "W0", min_ndim=2)
        if W.shape[-2] != self.d:
            raise ValueError(f"W0 must have d = {self.d} rows to match loss, got shape {W.shape}")
        batch, h = W.shape[:-2], W.shape[-1]
        state: State = {"W": W}
        if self.direct:
            if "predictor" in given:
                raise ValueError(
                    'W0 must not set "predictor" with predictor="direct": it is set from the correlation'
                )
            F = given.get("correlation")
            F = _mT(W) @ self.Sigma @ W if F is None else as_float_array(F, "W0['correlation']")
            state["correlation"] = self._shaped(F, batch, h, "W0['correlation']")
            state["predictor"] = direct_predictor(state["correlation"], self.eps)
        else:
            P = given.get("predictor", self.initial_predictor)
            P = np.eye(h) if P is None else as_float_array(P, "predictor")
            state["predictor"] = self._shaped(P, batch, h, "predictor")
        if self.has_target:
            Wa = as_float_array(given.get("target", W), "W0['target']")
            if Wa.shape[-2:] != W.shape[-2:]:
                raise ValueError(f"W0['target'] must have shape (..., {self.d}, {h}), got {Wa.shape}")
            state["target"] = np.broadcast_to(Wa, W.shape).copy()
        return state

    @staticmethod
    def _shaped(A: np.ndarray, batch: tuple[int, ...], h: int, name: str) -> np.ndarray:
        if A.shape[-2:] != (h, h):
            raise ValueError(f"{name} must have shape (h, h) = ({h}, {h}) to match W0, got shape {A.shape}")
        try:
            return np.broadcast_to(A, (*batch, h, h)).copy()
        except ValueError:
            raise ValueError(
                f"{name} of shape {A.shape} does not broadcast to the batch {batch} of W0"
            ) from None

    def complete(self, state: Mapping[str, np.ndarray]) -> State:
        """The full state from its dynamic components, as the flow defines it (DirectPred: ``F`` exact)."""
        out = dict(state)
        if self.direct:
            W = out["W"]
            out["correlation"] = _mT(W) @ self.Sigma @ W
            out["predictor"] = direct_predictor(out["correlation"], self.eps)
        return out

    # -- vector fields --------------------------------------------------------------------------
    def _velocities(self, state: Mapping[str, np.ndarray], SW: np.ndarray, MWa: np.ndarray) -> State:
        """``dW/dt``, ``dWp/dt`` and ``dWa/dt`` from ``Sigma W`` and ``M Wa``."""
        W, P = state["W"], state["predictor"]
        eta = self.weight_decay
        out: State = {"W": -SW @ (_mT(P) @ P) + MWa @ P - eta * W}
        if not self.direct:
            out["predictor"] = self.predictor_lr * (-P @ (_mT(W) @ SW) + _mT(MWa) @ W) - eta * P
        if self.has_target:
            out["target"] = self.ema_rate * (W - state["target"])
        return out

    def field(self, state: Mapping[str, np.ndarray]) -> State:
        """The population (or full-data) vector field on the dynamic components, closed form.

        ``state`` must be complete (DirectPred: with its predictor); see the
        module docstring for the equations.

        Examples
        --------
        >>> from grassdyn.data import AugmentationModel
        >>> model = AugmentationModel(4, [2.0], [1.0], rho=0.0, noise=0.0, mixing=np.eye(4)[:, :2])
        >>> loss = simsiam(model, predictor=np.eye(1))
        >>> v = loss.field(loss.init_state(np.eye(4)[:, :1]))
        >>> float(v["W"][0, 0]), float(v["predictor"][0, 0])   # -2 + 2 and -2 + 2: a fixed point
        (0.0, 0.0)
        """
        W = state["W"]
        Wa = state["target"] if self.has_target else W
        return self._velocities(state, self.Sigma @ W, self.M @ Wa)

    def batch_field(self, state: Mapping[str, np.ndarray], batch: Batch) -> State:
        """The minibatch estimate of :meth:`field`: ``Sigma`` and ``M`` replaced by batch averages.

        ``batch = (X, Xp)`` of shape ``(..., B, d)`` broadcasting with the
        state's batch axes; ``O(B d h)`` per member.
        """
        W = state["W"]
        self._check_batch(W, batch)
        X, Xp = batch[0], batch[1]
        Wa = state["target"] if self.has_target else W
        B2 = 2.0 * X.shape[-2]
        SW = (_mT(X) @ (X @ W) + _mT(Xp) @ (Xp @ W)) / B2
        MWa = (_mT(X) @ (Xp @ Wa) + _mT(Xp) @ (X @ Wa)) / B2
        return self._velocities(state, SW, MWa)

    def step(self, state: Mapping[str, np.ndarray], batch: Batch | None, lr: float) -> State:
        """One SGD step at learning rate ``lr`` (exact field when ``batch`` is None).

        ``W`` and (trained) ``Wp`` move by ``lr`` times the field; the BYOL
        target then moves towards the new ``W``: ``Wa <- Wa + lr beta (W - Wa)``,
        which is ``ema Wa + (1 - ema) W`` at the loss's own ``lr``. DirectPred:
        ``F <- rho F + (1 - rho) F_B`` with ``F_B = W^T Sigma_B W`` at the old
        ``W``, then ``Wp`` is set from ``F``.
        """
        v = self.field(state) if batch is None else self.batch_field(state, batch)
        new = {"W": state["W"] + lr * v["W"]}
        if not self.direct:
            new["predictor"] = state["predictor"] + lr * v["predictor"]
        if self.has_target:
            Wa = state["target"]
            new["target"] = Wa + (lr * self.ema_rate) * (new["W"] - Wa)
        if self.direct:
            W = state["W"]
            if batch is None:
                FB = _mT(W) @ self.Sigma @ W
            else:
                Z, Zp = batch[0] @ W, batch[1] @ W
                FB = (_mT(Z) @ Z + _mT(Zp) @ Zp) / (2.0 * Z.shape[-2])
            rho = self.correlation_momentum
            new["correlation"] = rho * state["correlation"] + (1.0 - rho) * FB
            new["predictor"] = direct_predictor(new["correlation"], self.eps)
        return new

    def check_lr(self, lr: float) -> None:
        """Raise unless the target's per-step mixing ``lr * beta`` lies in ``(0, 1]``."""
        if self.has_target and lr * self.ema_rate > 1.0:
            raise ValueError(
                f"lr = {lr:.6g} is too large for the EMA rate beta = {self.ema_rate:.6g}: the target's "
                f"per-step mixing lr * beta = {lr * self.ema_rate:.3g} exceeds 1"
            )

    # -- the loss itself (diagnostics and the stop-gradient test) ---------------------------------
    def objective(self, W: np.ndarray, predictor: np.ndarray, target: np.ndarray) -> np.ndarray:
        r"""``J = 1/2 E||Wp W^T x1 - Wa^T x2||^2`` (symmetrised), population or full data.

        ``J = 1/2 tr(Wp W^T Sigma W Wp^T) - tr(Wp W^T M Wa) + 1/2 tr(Wa^T Sigma Wa)``
        with the online ``W``, predictor ``Wp`` and target ``Wa`` as separate
        arguments; without weight decay. The ``W``- and ``Wp``-parts of
        :meth:`field` are minus its partial derivatives in ``W`` and ``Wp``
        (minus ``eta`` times the weights): the target slot gets no gradient.
        """
        W, P, Wa = (np.asarray(a, dtype=np.float64) for a in (W, predictor, target))
        Z = W @ _mT(P)
        return (
            0.5 * np.sum(Z * (self.Sigma @ Z), axis=(-2, -1))
            - np.sum(Z * (self.M @ Wa), axis=(-2, -1))
            + 0.5 * np.sum(Wa * (self.Sigma @ Wa), axis=(-2, -1))
        )

    def __repr__(self) -> str:
        src = repr(self.model) if self.model is not None else f"data n={self.n}, d={self.d}"
        extra = f", ema={self.ema:g}" if self.has_target else ""
        pred = "direct" if self.direct else f"alpha_p={self.predictor_lr:g}"
        return f"{type(self).__name__}[{self.name}]({src}, eta={self.weight_decay:g}, {pred}{extra})"


def simsiam(
    source: Any,
    *,
    predictor: ArrayLike | str | None = None,
    weight_decay: float = 0.0,
    predictor_lr: float = 1.0,
    correlation_momentum: float = 0.3,
    eps: float = 0.1,
) -> PredictorLoss:
    r"""SimSiam [CH21]_ with a linear predictor: target ``Wa = W`` behind a stop-gradient.

    Parameters
    ----------
    source : AugmentationModel or (X, Xp)
        Population form (closed-form ``Sigma``, ``M``) or arrays of ``n`` pairs.
    predictor : array_like (h, h), None or "direct"
        The initial predictor (None: ``I_h``), or ``"direct"`` for DirectPred.
    weight_decay : float >= 0
        ``eta``, on ``W`` and ``Wp``.
    predictor_lr : float > 0
        ``alpha_p``, the predictor's learning rate relative to ``W``'s.
    correlation_momentum : float in [0, 1)
        DirectPred's ``rho`` (SGD only; the flow uses the exact correlation).
    eps : float >= 0
        DirectPred's ``eps``.

    Returns
    -------
    PredictorLoss
        The dynamics of :mod:`grassdyn.ssl.predictor` with ``Wa = W``.

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> loss = simsiam(AugmentationModel(6, [2.0, 1.0], [1.0], rho=0.5, noise=0.1, rng=0), weight_decay=0.01)
    >>> loss.dynamic_keys, loss.is_gradient
    (('W', 'predictor'), False)
    """
    return PredictorLoss(
        source, name="simsiam", predictor=predictor, weight_decay=weight_decay, predictor_lr=predictor_lr,
        ema=0.0, lr=None, correlation_momentum=correlation_momentum, eps=eps,
    )


def byol(
    source: Any,
    *,
    predictor: ArrayLike | str | None = None,
    ema: float = 0.99,
    lr: float | None = None,
    weight_decay: float = 0.0,
    predictor_lr: float = 1.0,
    correlation_momentum: float = 0.3,
    eps: float = 0.1,
) -> PredictorLoss:
    r"""BYOL [G20]_ with a linear predictor: the target is an EMA of the online weights.

    Parameters as in :func:`simsiam`, and

    ema : float in [0, 1)
        Target momentum per SGD step, ``Wa <- ema Wa + (1 - ema) W``;
        ``ema = 0`` is SimSiam.
    lr : float > 0
        The SGD learning rate ``ema`` refers to (needed when ``ema > 0``):
        the flow's EMA rate is ``beta = (1 - ema) / lr`` (the ``Wa`` equation of [TCG21]_).

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> loss = byol(AugmentationModel(6, [2.0], [1.0], rho=0.5, noise=0.1, rng=0), ema=0.9, lr=0.05)
    >>> loss.dynamic_keys, round(loss.ema_rate, 6)
    (('W', 'predictor', 'target'), 2.0)
    """
    return PredictorLoss(
        source, name="byol", predictor=predictor, weight_decay=weight_decay, predictor_lr=predictor_lr,
        ema=ema, lr=lr, correlation_momentum=correlation_momentum, eps=eps,
    )
