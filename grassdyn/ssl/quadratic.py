"""The quadratic SSL losses: alignment and contrastive, ``L = -1/2 tr(W^T C W)``.

Conventions and sources as in :mod:`grassdyn.ssl`: alignment has generator
``C = sym E[x x+^T]``, contrastive ``C = sym(E[x x+^T] - E[x x-^T])``, with
in-batch negatives estimated by a U-statistic on arrays ``(X, Xp)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_int, check_finite_result
from grassdyn.objectives import Quadratic
from grassdyn.ssl._base import Batch, SSLLoss, _sym
from grassdyn.ssl._online import ExactOnlineNoise

__all__ = ["Alignment", "Contrastive", "StackedPairs", "alignment", "contrastive"]


class _QuadraticSSL(SSLLoss, Quadratic):
    """An SSL loss that is the quadratic objective of its generator ``C``."""

    def __init__(self, source: Any) -> None:
        SSLLoss.__init__(self, source)
        with np.errstate(over="ignore", invalid="ignore"):
            C = self._population_generator() if self.model is not None else self._empirical_generator()
        check_finite_result(C, "the generator C", "source: its entries are too large (products overflow)")
        Quadratic.__init__(self, C)

    def _population_generator(self) -> np.ndarray:
        raise NotImplementedError

    def _empirical_generator(self) -> np.ndarray:
        raise NotImplementedError

    def _cross_action(self, W: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """``(K W, K^T W)`` for the minibatch's raw (unsymmetrised) generator ``K``."""
        raise NotImplementedError

    def online_noise(self, batch_size: int, h: int) -> ExactOnlineNoise:
        """The exact online sampler of this loss's minibatch gradient (``grassdyn.ssl._online``).

        Only for the population form (a loss on a data model): ``ValueError`` otherwise.
        """
        if self.model is None:
            raise ValueError("online_noise needs a loss on a data model (the online regime), not arrays")
        B = as_int(batch_size, "batch_size", minimum=1)
        h = as_int(h, "h", minimum=1)
        return ExactOnlineNoise(self.model, B, h, contrastive=self.needs_negatives)

    def stacked_pairs(self) -> StackedPairs:
        """Fixed-data minibatch gradients from one gather of stacked rows (:class:`StackedPairs`).

        Only for the empirical form (a loss on arrays): ``ValueError`` otherwise.
        """
        if self.data is None:
            raise ValueError("stacked_pairs needs a loss on arrays (a fixed data set), not a data model")
        X, Xp = self.data[0], self.data[1]
        if len(self.data) == 3:  # only contrastive uses a third view: K = X^T (X+ - X-) / n
            return StackedPairs(X, Xp - self.data[2], in_batch_negatives=False)
        return StackedPairs(X, Xp, in_batch_negatives=self.needs_negatives)

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = self._check_batch(W, batch)
        with np.errstate(over="ignore", invalid="ignore"):
            KW, KtW = self._cross_action(W, batch)
            G = -0.5 * (KW + KtW)
        return self._checked(G, "batch_egrad(W, batch)", W, batch)

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = self._check_batch(W, batch)
        with np.errstate(over="ignore", invalid="ignore"):
            KW, _ = self._cross_action(W, batch)
            v = -0.5 * np.sum(W * KW, axis=(-2, -1))
        return self._checked(v, "batch_value(W, batch)", W, batch)


