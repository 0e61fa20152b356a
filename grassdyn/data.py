r"""A linear latent-variable data model with augmentations, for linear SSL.

Latents ``z = (c, s)``: content ``c ~ N(0, diag(gc))`` in R^k and style
``s ~ N(0, diag(gs))`` in R^m. A view is ``x = mu + A z + sigma eps`` with
``A`` of shape ``(d, k + m)`` with orthonormal columns and ``eps ~ N(0, I_d)``.
A positive view keeps the content, keeps a fraction ``rho`` of the style,
``s+ = rho s + sqrt(1 - rho^2) xi``, and draws fresh noise. A negative view is
an independent draw. Hence (docs/conventions.md)

.. math::

    E[x x_+^\top] = \mu\mu^\top + A\,\mathrm{diag}(g_c, \rho g_s) A^\top, \quad
    E[x x_-^\top] = \mu\mu^\top, \quad
    \Sigma = E[x x^\top] = \mu\mu^\top + A\,\mathrm{diag}(g_c, g_s) A^\top + \sigma^2 I.

The content subspace ``span(A[:, :k])`` is the ground truth for
identifiability: it is the top-k eigenspace of the contrastive generator
``sym(E[x x+^T] - E[x x-^T]) = A diag(gc, rho gs) A^T`` when
``min gc > rho max gs``.

This model follows the content/style latent view of augmentations in
von Kügelgen et al., "Self-supervised learning with data augmentations
provably isolates content from style", NeurIPS 2021, in its linear-Gaussian form.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from grassdyn._array import qr_positive
from grassdyn._validation import (
    as_float_array,
    as_frame,
    as_int,
    as_real,
    as_rng,
    as_shape,
    check_allocation,
)

__all__ = ["AugmentationModel"]


def _variances(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.atleast_1d(as_float_array(x, name))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of variances, got shape {arr.shape}")
    if np.any(arr < 0):
        raise ValueError(f"{name} variances must be >= 0, got min {arr.min():.6g}")
    return arr


class AugmentationModel:
    """Content/style latent model with a partial-style-resampling augmentation.

    Parameters
    ----------
    d : int
        Ambient (input) dimension, ``d >= k + m``.
    content : array_like, shape (k,)
        Content variances ``gc`` (``k >= 1``).
    style : array_like, shape (m,)
        Style variances ``gs`` (``m >= 0``).
    rho : float in [0, 1]
        Fraction of the style kept by the augmentation (0: style fully
        re-drawn, the strongest augmentation; 1: the identity augmentation).
    noise : float >= 0
        Standard deviation ``sigma`` of the isotropic observation noise.
    mean : array_like, shape (d,), optional
        Mean ``mu`` of the views (zero if omitted).
    rng : Generator, int or None
        Draws the mixing matrix ``A`` (Haar-uniform orthonormal columns)
        unless ``mixing`` is given.
    mixing : array_like, shape (d, k + m), optional
        The mixing matrix ``A`` itself; must have orthonormal columns.

    Examples
    --------
    >>> model = AugmentationModel(6, content=[3.0, 2.0], style=[1.0], rho=0.5, noise=0.1, rng=0)
    >>> X, Xp = model.sample_pairs(100, rng=1)
    >>> X.shape, model.content_basis.shape
    ((100, 6), (6, 2))
    """

    def __init__(
        self,
        d: int,
        content: ArrayLike,
        style: ArrayLike,
        rho: float,
        noise: float,
        mean: ArrayLike | None = None,
        rng: np.random.Generator | int | None = None,
        *,
        mixing: ArrayLike | None = None,
    ) -> None:
        self.d = as_int(d, "d", minimum=1)
        self.content = _variances(content, "content")
        self.style = _variances(style, "style")
        # the population matrices are d x d (a few of them live at once)
        check_allocation((4, self.d, self.d), f"d = {self.d}: the d x d population matrices")
        if self.content.size < 1:
            raise ValueError("content must hold at least one variance (k >= 1)")
        self.rho = as_real(rho, "rho", low=0.0, high=1.0)
        self.noise = as_real(noise, "noise", low=0.0)
        k, m = self.k, self.m
        if k + m > self.d:
            raise ValueError(f"d must be >= k + m = {k} + {m} = {k + m}, got d = {self.d}")
        if mean is None:
            self.mean = np.zeros(self.d)
        else:
            self.mean = as_float_array(mean, "mean")
            if self.mean.shape != (self.d,):
                raise ValueError(f"mean must have shape ({self.d},), got {self.mean.shape}")
        if mixing is None:
            self.mixing = qr_positive(as_rng(rng).standard_normal((self.d, k + m)))
        else:
            A = as_frame(mixing, "mixing")
            if A.shape != (self.d, k + m):
                raise ValueError(f"mixing must have shape ({self.d}, {k + m}), got {A.shape}")
            self.mixing = A

    # -- dimensions and ground truth -------------------------------------------------------
    @property
    def k(self) -> int:
        """Content dimension."""
        return self.content.size

    @property
    def m(self) -> int:
        """Style dimension."""
        return self.style.size

    @property
    def content_basis(self) -> np.ndarray:
        """Orthonormal frame of the content subspace, shape ``(d, k)``."""
        return self.mixing[:, : self.k]

    @property
    def style_basis(self) -> np.ndarray:
        """Orthonormal frame of the style subspace, shape ``(d, m)``."""
        return self.mixing[:, self.k :]

    # -- population matrices -----------------------------------------------------------------
    def _mixed(self, latent_diag: np.ndarray) -> np.ndarray:
        A = self.mixing
        return (A * latent_diag) @ A.T

    @property
    def cross_moment(self) -> np.ndarray:
        """``E[x x+^T] = mu mu^T + A diag(gc, rho gs) A^T``, shape ``(d, d)``."""
        lat = np.concatenate([self.content, self.rho * self.style])
        return np.outer(self.mean, self.mean) + self._mixed(lat)

    @property
    def negative_moment(self) -> np.ndarray:
        """``E[x x-^T] = mu mu^T`` (independent views), shape ``(d, d)``."""
        return np.outer(self.mean, self.mean)

    @property
    def second_moment(self) -> np.ndarray:
        """``Sigma = E[x x^T] = mu mu^T + A diag(gc, gs) A^T + sigma^2 I``, shape ``(d, d)``."""
        lat = np.concatenate([self.content, self.style])
        return (
            np.outer(self.mean, self.mean)
            + self._mixed(lat)
            + self.noise**2 * np.eye(self.d)
        )

    def identifiable(self) -> bool:
        """Whether the content subspace is the strict top-k eigenspace of the
        contrastive generator: ``min gc > rho * max gs`` (and ``> 0``)."""
        top_style = self.rho * float(np.max(self.style, initial=0.0))
        return float(self.content.min()) > max(top_style, 0.0)

    # -- sampling --------------------------------------------------------------------------
    def _latents(self, shape: tuple[int, ...], rng: np.random.Generator):
        c = rng.standard_normal((*shape, self.k)) * np.sqrt(self.content)
        s = rng.standard_normal((*shape, self.m)) * np.sqrt(self.style)
        return c, s

    def _view(self, c: np.ndarray, s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        z = np.concatenate([c, s], axis=-1)
        eps = rng.standard_normal((*z.shape[:-1], self.d))
        return self.mean + z @ self.mixing.T + self.noise * eps

    def _shape(self, n: object, batch: object, views: int) -> tuple[int, ...]:
        """``(*batch, n)`` validated, refused up front if ``views`` such arrays would not fit in memory."""
        n = as_int(n, "n", minimum=1)
        shape = (*as_shape(batch, "batch"), n)
        # the views, plus the latents and noise drawn for each (about 2 arrays of (..., d) per view)
        check_allocation((2 * views + 1, *shape, self.d), f"n = {n}, batch = {shape[:-1]}")
        return shape

    def sample(
        self, n: int, rng: np.random.Generator | int | None = None, *, batch: tuple[int, ...] | int = ()
    ) -> np.ndarray:
        """Independent views, shape ``(*batch, n, d)``; ``batch`` an int or a tuple of ints."""
        shape = self._shape(n, batch, 1)
        rng = as_rng(rng)
        c, s = self._latents(shape, rng)
        return self._view(c, s, rng)

    def sample_pairs(
        self, n: int, rng: np.random.Generator | int | None = None, *, batch: tuple[int, ...] | int = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positive pairs ``(X, Xp)``, each of shape ``(*batch, n, d)``.

        ``rng=None`` draws fresh OS entropy; pass a seed or Generator to
        reproduce a sample. ``batch`` is an int or a tuple of ints, as in
        :func:`grassdyn.grassmann.random_point`.
        """
        shape = self._shape(n, batch, 2)
        rng = as_rng(rng)
        c, s = self._latents(shape, rng)
        xi = rng.standard_normal((*shape, self.m)) * np.sqrt(self.style)
        s_plus = self.rho * s + np.sqrt(1.0 - self.rho**2) * xi
        return self._view(c, s, rng), self._view(c, s_plus, rng)

    def sample_triplets(
        self, n: int, rng: np.random.Generator | int | None = None, *, batch: tuple[int, ...] | int = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positive pairs with an independent negative view: ``(X, Xp, Xn)``."""
        self._shape(n, batch, 3)
        rng = as_rng(rng)
        X, Xp = self.sample_pairs(n, rng, batch=batch)
        return X, Xp, self.sample(n, rng, batch=batch)

    def __repr__(self) -> str:
        return (
            f"AugmentationModel(d={self.d}, k={self.k}, m={self.m}, rho={self.rho:g}, "
            f"noise={self.noise:g}, mean={'yes' if np.any(self.mean) else 'no'})"
        )
