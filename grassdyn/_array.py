"""Small helpers on stacks of matrices, shared by the modules."""

from __future__ import annotations

import numpy as np


def mT(A: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes of a stack ``(..., m, n)`` (a view)."""
    return np.swapaxes(A, -1, -2)


def qr_positive(A: np.ndarray) -> np.ndarray:
    """Q factor of a thin QR of ``A`` (..., m, n), R's diagonal non-negative (unique for full rank)."""
    Q, R = np.linalg.qr(A)
    signs = np.sign(np.diagonal(R, axis1=-2, axis2=-1))
    signs = np.where(signs == 0, 1.0, signs)
    return Q * signs[..., None, :]


def cholqr(A: np.ndarray) -> np.ndarray:
    """Q factor ``A R^{-1}`` of ``A = Q R`` (Cholesky-QR, R with positive diagonal), batched.

    ``R^{-1}`` multiplies from the right, so ``span Q`` equals ``span A`` up to
    the rounding of that one product, which is row-wise relative: an exact
    zero row of ``A`` stays exactly zero and a tiny row keeps its relative
    accuracy (unlike Householder QR, whose errors are relative to the whole
    matrix). Orthogonality is lost as ``eps cond(A)^2`` (Yamamoto et al.,
    "Roundoff error analysis of the CholeskyQR2 algorithm", ETNA 44, 2015):
    callers keep ``cond(A)`` small or apply it twice. Raises
    ``numpy.linalg.LinAlgError`` when ``A^T A`` is not positive definite to
    working precision.
    """
    L = np.linalg.cholesky(mT(A) @ A)
    return A @ mT(np.linalg.inv(L))
