r"""The Barlow Twins loss on the symmetrised cross-correlation, in the unnormalised form of Simon et al.

With ``f(x) = W^T x`` and ``Gamma = sym E[x x+^T]`` (docs/conventions.md),
the symmetrised cross-correlation of the two views' embeddings is

.. math:: C_{cc}(W) = \tfrac12 E[f(x) f(x_+)^\top + f(x_+) f(x)^\top] = W^\top \Gamma W,

and the loss is

.. math:: L(W) = \sum_i (C_{cc,ii} - 1)^2 + \beta \sum_{i \ne j} C_{cc,ij}^2
          = \sum_{ij} \omega_{ij} (C_{cc} - I)_{ij}^2, \quad
          \omega = \beta\,\mathbf 1 \mathbf 1^\top + (1 - \beta) I,

with ``beta = off_diagonal``. This is the linear model of Zbontar et al.
("Barlow Twins: self-supervised learning via redundancy reduction", ICML
2021) without the batch standardisation, as analysed by Simon et al. ("On
the stepwise nature of self-supervised learning", ICML 2023, §3, where
``beta = 1`` and the loss is ``||C - I||_F^2``).

**Gradient.** ``egrad = 4 Gamma W (omega * (C_cc - I))`` (entrywise
``omega *``); the unconstrained flow ``dW/dt = -egrad`` is the one of
:mod:`grassdyn.theory` ``stepwise``.

**Invariance.** ``C_cc(W Q) = Q^T C_cc Q``: for ``beta = 1`` the loss is
``||Q^T (C_cc - I) Q||_F^2``, invariant under ``W -> W Q`` (``Q`` in
O(h)), so it defines an objective on Gr(d, h) (``grassmann_invariant`` is
True). For ``beta != 1`` the split into diagonal and off-diagonal entries
depends on the basis and it is not invariant: the Grassmannian flows refuse it.

**Minibatches.** ``hat C_cc = sym(F^T G) / B`` with ``F = X W``, ``G = X+ W``
is unbiased for ``C_cc``, but the loss is quadratic in it, so
``E[batch_value] = value + (1/B) sum_ij omega_ij Var(c_ij)`` exactly, where
``c = sym(f(x) f(x+)^T)`` is one pair's estimate, and ``E[batch_egrad] =
egrad + (1/B) grad V`` with ``V(W) = sum_ij omega_ij Var(c_ij)``: a bias of
order ``1/B`` (tested exactly by enumeration in ``tests/test_losses.py``).

**Normalisation.** Zbontar et al. standardise each embedding coordinate over
the batch. Its population form is
``D^{-1/2} W^T Cov(x, x+)_sym W D^{-1/2}`` with ``D = diag(W^T Cov(x) W)``;
it is not implemented here (no ``normalize`` option): the unnormalised form
is the one whose dynamics Simon et al. solve.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_real
from grassdyn.ssl._base import Batch, SSLLoss, _sym

__all__ = ["BarlowTwins", "barlow_twins"]


class BarlowTwins(SSLLoss):
    r"""Barlow Twins ``L = ||diag(C_cc) - 1||^2 + beta ||offdiag(C_cc)||^2``, ``C_cc = W^T Gamma W``.

    See :mod:`grassdyn.ssl.redundancy` for the formula, its gradient, its
    minibatch bias and its invariance. ``.Gamma`` is the population (or
    full-data) symmetrised cross-moment ``sym E[x x+^T]``.
    """

    name = "barlow_twins"

    def __init__(self, source: Any, off_diagonal: float = 1.0) -> None:
        super().__init__(source)
        self.off_diagonal = as_real(off_diagonal, "off_diagonal", low=0.0)
        #: W -> W Q leaves the loss unchanged only when diagonal and off-diagonal weigh alike
        self.grassmann_invariant = self.off_diagonal == 1.0
        if self.model is not None:
            self.Gamma = _sym(self.model.cross_moment)
        else:
            X, Xp = self.data[0], self.data[1]
            self.Gamma = _sym(X.T @ Xp) / X.shape[0]

    def _weights(self, h: int) -> np.ndarray:
        b = self.off_diagonal
        return np.full((h, h), b) + (1.0 - b) * np.eye(h)

    def _check_W(self, W: Any) -> np.ndarray:
        W = as_float_array(W, "W", min_ndim=2)
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows, got shape {W.shape}")
        return W

    def cross_correlation(self, W: Any) -> np.ndarray:
        """``C_cc = W^T Gamma W``, shape ``(..., h, h)``."""
        W = self._check_W(W)
        return _mT(W) @ self.Gamma @ W

    def _from_ccc(self, Ccc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and ``omega * (C_cc - I)`` from the cross-correlation."""
        h = Ccc.shape[-1]
        D = Ccc - np.eye(h)
        wD = self._weights(h) * D
        return np.sum(wD * D, axis=(-2, -1)), wD

    def value(self, W: Any) -> float | np.ndarray:
        v, _ = self._from_ccc(self.cross_correlation(W))
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: Any) -> np.ndarray:
        W = self._check_W(W)
        GW = self.Gamma @ W
        _, wD = self._from_ccc(_mT(W) @ GW)
        return 4.0 * GW @ wD

    def _batch_terms(self, W: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        X, Xp = batch[0], batch[1]
        B = X.shape[-2]
        F, G = X @ W, Xp @ W
        v, wD = self._from_ccc(_sym(_mT(F) @ G) / B)
        # d/dW of sum omega (sym(F^T G)/B - I)^2 = (2/B)(X^T G + X+^T F) wD, wD symmetric
        grad = (2.0 / B) * (_mT(X) @ (G @ wD) + _mT(Xp) @ (F @ wD))
        return v, grad

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        """The loss of the minibatch cross-correlation ``sym(F^T G) / B`` (biased by O(1/B), see module)."""
        return self._batch_terms(W, batch)[0]

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        """Gradient of :meth:`batch_value`, ``(*batch, d, h)``, in O(B d h)."""
        return self._batch_terms(W, batch)[1]


def barlow_twins(source: Any, off_diagonal: float = 1.0) -> BarlowTwins:
    """The Barlow Twins loss (unnormalised, symmetrised; Simon et al. 2023) on a model or arrays.

    Parameters
    ----------
    source : AugmentationModel or tuple of arrays (X, Xp)
        Population form (``Gamma = sym E[x x+^T]`` in closed form) or
        empirical form (``Gamma = sym(X^T X+) / n``).
    off_diagonal : float >= 0
        Weight ``beta`` of the off-diagonal (redundancy-reduction) term.

    Examples
    --------
    >>> import numpy as np
    >>> from grassdyn.data import AugmentationModel
    >>> model = AugmentationModel(4, [2.0], [1.0], rho=0.5, noise=0.1, rng=0)
    >>> loss = barlow_twins(model)
    >>> W = np.linalg.eigh(loss.Gamma)[1][:, -1:] / np.sqrt(np.linalg.eigvalsh(loss.Gamma)[-1])
    >>> round(loss.value(W), 12)  # C_cc = 1 at the rescaled top eigenvector
    0.0
    """
    return BarlowTwins(source, off_diagonal)
