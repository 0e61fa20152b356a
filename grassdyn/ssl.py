r"""Linear SSL losses, in population form (from a data model) and sample form (from arrays).

The representation is ``f(x) = W^T x`` with ``W`` of shape ``(d, h)``. One
convention throughout (DESIGN.md §1):

- alignment (non-contrastive): ``L = -1/2 E[f(x)^T f(x+)]``, generator
  ``C = sym E[x x+^T]``;
- contrastive: ``L = -1/2 E[f(x)^T (f(x+) - f(x-))]``, generator
  ``C = sym(E[x x+^T] - E[x x-^T])``;
- spectral contrastive (HaoChen, Wei, Gaidon & Ma, "Provable guarantees for
  self-supervised deep learning with spectral contrastive loss", NeurIPS
  2021): ``L = -E[f(x)^T f(x+)] + 1/2 E[(f(x)^T f(x-))^2]``, not quadratic.

``sym A = (A + A^T)/2``. The quadratic losses are
:class:`grassdyn.objectives.Quadratic` objectives ``L = -1/2 tr(W^T C W)``
and expose ``.C``.

**Sources.** ``source`` is an :class:`~grassdyn.data.AugmentationModel`
(population form: expectations in closed form; minibatches are fresh draws,
with an independent negative view for the contrastive losses), or arrays of
pairs (empirical form over a finite data set of ``n`` rows): ``(X, Xp)`` or
``(X, Xp, Xn)``, each of shape ``(n, d)``. With ``(X, Xp)`` the contrastive
losses use in-batch negatives: ``x_i`` is contrasted with ``x+_j`` for all
``j != i``, so ``E[x x-^T]`` is estimated by the U-statistic
``(s s+^T - X^T X+) / (n (n - 1))`` with ``s = sum_i x_i``, ``s+ = sum_i x+_i``.
The empirical generator replaces the population one, and minibatch gradients
are unbiased estimates of the full-data gradient for minibatches drawn
without replacement (with replacement, in-batch negatives carry an
``O(B / n)`` bias from repeated rows).

**Minibatches** (used by :func:`grassdyn.sgd.simulate`): ``draw`` returns a
tuple of arrays of shape ``(*batch, B, d)``; ``batch_value`` and
``batch_egrad`` evaluate the minibatch loss and its Euclidean gradient,
broadcasting ``W`` of shape ``(*batch, d, h)``, in O(B d h) without forming
any ``d x d`` matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_int, as_rng
from grassdyn.data import AugmentationModel
from grassdyn.objectives import Quadratic

__all__ = [
    "Alignment",
    "Contrastive",
    "SSLLoss",
    "SpectralContrastive",
    "alignment",
    "contrastive",
    "spectral_contrastive",
]

Batch = tuple[np.ndarray, ...]



def _sym(A: np.ndarray) -> np.ndarray:
    return 0.5 * (A + _mT(A))


def _parse_source(source: Any) -> tuple[AugmentationModel | None, Batch | None]:
    if isinstance(source, AugmentationModel):
        return source, None
    if isinstance(source, (tuple, list)) and len(source) in (2, 3):
        names = ("X", "Xp", "Xn")[: len(source)]
        arrays = tuple(as_float_array(a, f"source {nm}") for a, nm in zip(source, names, strict=True))
        for a, nm in zip(arrays, names, strict=True):
            if a.ndim != 2:
                raise ValueError(f"source {nm} must have shape (n, d), got {a.shape}")
        if any(a.shape != arrays[0].shape for a in arrays):
            shapes = ", ".join(f"{nm} {a.shape}" for a, nm in zip(arrays, names, strict=True))
            raise ValueError(f"source arrays must all have the same shape (n, d), got {shapes}")
        if arrays[0].shape[0] < 2:
            raise ValueError(f"source must hold at least 2 rows, got n = {arrays[0].shape[0]}")
        return None, arrays
    raise TypeError(
        "source must be an AugmentationModel or a tuple of arrays (X, Xp) or (X, Xp, Xn), "
        f"got {type(source).__name__}"
    )


class SSLLoss:
    """Common machinery: the source, minibatch drawing and the full-data evaluation."""

    name = "ssl"
    #: whether a model-based minibatch needs an independent negative view
    needs_negatives = False

    def __init__(self, source: Any) -> None:
        self.model, self.data = _parse_source(source)

    @property
    def d(self) -> int:
        """Ambient dimension."""
        return self.model.d if self.model is not None else self.data[0].shape[1]

    @property
    def is_population(self) -> bool:
        """True for the population form (built on a data model)."""
        return self.model is not None

    @property
    def n(self) -> int | None:
        """Size of the finite data set, or None for the population form."""
        return None if self.data is None else self.data[0].shape[0]

    def draw(
        self,
        batch_size: int,
        rng: np.random.Generator | int | None = None,
        *,
        batch: tuple[int, ...] = (),
        replace: bool = True,
    ) -> Batch:
        """A minibatch: arrays of shape ``(*batch, B, d)``.

        Population form: fresh pairs (or triplets) from the model. Empirical
        form: rows of the data set, uniformly with replacement, or without
        replacement within each minibatch (``replace=False``).
        """
        B = as_int(batch_size, "batch_size", minimum=1)
        rng = as_rng(rng)
        if self.model is not None:
            if self.needs_negatives:
                return self.model.sample_triplets(B, rng, batch=batch)
            return self.model.sample_pairs(B, rng, batch=batch)
        n = self.n
        if B > n:
            raise ValueError(f"batch_size = {B} exceeds the data set size n = {n}")
        if replace:
            idx = rng.integers(0, n, size=(*batch, B))
        else:
            idx = rng.permuted(np.broadcast_to(np.arange(n), (*batch, n)), axis=-1)[..., :B]
        return self.take(idx)

    def take(self, indices: np.ndarray) -> Batch:
        """Rows ``indices`` (any integer array shape ``(..., B)``) of the data set."""
        if self.data is None:
            raise ValueError("take needs an empirical loss (built on arrays), not a data model")
        return tuple(a[indices] for a in self.data)

    def _check_batch(self, W: np.ndarray, batch: Batch) -> None:
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows, got shape {W.shape}")
        if len(batch) not in (2, 3) or any(b.shape[-1] != self.d for b in batch):
            raise ValueError("batch must be a tuple (X, Xp) or (X, Xp, Xn) of arrays (..., B, d)")

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        src = repr(self.model) if self.model is not None else f"data n={self.n}, d={self.d}"
        return f"{type(self).__name__}({src})"


class _QuadraticSSL(SSLLoss, Quadratic):
    """An SSL loss that is the quadratic objective of its generator ``C``."""

    def __init__(self, source: Any) -> None:
        SSLLoss.__init__(self, source)
        C = self._population_generator() if self.model is not None else self._empirical_generator()
        Quadratic.__init__(self, C)

    def _population_generator(self) -> np.ndarray:
        raise NotImplementedError

    def _empirical_generator(self) -> np.ndarray:
        raise NotImplementedError

    def _cross_action(self, W: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """``(K W, K^T W)`` for the minibatch's raw (unsymmetrised) generator ``K``."""
        raise NotImplementedError

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        KW, KtW = self._cross_action(W, batch)
        return -0.5 * (KW + KtW)

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        KW, _ = self._cross_action(W, batch)
        return -0.5 * np.sum(W * KW, axis=(-2, -1))


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
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows, got shape {W.shape}")
        return W

    def value(self, W: Any) -> float | np.ndarray:
        W = self._check_W(W)
        if self.model is None:
            v = self.batch_value(W, self.data)
        else:
            S = _mT(W) @ self.Sigma @ W
            v = -np.sum(W * (self.M @ W), axis=(-2, -1)) + 0.5 * np.sum(S * S, axis=(-2, -1))
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: Any) -> np.ndarray:
        W = self._check_W(W)
        if self.model is None:
            return self.batch_egrad(W, self.data)
        SW = self.Sigma @ W
        return -2.0 * (self.M @ W) + 2.0 * SW @ (_mT(W) @ SW)

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
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        return self._terms(W, batch)[0]

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        return self._terms(W, batch)[1]


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


def spectral_contrastive(source: Any) -> SpectralContrastive:
    """The spectral contrastive loss of HaoChen et al. (2021) on a model or arrays."""
    return SpectralContrastive(source)