class StackedPairs:
    r"""The minibatch gradient ``-(X^T Y W + Y^T X W) / (2B)`` from one gather and two products.

    Rows ``x_b`` and ``y_b`` (``y = x+``, or ``x+ - x-`` for contrastive
    triplets) are stored interleaved, ``(n, 2, d)``, so a minibatch is one
    gather ``F`` (..., 2B, d). ``F W`` holds ``u_b = W^T x_b`` and
    ``v_b = W^T y_b`` interleaved; swapping each pair gives ``[v_b; u_b]``, and
    ``F^T [v; u] = sum_b x_b v_b^T + y_b u_b^T = X^T V + Y^T U``: two batched
    products instead of four, one gather instead of two. With in-batch
    negatives (contrastive on pairs) the U-statistic of
    ``_in_batch_negative_action`` adds the rank-one terms
    ``s (1^T V) + s+ (1^T U)``, ``s = sum_b x_b``:
    ``G = -[(X^T V + Y^T U) / (B - 1) - (s 1^T V + s+ 1^T U) / (B (B - 1))] / 2``.
    Same estimator as ``batch_egrad`` on the same rows (up to rounding).
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, *, in_batch_negatives: bool) -> None:
        self.rows = np.ascontiguousarray(np.stack([X, Y], axis=1))
        self.in_batch = in_batch_negatives

    def take(self, indices: np.ndarray) -> np.ndarray:
        """Stacked rows of a minibatch ``indices`` (..., B): shape (..., 2B, d)."""
        out = np.take(self.rows, indices, axis=0)
        return out.reshape(*indices.shape[:-1], 2 * indices.shape[-1], self.rows.shape[-1])

    def egrad(self, W: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Minibatch gradients ``(..., d, h)`` at ``W`` (..., d, h) from stacked rows ``F`` (..., 2B, d)."""
        B = F.shape[-2] // 2
        UV = F @ W
        pairs = UV.reshape(*UV.shape[:-2], B, 2, UV.shape[-1])
        swapped = pairs[..., ::-1, :].reshape(UV.shape)
        core = _mT(F) @ swapped
        if not self.in_batch:
            return core * (-0.5 / B)
        sums = F.reshape(*F.shape[:-2], B, 2, F.shape[-1]).sum(axis=-3)  # s, s+
        ones = pairs.sum(axis=-3)  # 1^T U, 1^T V
        rank_one = (sums[..., 0, :, None] * ones[..., 1, None, :]
                    + sums[..., 1, :, None] * ones[..., 0, None, :])
        return (core / (B - 1) - rank_one / (B * (B - 1))) * -0.5


class Alignment(_QuadraticSSL):
    """Non-contrastive alignment loss ``L = -1/2 E[f(x)^T f(x+)]``; ``C = sym E[x x+^T]``."""

    name = "alignment"

    def _population_generator(self) -> np.ndarray:
        return _sym(self.model.cross_moment)

    def _empirical_generator(self) -> np.ndarray:
        X, Xp = self.data[0], self.data[1]
        return _sym(X.T @ Xp) / X.shape[0]

    def _cross_action(self, W, batch):
        X, Xp = batch[0], batch[1]
        B = X.shape[-2]
        return _mT(X) @ (Xp @ W) / B, _mT(Xp) @ (X @ W) / B


def _in_batch_negative_action(X, Xp, W):
    """``(N W, N^T W)`` for ``N = (s s+^T - X^T X+) / (B (B - 1))``."""
    B = X.shape[-2]
    s = X.sum(axis=-2)[..., :, None]
    sp = Xp.sum(axis=-2)[..., :, None]
    norm = B * (B - 1)
    NW = (s @ (_mT(sp) @ W) - _mT(X) @ (Xp @ W)) / norm
    NtW = (sp @ (_mT(s) @ W) - _mT(Xp) @ (X @ W)) / norm
    return NW, NtW


class Contrastive(_QuadraticSSL):
    """Contrastive loss ``L = -1/2 E[f(x)^T (f(x+) - f(x-))]``; ``C = sym(E[x x+^T] - E[x x-^T])``."""

    name = "contrastive"
    needs_negatives = True

    def _population_generator(self) -> np.ndarray:
        return _sym(self.model.cross_moment - self.model.negative_moment)

    def _empirical_generator(self) -> np.ndarray:
        X, Xp = self.data[0], self.data[1]
        n = X.shape[0]
        if len(self.data) == 3:
            return _sym(X.T @ (Xp - self.data[2])) / n
        s, sp = X.sum(axis=0), Xp.sum(axis=0)
        neg = (np.outer(s, sp) - X.T @ Xp) / (n * (n - 1))
        return _sym(X.T @ Xp / n - neg)

    def _cross_action(self, W, batch):
        X, Xp = batch[0], batch[1]
        B = X.shape[-2]
        if len(batch) == 3:
            D = Xp - batch[2]
            return _mT(X) @ (D @ W) / B, _mT(D) @ (X @ W) / B
        if B < 2:
            raise ValueError("in-batch negatives need a minibatch of at least 2 pairs")
        NW, NtW = _in_batch_negative_action(X, Xp, W)
        return _mT(X) @ (Xp @ W) / B - NW, _mT(Xp) @ (X @ W) / B - NtW


def alignment(source: Any) -> Alignment:
    """The alignment (non-contrastive) loss on a data model or on arrays ``(X, Xp[, Xn])``.

    Examples
    --------
    >>> from grassdyn.data import AugmentationModel
    >>> model = AugmentationModel(5, [2.0], [1.0], rho=0.5, noise=0.1, rng=0)
    >>> alignment(model).C.shape
    (5, 5)
    """
    return Alignment(source)


def contrastive(source: Any) -> Contrastive:
    """The contrastive loss on a data model or on arrays ``(X, Xp)`` / ``(X, Xp, Xn)``."""
    return Contrastive(source)
