"""Sources and minibatches shared by every SSL loss: the :class:`SSLLoss` base class.

A source is an :class:`~grassdyn.data.AugmentationModel` (population form) or
arrays of pairs ``(X, Xp)`` / triplets ``(X, Xp, Xn)`` (empirical form); see
:mod:`grassdyn.ssl`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_int, as_rng, as_shape, check_allocation
from grassdyn.data import AugmentationModel

__all__ = ["Batch", "SSLLoss"]

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
        if arrays[0].shape[1] < 1:
            raise ValueError(f"source arrays must have d >= 1 columns, got shape {arrays[0].shape}")
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
        shape = as_shape(batch, "batch")
        check_allocation((3, *shape, B, self.d), f"batch_size = {B}, batch = {shape}: up to 3 views")
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
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"indices must be an array of integers, got dtype {idx.dtype}")
        n = self.n
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
            bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
            raise ValueError(f"indices must lie in [0, n) = [0, {n}), got {bad}")
        return tuple(a[idx] for a in self.data)

    def _check_batch(self, W: Any, batch: Any) -> np.ndarray:
        """``W`` as a float array after cheap structural checks of ``W`` and ``batch``.

        Finiteness is not checked here, entry by entry, on every SGD step:
        :meth:`_checked` checks the (much smaller) result and names the input
        at fault when it is not finite.
        """
        if not (isinstance(W, np.ndarray) and W.dtype == np.float64):
            # float64 arrays (the SGD loop's) skip the conversion; a NaN in them shows in the result
            W = as_float_array(W, "W", min_ndim=2)
        if W.ndim < 2 or W.shape[-2] != self.d or W.shape[-1] < 1:
            raise ValueError(f"W must have shape (..., d, h) with d = {self.d} and h >= 1, got {W.shape}")
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise TypeError(
                "batch must be a tuple (X, Xp) or (X, Xp, Xn) of arrays (..., B, d), got "
                f"{type(batch).__name__}"
            )
        for name, b in zip(("X", "Xp", "Xn"), batch, strict=False):
            if not isinstance(b, np.ndarray) or b.ndim < 2 or b.shape[-1] != self.d:
                raise ValueError(
                    f"batch {name} must be an array of shape (..., B, d) with d = {self.d}, got "
                    f"{getattr(b, 'shape', type(b).__name__)}"
                )
            if b.shape != batch[0].shape:
                raise ValueError(
                    f"batch arrays must have the same shape, got X {batch[0].shape}, {name} {b.shape}"
                )
        return W

    @staticmethod
    def _checked(result: np.ndarray, what: str, W: np.ndarray, batch: Batch) -> np.ndarray:
        """``result``, or a ValueError naming the input that made it non-finite."""
        if np.all(np.isfinite(result)):
            return result
        for name, b in zip(("X", "Xp", "Xn"), batch, strict=False):
            if not np.all(np.isfinite(b)):
                raise ValueError(f"batch {name} contains non-finite values (NaN or inf)")
        if not np.all(np.isfinite(W)):
            raise ValueError("W contains non-finite values (NaN or inf)")
        raise ValueError(
            f"{what} overflows float64: W or the batch is too large (max|W| = {np.max(np.abs(W)):.3g})"
        )

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        src = repr(self.model) if self.model is not None else f"data n={self.n}, d={self.d}"
        return f"{type(self).__name__}({src})"
