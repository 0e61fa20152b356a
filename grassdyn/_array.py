"""Small helpers on stacks of matrices, shared by the modules."""

from __future__ import annotations

import numpy as np


def mT(A: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes of a stack ``(..., m, n)`` (a view)."""
    return np.swapaxes(A, -1, -2)
