"""The spectral contrastive loss of HaoChen, Wei, Gaidon & Ma (NeurIPS 2021), not quadratic.

``L = -E[f(x)^T f(x+)] + 1/2 E[(f(x)^T f(x-))^2]`` with ``f(x) = W^T x``;
conventions as in :mod:`grassdyn.ssl`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, check_finite_result
from grassdyn.ssl._base import Batch, SSLLoss, _sym

__all__ = ["SpectralContrastive", "spectral_contrastive"]


class SpectralContrastive(SSLLoss):
    r"""Spectral contrastive loss ``L = -E[f(x)^T f(x+)] + 1/2 E[(f(x)^T f(x-))^2]``.

    Notes
    -----
    Population form, with ``M = sym E[x x+^T]``, ``Sigma = E[x x^T]`` and
    ``S = W^T Sigma W`` (``x-`` is independent of ``x`` with the same law):
    ``L = -tr(W^T M W) + 1/2 tr(S^2)`` and ``egrad = -2 M W + 2 Sigma W S``.
    Invariant under ``W -> W R``, so it defines an objective on Gr(d, h).
    Sample form: the same expectations over the data set (explicit negatives
    ``Xn``, or in-batch negatives over all ``j != i``).
    """

    name = "spectral_contrastive"
    needs_negatives = True

    def __init__(self, source: Any) -> None:
        super().__init__(source)
        if self.model is not None:
            self.M = _sym(self.model.cross_moment)
            self.Sigma = self.model.second_moment

    def _check_W(self, W: Any) -> np.ndarray:
        W = as_float_array(W, "W", min_ndim=2)
        if W.shape[-2] != self.d or W.shape[-1] < 1:
            raise ValueError(f"W must have shape (..., d, h) with d = {self.d} and h >= 1, got {W.shape}")
        return W

    def value(self, W: Any) -> float | np.ndarray:
        """The loss at ``W`` (..., d, h); raises naming ``W`` when it is too large to represent."""
        W = self._check_W(W)
        if self.model is None:
            v = self.batch_value(W, self.data)
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                S = _mT(W) @ self.Sigma @ W
                v = -np.sum(W * (self.M @ W), axis=(-2, -1)) + 0.5 * np.sum(S * S, axis=(-2, -1))
            # quartic in W: for max|W| ~ 1e77 and beyond the value itself exceeds float64's range
            check_finite_result(v, "SpectralContrastive.value(W)", "W is too large (the loss is quartic)")
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: Any) -> np.ndarray:
        """The Euclidean gradient at ``W``; raises naming ``W`` when it is too large to represent."""
        W = self._check_W(W)
        if self.model is None:
            return self.batch_egrad(W, self.data)
        with np.errstate(over="ignore", invalid="ignore"):
            SW = self.Sigma @ W
            G = -2.0 * (self.M @ W) + 2.0 * SW @ (_mT(W) @ SW)
        check_finite_result(G, "SpectralContrastive.egrad(W)", "W is too large (the gradient is cubic in W)")
        return G

    def _terms(self, W: np.ndarray, batch: Batch):
        X, Xp = batch[0], batch[1]
        B = X.shape[-2]
        F, G = X @ W, Xp @ W
        align_grad = -(_mT(X) @ G + _mT(Xp) @ F) / B
        align_val = -np.sum(F * G, axis=(-2, -1)) / B
        if len(batch) == 3:
            Xn = batch[2]
            Fn = Xn @ W
            a = np.sum(F * Fn, axis=-1, keepdims=True)  # (..., B, 1)
            rep_val = 0.5 * np.sum(a**2, axis=(-2, -1)) / B
            rep_grad = (_mT(X) @ (a * Fn) + _mT(Xn) @ (a * F)) / B
        else:
            if B < 2:
                raise ValueError("in-batch negatives need a minibatch of at least 2 pairs")
            T = F @ _mT(G)
            T = T - np.eye(B) * T  # drop the positive pairs on the diagonal
            norm = B * (B - 1)
            rep_val = 0.5 * np.sum(T * T, axis=(-2, -1)) / norm
            rep_grad = (_mT(X) @ (T @ G) + _mT(Xp) @ (_mT(T) @ F)) / norm
        return align_val + rep_val, align_grad + rep_grad

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = self._check_batch(W, batch)
        with np.errstate(over="ignore", invalid="ignore"):
            v = self._terms(W, batch)[0]
        return self._checked(v, "batch_value(W, batch)", W, batch)

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = self._check_batch(W, batch)
        with np.errstate(over="ignore", invalid="ignore"):
            G = self._terms(W, batch)[1]
        return self._checked(G, "batch_egrad(W, batch)", W, batch)


def spectral_contrastive(source: Any) -> SpectralContrastive:
    """The spectral contrastive loss of HaoChen et al. (2021) on a model or arrays."""
    return SpectralContrastive(source)
