r"""Exact online minibatch gradients of the quadratic SSL losses, drawn without drawing the minibatch.

Convention (docs/conventions.md): the augmentation model
``x = mu + A z + sigma eps`` and the quadratic losses of :mod:`grassdyn.ssl`.
Both have a minibatch gradient of the form

.. math:: G_B(W) = -\frac{1}{2B}\left(X^\top Y W + Y^\top X W\right),

with ``X`` the ``B`` anchors and ``Y = X+`` (alignment) or
``Y = X+ - X-`` (contrastive with an independent negative view), rows

.. math:: X = 1\mu_X^\top + Z_X A^\top + \sigma_X E_X, \qquad
          Y = 1\mu_Y^\top + Z_Y A^\top + \sigma_Y E_Y,

where ``Z_X, Z_Y`` (B, k + m) are linear in i.i.d. standard normal latents
and ``E_X, E_Y`` (B, d) are independent standard normal noise
(alignment: ``mu_Y = mu``, ``sigma_Y = sigma``; contrastive:
``mu_Y = 0``, ``Z_Y = Z+ - Z-``, ``sigma_Y = sqrt 2 sigma``, since
``E+ - E-`` is ``sqrt 2`` times a standard normal matrix).

**Theorem (what the gradient depends on).** Let ``P = W (W^T W)^{-1} W^T``
and split ``E = E P + E (I - P)``; ``a = E W`` (B, h) and ``E (I - P)`` are
independent (jointly Gaussian, uncorrelated), and ``a = a0 L^T`` with
``a0`` standard normal and ``L L^T = W^T W`` (``L = I`` for a frame). With ``U = X W`` and
``V = Y W`` (functions of the latents, ``a_X`` and ``a_Y`` only),

.. math:: X^\top V + Y^\top U = \mu_X 1^\top V + A Z_X^\top V + \mu_Y 1^\top U + A Z_Y^\top U
          + W L^{-\top} (\sigma_X a_{0X}^\top V + \sigma_Y a_{0Y}^\top U) + \Xi,

.. math:: \Xi = (I - P)(\sigma_X E_X^\top V + \sigma_Y E_Y^\top U).

Given everything else, ``E_X (I - P)`` is independent of ``V`` and
``E_Y (I - P)`` of ``U``, and ``E^T v`` for fixed ``v`` is ``N(0, |v|^2 I)``
column by column, so ``Xi`` is matrix normal
``MN(0, I - P, sigma_X^2 V^T V + sigma_Y^2 U^T U)``: ``Xi = (I - P) N L^T``
with ``N`` (d, h) standard normal and ``L L^T`` that column covariance.
Every other term is a bilinear function of the columns of
``F = [1, G]``, ``G`` (B, q0) the standard normal latents, ``a_{0X}`` and
``a_{0Y}``: ``U = F c_U``, ``V = F c_V`` and ``Z_X = G M_X``, ... for fixed
coefficient matrices, so the gradient depends on the minibatch only through
the Gram matrix ``S = F^T F`` (q x q, ``q = 1 + q0``) and on ``N``. The law
of ``S``: ``1^T G = sqrt(B) g0^T`` with ``g0 ~ N(0, I)``, and
``G^T G = g0 g0^T + Wishart(B - 1, I)``, independent of ``g0``
(split ``G`` along ``1`` and its complement); the Wishart matrix is drawn by
Bartlett's decomposition ``L L^T``, ``L_ii^2 ~ chi^2(B - 1 - i)``,
``L_ij ~ N(0, 1)`` below the diagonal [Bar33]_. Hence drawing ``(S, N)``
and evaluating the formula gives a gradient with *exactly* the law of the
naive minibatch gradient, for every ``W``, from
``q0 (q0 + 3) / 2 + d h`` random numbers instead of ``B (d + ...)``
per view (``q0 = k + 2m + 2h`` for alignment, ``2k + 3m + 2h`` for
contrastive; when ``B - 1 < q0`` the latents are drawn directly). The cost
per step is ``O(d h (k + m + h) + q^2 h)``, not ``O(B d h)``.

References
----------
.. [Bar33] M. S. Bartlett, "On the theory of statistical regression",
   Proc. R. Soc. Edinburgh 53 (1933) (the Bartlett decomposition of a
   Wishart matrix).
"""

