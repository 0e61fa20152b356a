r"""VICReg (Bardes, Ponce & LeCun, ICLR 2022): invariance, variance and covariance terms.

With ``f(x) = W^T x`` and embeddings ``Z = X W``, ``Z' = X+ W`` of a batch of
``B`` pairs, the loss of Bardes et al. (eqs. 1-6, with the paper's
normalisations) is

.. math::

    \ell = \lambda\, s(Z, Z') + \mu\,[v(Z) + v(Z')] + \nu\,[c(Z) + c(Z')], \\
    s = \tfrac1B \sum_i \|z_i - z'_i\|^2, \quad
    v(Z) = \tfrac1h \sum_j \max(0, \gamma - \sqrt{\operatorname{Var}(z^j) + \epsilon}), \quad
    c(Z) = \tfrac1h \sum_{i \ne j} \operatorname{Cov}(Z)_{ij}^2,

with the unbiased (``1/(B-1)``) batch covariance ``Cov(Z) = W^T hat Sigma W``.
Defaults ``lambda = mu = 25``, ``nu = 1``, ``gamma = 1``, ``eps = 1e-4`` are the
paper's. (The authors' code averages ``s`` also over the ``h`` coordinates and
halves ``v``; here the paper's formulas are used.)

**Population form** (docs/conventions.md data model; both views have the
same law, so ``v(Z) = v(Z')`` and ``c(Z) = c(Z')`` in expectation):

.. math:: L(W) = \lambda \operatorname{tr}(W^\top D W)
          + \tfrac{2\mu}{h} \sum_j \max(0, \gamma - \sqrt{S_{jj} + \epsilon})
          + \tfrac{2\nu}{h} \sum_{i \ne j} S_{ij}^2,

``D = E[(x - x+)(x - x+)^T] = 2 Sigma - 2 sym E[x x+^T]`` and
``S = W^T Cov(x) W``. Gradient (where no hinge sits at its kink):
``2 lambda D W - (2 mu / h) Cov(x) W diag(a_j / sqrt(S_jj + eps)) + (8 nu / h) Cov(x) W offdiag(S)``
with ``a_j = 1`` if the hinge of coordinate ``j`` is active, else 0.
The population form is the ``B -> infinity`` limit of the minibatch loss: the
batch covariance is unbiased, but the hinge of a square root and the squares
are not linear in it, so ``E[batch_value] - value = O(1/B)`` (and so for the
gradient).

**A non-smooth flow.** The hinge has a kink at ``sqrt(S_jj + eps) = gamma``,
and the unconstrained flow reaches it and then slides along it (the variance
term pushes up from below, the invariance term pulls down from above): a
Filippov sliding mode. An adaptive integrator stalls there; integrate with
fixed steps (``flows.integrate(..., method="rk4", step=...)``), which
chatter within ``O(step)`` of the kink, or run SGD.

**Not invariant under** ``W -> W Q``: the variance and covariance terms act
on the coordinates of the embedding (the covariance term vanishes only in the
basis that diagonalises ``S``). VICReg therefore has no Grassmannian flow:
``grassmann_invariant`` is False and :func:`grassdyn.flows.integrate` and
:func:`grassdyn.sgd.simulate` refuse it with ``manifold="grassmann"``; train it
on the unconstrained model (``manifold="euclidean"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_int, as_real
from grassdyn.ssl._base import Batch, SSLLoss, _sym

__all__ = ["VICReg", "vicreg"]


class VICReg(SSLLoss):
    """VICReg on a data model (population form) or arrays (the whole data set as one batch).

    See :mod:`grassdyn.ssl.variance_covariance` for the formulas and conventions.
    """

    name = "vicreg"
    #: the variance and covariance terms depend on the embedding's basis (see the module docstring)
    grassmann_invariant = False

    def __init__(
        self,
        source: Any,
        invariance: float = 25.0,
        variance: float = 25.0,
        covariance: float = 1.0,
        gamma: float = 1.0,
        eps: float = 1e-4,
    ) -> None:
        super().__init__(source)
        self.invariance = as_real(invariance, "invariance", low=0.0)
        self.variance = as_real(variance, "variance", low=0.0)
        self.covariance = as_real(covariance, "covariance", low=0.0)
        self.gamma = as_real(gamma, "gamma", low=0.0)
        self.eps = as_real(eps, "eps", low=0.0, low_open=True)
        if self.model is not None:
            Sigma = self.model.second_moment
            self.D = 2.0 * Sigma - 2.0 * _sym(self.model.cross_moment)
            self.Cov = Sigma - np.outer(self.model.mean, self.model.mean)

    def _check_W(self, W: Any) -> np.ndarray:
        W = as_float_array(W, "W", min_ndim=2)
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows, got shape {W.shape}")
        return W

    def _reg(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``mu v + nu c`` for one view of covariance ``S``, and its derivative in ``S`` (symmetric)."""
        h = S.shape[-1]
        std = np.sqrt(np.diagonal(S, axis1=-2, axis2=-1) + self.eps)
        gap = self.gamma - std
        active = gap > 0
        off = S * (1.0 - np.eye(h))
        val = (self.variance * np.sum(np.where(active, gap, 0.0), axis=-1)
               + self.covariance * np.sum(off * off, axis=(-2, -1))) / h
        dS = (2.0 * self.covariance / h) * off
        dS = dS - (self.variance / h) * np.eye(h) * (np.where(active, 0.5 / std, 0.0))[..., None, :]
        return val, dS

    def value(self, W: Any) -> float | np.ndarray:
        W = self._check_W(W)
        if self.model is None:
            v = self.batch_value(W, self.data)
        else:
            S = _mT(W) @ self.Cov @ W
            inv = np.sum(W * (self.D @ W), axis=(-2, -1))
            v = self.invariance * inv + 2.0 * self._reg(S)[0]
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: Any) -> np.ndarray:
        W = self._check_W(W)
        if self.model is None:
            return self.batch_egrad(W, self.data)
        CW = self.Cov @ W
        _, dS = self._reg(_mT(W) @ CW)
        # d/dW of f(W^T Cov W) is 2 Cov W df/dS for symmetric df/dS; two views
        return 2.0 * self.invariance * (self.D @ W) + 4.0 * CW @ dS

    def draw(self, batch_size: int, rng: Any = None, *, batch: tuple[int, ...] = (), replace: bool = True):
        """A minibatch as in :meth:`SSLLoss.draw`; VICReg's batch variance needs ``batch_size >= 2``."""
        if as_int(batch_size, "batch_size", minimum=1) < 2:
            raise ValueError(f"batch_size must be >= 2 for VICReg's batch variance, got {batch_size}")
        return super().draw(batch_size, rng, batch=batch, replace=replace)

    def _terms(self, W: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        X, Xp = batch[0], batch[1]
        B = X.shape[-2]
        if B < 2:
            raise ValueError(f"VICReg needs a batch of at least 2 pairs for its variance, got B = {B}")
        E = X - Xp
        EW = E @ W
        val = self.invariance * np.sum(EW * EW, axis=(-2, -1)) / B
        grad = (2.0 * self.invariance / B) * (_mT(E) @ EW)
        for V in (X, Xp):
            Vc = V - V.mean(axis=-2, keepdims=True)
            P = Vc @ W
            r, dS = self._reg(_mT(P) @ P / (B - 1))
            val = val + r
            grad = grad + (2.0 / (B - 1)) * (_mT(Vc) @ (P @ dS))
        return val, grad

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        """VICReg of a minibatch (Bardes et al.'s loss), shape ``batch``."""
        return self._terms(W, batch)[0]

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        """Gradient of :meth:`batch_value`, ``(*batch, d, h)``, in O(B d h)."""
        return self._terms(W, batch)[1]


def vicreg(
    source: Any,
    invariance: float = 25.0,
    variance: float = 25.0,
    covariance: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> VICReg:
    """VICReg (Bardes, Ponce & LeCun 2022) on a data model or on arrays ``(X, Xp)``.

    Parameters
    ----------
    source : AugmentationModel or tuple of arrays (X, Xp)
    invariance, variance, covariance : float >= 0
        The weights ``lambda``, ``mu``, ``nu``.
    gamma : float >= 0
        Target standard deviation of every embedding coordinate.
    eps : float > 0
        Added to the variance under the square root.

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> loss = vicreg(AugmentationModel(5, [2.0], [1.0], rho=0.5, noise=0.1, rng=0))
    >>> loss.grassmann_invariant
    False
    """
    return VICReg(source, invariance, variance, covariance, gamma, eps)