from __future__ import annotations

import numpy as np

from grassdyn._array import mT as _mT

__all__ = ["ExactOnlineNoise"]


class ExactOnlineNoise:
    """Exact sampler of the online minibatch gradient of a quadratic SSL loss (module notes).

    Parameters
    ----------
    model : AugmentationModel
    batch_size : int
        ``B``.
    h : int
        Number of columns of ``W``.
    contrastive : bool
        ``Y = X+ - X-`` (independent negative view) instead of ``Y = X+``.

    Use ``draw(gen, steps)`` for the randomness of ``steps`` minibatches
    (arrays ``S`` (steps, q, q) and ``N`` (steps, d, h)), and
    ``egrad(W, S, N)`` for the gradients, broadcasting over leading axes.
    """

    def __init__(self, model, batch_size: int, h: int, *, contrastive: bool) -> None:
        self.B, self.h, self.d = int(batch_size), int(h), model.d
        k, m = model.k, model.m
        gc, gs, rho = np.sqrt(model.content), np.sqrt(model.style), model.rho
        r = k + m
        # columns of G: c (k), s (m), xi (m), [c- (k), s- (m)], a_X (h), a_Y (h)
        q0 = k + 2 * m + (k + m if contrastive else 0) + 2 * h
        MX, MY = np.zeros((q0, r)), np.zeros((q0, r))  # Z_X = G MX, Z_Y = G MY
        ic, is_, ixi = np.arange(k), k + np.arange(m), k + m + np.arange(m)
        MX[ic, np.arange(k)] = gc
        MX[is_, k + np.arange(m)] = gs
        MY[ic, np.arange(k)] = gc
        MY[is_, k + np.arange(m)] = rho * gs
        MY[ixi, k + np.arange(m)] = np.sqrt(1.0 - rho**2) * gs
        off = k + 2 * m
        if contrastive:
            MY[off + np.arange(k), np.arange(k)] = -gc
            MY[off + k + np.arange(m), k + np.arange(m)] = -gs
            off += k + m
        iaX, iaY = off + np.arange(h), off + h + np.arange(h)
        self.q0 = q0
        q = 1 + q0
        self.mu_X = model.mean
        self.mu_Y = np.zeros(self.d) if contrastive else model.mean
        self.sig_X = model.noise
        self.sig_Y = np.sqrt(2.0) * model.noise if contrastive else model.noise
        # [mu_X, mu_Y, A]^T W holds all the W-dependence of U = F c_U and V = F c_V:
        # [c_U; c_V] = T [mu_X, mu_Y, A]^T W + offset, and the deterministic part of
        # X^T V + Y^T U is [mu_X, mu_Y, A] T^T [S c_V; S c_U]
        self.ext = np.column_stack([self.mu_X, self.mu_Y, model.mixing])  # (d, 2 + r)
        T = np.zeros((2 * q, 2 + r))
        T[0, 0], T[q, 1] = 1.0, 1.0
        T[1:q, 2:], T[q + 1 :, 2:] = MX, MY
        self.T, self.Tt = T, np.ascontiguousarray(T.T)
        self.offset = np.zeros((2 * q, h))
        self.offset[1 + iaX, np.arange(h)] = self.sig_X
        self.offset[q + 1 + iaY, np.arange(h)] = self.sig_Y
        self.rowX, self.rowY = 1 + iaX, 1 + iaY
        self.bartlett = self.B - 1 >= q0
        self.rows, self.cols = np.tril_indices(q0, -1)

    @property
    def q(self) -> int:
        return 1 + self.q0

    def draws_per_step(self) -> int:
        """Random numbers drawn per minibatch."""
        q0 = self.q0
        latents = q0 * (q0 + 3) // 2 if self.bartlett else self.B * q0
        return latents + self.d * self.h

    def draw(self, gen: np.random.Generator, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """``S`` (steps, q, q) and ``N`` (steps, d, h) for ``steps`` minibatches, from ``gen`` alone."""
        B, q0 = self.B, self.q0
        S = np.empty((steps, 1 + q0, 1 + q0))
        S[:, 0, 0] = B
        if self.bartlett:
            n_low = self.rows.size
            z = gen.standard_normal((steps, n_low + q0))
            chi = 2.0 * gen.standard_gamma((B - 1 - np.arange(q0)) / 2.0, size=(steps, q0))
            L = np.zeros((steps, q0, q0))
            L[:, self.rows, self.cols] = z[:, :n_low]
            idx = np.arange(q0)
            L[:, idx, idx] = np.sqrt(chi)
            g0 = z[:, n_low:]
            S[:, 1:, 1:] = L @ _mT(L) + g0[:, :, None] * g0[:, None, :]
            S[:, 0, 1:] = np.sqrt(B) * g0
        else:
            G = gen.standard_normal((steps, B, q0))
            S[:, 1:, 1:] = _mT(G) @ G
            S[:, 0, 1:] = G.sum(axis=1)
        S[:, 1:, 0] = S[:, 0, 1:]
        N = gen.standard_normal((steps, self.d, self.h))
        return S, N

    def egrad(self, W: np.ndarray, S: np.ndarray, N: np.ndarray, *, orthonormal: bool = False) -> np.ndarray:
        """Minibatch gradients ``(..., d, h)`` at ``W`` (..., d, h) from draws ``S``, ``N`` (module notes).

        ``orthonormal=True`` takes ``W^T W = I`` (frames on the Grassmannian),
        saving two h x h solves.
        """
        q = self.q
        if orthonormal:
            c = self.T @ (self.ext.T @ W) + self.offset  # [c_U; c_V], (..., 2q, h)
        else:
            # a = E W has rows N(0, W^T W): a = a0 L^T with a0 standard normal, L L^T = W^T W
            Lt = _mT(np.linalg.cholesky(_mT(W) @ W))
            c = self.T @ (self.ext.T @ W)
            c[..., self.rowX, :] += self.sig_X * Lt
            c[..., q + self.rowY, :] += self.sig_Y * Lt
        cU, cV = c[..., :q, :], c[..., q:, :]
        SU, SV = S @ cU, S @ cV
        swapped = np.concatenate([SV, SU], axis=-2)  # the T^T-partner of [c_U; c_V]
        inner = self.sig_X * SV[..., self.rowX, :] + self.sig_Y * SU[..., self.rowY, :]
        if not orthonormal:  # W (W^T W)^{-1} a^T V = W L^{-T} a0^T V
            inner = np.linalg.solve(Lt, inner)
        total = self.ext @ (self.Tt @ swapped) + W @ inner
        if self.sig_X > 0.0 or self.sig_Y > 0.0:
            cov = self.sig_X**2 * (_mT(cV) @ SV) + self.sig_Y**2 * (_mT(cU) @ SU)
            NL = N @ _mT(_factor(cov))
            WtNL = _mT(W) @ NL
            if not orthonormal:
                WtNL = np.linalg.solve(_mT(W) @ W, WtNL)
            total += NL - W @ WtNL
        return total * (-0.5 / self.B)


def _factor(cov: np.ndarray) -> np.ndarray:
    """Some ``L`` with ``L L^T = cov`` (Cholesky; a symmetric square root if ``cov`` is singular)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        s, V = np.linalg.eigh(cov)
        return V * np.sqrt(np.maximum(s, 0.0))[..., None, :]
