r"""Infinite-width kernels of the two-layer network: the NNGP kernel and the limiting NTK.

For ``u ~ N(0, I_d)`` the pre-activations ``(a, b) = (u^T x, u^T y) / sqrt d``
are jointly Gaussian with variances ``s_x^2 = |x|^2 / d``, ``s_y^2 = |y|^2 / d``
and correlation ``cos theta``, ``theta`` the angle between ``x`` and ``y``.
The kernels (docs/conventions.md, "Two-layer model") are

    nngp(x, y)      = E[sigma(a) sigma(b)],
    ntk_limit(x, y) = nngp(x, y) + (x^T y / d) E[sigma'(a) sigma'(b)],

the m -> infinity limits of ``phi(x)^T phi(y)`` and of the free-output
``TwoLayer.ntk`` (output part plus input part, ``||W_i||^2 / h -> 1``; Jacot,
Gabriel & Hongler, NeurIPS 2018, Thm 1; Arora et al., NeurIPS 2019, eq. (4)
for the two-layer case).

Closed forms:

- relu, the arc-cosine kernels of Cho & Saul ("Kernel methods for deep
  learning", NeurIPS 2009, eq. (6)-(7): ``k_n = (1/pi) |x|^n |y|^n J_n(theta)``
  for ``2 E[Theta Theta (w.x)^n (w.y)^n]``):
  ``nngp = s_x s_y (sin theta + (pi - theta) cos theta) / (2 pi)`` and
  ``E[sigma' sigma'] = (pi - theta) / (2 pi)``;
- erf, Williams ("Computing with infinite networks", NIPS 1997, eq. (11)):
  ``nngp = (2/pi) arcsin(2 s_xy / sqrt((1 + 2 s_x^2)(1 + 2 s_y^2)))`` and,
  from ``erf'(z) = 2 e^{-z^2} / sqrt(pi)`` and the Gaussian integral
  ``E[e^{-a^2 - b^2}] = det(I + 2 Sigma)^{-1/2}``,
  ``E[sigma' sigma'] = (4/pi) / sqrt((1 + 2 s_x^2)(1 + 2 s_y^2) - 4 s_xy^2)``;
- linear: ``nngp = x^T y / d``, ``E[sigma' sigma'] = 1``;
- tanh: no closed form; the 2-D Gaussian integral over ``a = s_x z1``,
  ``b = s_y (cos theta z1 + sin theta z2)`` by the tensor trapezoid rule on
  ``[-9, 9]^2``. Gauss-Hermite converges slowly here (tanh has poles at
  ``+-i pi / 2``); the trapezoid rule converges geometrically for integrands
  analytic in a strip (Trefethen & Weideman, SIAM Review 2014, Thm 5.1),
  and the step is chosen from the largest scale ``s_max`` so that the a
  priori bound is about ``4 e^{-30}`` (~1e-12), at most 400 nodes per axis;
  :func:`tanh_quadrature_error` returns the bound for given inputs (it grows
  once ``s_max`` needs more than 400 nodes, about ``s_max > 3.6``, where tanh
  approaches a step).

Numerics: ``theta = 2 atan2(|x^ - y^|, |x^ + y^|)`` from the unit vectors
(never ``arccos`` of a rounded cosine): exact 0 at ``x = y`` and ``pi`` at
``x = -y``, accurate for nearby angles. Norms are taken after scaling by
the largest entry (no overflow for entries near 1e300); a zero input gives
zero kernel rows. A kernel value beyond the float64 range raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from grassdyn._validation import check_allocation
from grassdyn.width.network import get_activation, inputs

__all__ = ["nngp", "ntk_limit", "tanh_nodes", "tanh_quadrature_error"]

#: The tanh quadrature: trapezoid rule on [-L, L] per axis with step h = 2 pi a / TANH_EXPONENT,
#: a = pi / (4 max s): the a priori error is about 4 e^{-TANH_EXPONENT} (see _error_bound).
TANH_HALF_WIDTH = 9.0
TANH_EXPONENT = 30.0
#: Nodes per axis at most (cost n1 n2 q^2); beyond it the error bound says how accurate the result is.
TANH_MAX_NODES = 400
#: Pairs of inputs handled at once (bounds the n1 x n2 x d angle computation).
_PAIR_CHUNK = 1 << 20


def _geometry(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, ...]:
    """``s_x = |x| / sqrt d`` (n1,), ``s_y`` (n2,), and ``theta``, ``cos theta``, ``sin theta`` (n1, n2).

    From ``p = |x^ - y^|`` and ``q = |x^ + y^|``: ``theta = 2 atan2(p, q)``,
    ``cos theta = (q^2 - p^2) / (p^2 + q^2)``, ``sin theta = 2 p q / (p^2 + q^2)``,
    exact at ``x = y`` and ``x = -y``.
    """
    d = X.shape[1]

    def unit(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scale = np.max(np.abs(A), axis=1)
        safe = np.where(scale > 0, scale, 1.0)
        B = A / safe[:, None]
        nb = np.linalg.norm(B, axis=1)
        norm = scale * nb / np.sqrt(d)
        return B / np.where(nb > 0, nb, 1.0)[:, None], norm

    Xh, sx = unit(X)
    Yh, sy = unit(Y)
    p = np.empty((X.shape[0], Y.shape[0]))
    q = np.empty_like(p)
    rows = max(1, _PAIR_CHUNK // max(1, Y.shape[0] * d))
    for i in range(0, X.shape[0], rows):
        A = Xh[i:i + rows, None, :]
        p[i:i + rows] = np.linalg.norm(A - Yh[None], axis=-1)
        q[i:i + rows] = np.linalg.norm(A + Yh[None], axis=-1)
    r2 = np.square(p) + np.square(q)  # 4 for unit vectors, 2 when one input is zero
    r2 = np.where(r2 > 0, r2, 1.0)  # both inputs zero: cos = sin = 0, and the kernel is 0 anyway
    return sx, sy, 2.0 * np.arctan2(p, q), (np.square(q) - np.square(p)) / r2, 2.0 * p * q / r2


def _trapezoid(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``z`` on ``[-L, L]`` (step ``h``) and weights ``h phi(z)``: ``sum w g(z) ~ E[g(Z)]``."""
    z = np.linspace(-TANH_HALF_WIDTH, TANH_HALF_WIDTH, q)
    h = z[1] - z[0]
    return z, h * np.exp(-0.5 * np.square(z)) / np.sqrt(2 * np.pi)


def tanh_nodes(s_max: float) -> int:
    """Nodes per axis for scale ``s_max``: step ``h = 2 pi a / TANH_EXPONENT``, ``a = pi / (4 s_max)``."""
    a = np.pi / (4.0 * max(s_max, 1e-3))
    h = 2 * np.pi * a / TANH_EXPONENT
    return int(min(TANH_MAX_NODES, max(16, np.ceil(2 * TANH_HALF_WIDTH / h) + 1)))


def _error_bound(s_max: float, q: int, bound: float) -> float:
    """A priori error of the ``q x q`` trapezoid rule for ``E[g(a) g(b)]`` with ``|g| <= bound`` in the strip.

    Trefethen & Weideman ("The exponentially convergent trapezoidal rule",
    SIAM Review 56, 2014, Thm 5.1): for ``f`` analytic in ``|Im z| < a`` with
    ``int |f(x + i y)| dx <= M``, the error is at most ``2 M / (e^{2 pi a / h} - 1)``.
    With ``a = pi / (4 s_max)``, ``|tanh| <= 1`` and ``|1 - tanh^2| <= 2`` there
    and ``int |phi(x + i y)| dx = e^{y^2 / 2}``; one such error per axis, plus
    the Gaussian tails beyond ``|z| = L``.
    """
    a = np.pi / (4.0 * max(s_max, 1e-3))
    h = 2 * TANH_HALF_WIDTH / (q - 1)
    M = bound * bound * np.exp(a * a / 2)
    tail = 2 * bound * bound * special.erfc(TANH_HALF_WIDTH / np.sqrt(2))
    return float(2 * (2 * M / np.expm1(min(2 * np.pi * a / h, 700.0))) + tail)


def _quadrature(g, sx, sy, c, s, q: int) -> np.ndarray:
    """``E[g(a) g(b)]`` by the ``q x q`` trapezoid rule, shape ``(n1, n2)``; ``c, s`` = cos, sin theta."""
    z, w = _trapezoid(q)
    ga = g(sx[:, None] * z[None, :])  # (n1, q)
    out = np.empty(c.shape)
    rows = max(1, _PAIR_CHUNK // max(1, c.shape[1] * q * q))
    for i in range(0, c.shape[0], rows):
        sl = slice(i, i + rows)
        # b[i, j, k, l] = s_y (c z_k + s z_l)
        b = sy[None, :, None, None] * (c[sl, :, None, None] * z[None, None, :, None]
                                       + s[sl, :, None, None] * z[None, None, None, :])
        inner = g(b) @ w  # (rows, n2, q): average over z2
        out[sl] = np.einsum("ik,ijk,k->ij", ga[sl], inner, w)
    return out


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)


def _dtanh(z: np.ndarray) -> np.ndarray:
    return 1.0 - np.square(np.tanh(z))


def _pair(X: object, Y: object) -> tuple[np.ndarray, np.ndarray]:
    Xa = np.asarray(X) if not isinstance(X, np.ndarray) else X
    d = Xa.shape[1] if Xa.ndim == 2 else -1
    if d < 1:
        raise ValueError(f"X must have shape (n, d) with d >= 1, got shape {np.shape(X)}")
    Xc = inputs(X, d, "X")
    Yc = Xc if Y is None else inputs(Y, d, "Y")
    check_allocation((Xc.shape[0], Yc.shape[0]),
                     f"the kernel matrix of shape (n1, n2) = ({Xc.shape[0]}, {Yc.shape[0]})")
    return Xc, Yc


def _finite(K: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(K)):
        raise ValueError(f"{name}: the kernel exceeds the float64 range for these inputs (norms too large)")
    return K


def _kernels(X: np.ndarray, Y: np.ndarray, act: str, need_derivative: bool) -> tuple[np.ndarray, Any]:
    sx, sy, theta, cos, sin = _geometry(X, Y)
    deriv = None
    with np.errstate(over="ignore", invalid="ignore"):
        sxy = sx[:, None] * sy[None, :]  # may overflow: only a relu or linear kernel beyond range raises
        if act == "relu":
            k = sxy * (sin + (np.pi - theta) * cos) / (2 * np.pi)
            if need_derivative:
                deriv = (np.pi - theta) / (2 * np.pi)
        elif act == "linear":
            k = sxy * cos
            if need_derivative:
                deriv = np.ones_like(k)
        elif act == "erf":
            # 2 s_xy / sqrt((1 + 2 s_x^2)(1 + 2 s_y^2)) = cos(theta) a_x a_y, a = sqrt2 s / hypot(1, sqrt2 s)
            ax = np.sqrt(2.0) * sx / np.hypot(1.0, np.sqrt(2.0) * sx)
            ay = np.sqrt(2.0) * sy / np.hypot(1.0, np.sqrt(2.0) * sy)
            k = (2 / np.pi) * np.arcsin(np.clip(cos * ax[:, None] * ay[None, :], -1.0, 1.0))
            if need_derivative:
                # det(I + 2 Sigma) = 1 + 2 s_x^2 + 2 s_y^2 + 4 s_x^2 s_y^2 sin^2(theta), no cancellation
                cross = np.where(sin == 0, 0.0, np.square(sxy * sin))
                det = 1 + 2 * np.square(sx)[:, None] + 2 * np.square(sy)[None, :] + 4 * cross
                deriv = (4 / np.pi) / np.sqrt(det)
        else:
            q = tanh_nodes(float(max(sx.max(), sy.max())))
            k = _quadrature(_tanh, sx, sy, cos, sin, q)
            if need_derivative:
                deriv = _quadrature(_dtanh, sx, sy, cos, sin, q)
    if need_derivative:
        with np.errstate(over="ignore", invalid="ignore"):
            deriv = np.where(deriv == 0, 0.0, sxy * cos * deriv)  # (x^T y / d) E[sigma' sigma']
    return k, deriv


def nngp(X: object, Y: object = None, activation: str = "relu") -> np.ndarray:
    """The NNGP kernel ``E_u[sigma(u^T x / sqrt d) sigma(u^T y / sqrt d)]``, ``u ~ N(0, I_d)``.

    Parameters
    ----------
    X : array_like, shape (n1, d)
    Y : array_like, shape (n2, d), optional (default ``X``)
    activation : {"relu", "erf", "tanh", "linear"}

    Returns
    -------
    ndarray, shape (n1, n2)
        The ``m -> infinity`` limit of ``TwoLayer.features(X) @ features(Y).T``.

    Notes
    -----
    Formulas, sources and numerics in the module docstring.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    >>> np.round(nngp(X) * 2, 6).tolist()   # relu: |x|^2 / (2 d) on the diagonal, 0 at x = -y
    [[0.5, 0.31831, 0.0], [0.31831, 2.0, 0.31831], [0.0, 0.31831, 0.5]]
    """
    act = get_activation(activation).name
    Xc, Yc = _pair(X, Y)
    return _finite(_kernels(Xc, Yc, act, False)[0], "nngp")


def ntk_limit(X: object, Y: object = None, activation: str = "relu") -> np.ndarray:
    """The infinite-width NTK ``nngp(x, y) + (x^T y / d) E[sigma'(a) sigma'(b)]``, shape ``(n1, n2)``.

    The ``m -> infinity`` limit of ``TwoLayer(d, m, h, activation, output="free").ntk(X, Y)``
    (both layers; the kernel is the same for every output). Formulas in the
    module docstring.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> np.round(ntk_limit(X, activation="linear"), 12).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    act = get_activation(activation).name
    Xc, Yc = _pair(X, Y)
    k, deriv = _kernels(Xc, Yc, act, True)
    return _finite(k + deriv, "ntk_limit")


def tanh_quadrature_error(X: object, Y: object = None, kernel: str = "nngp") -> float:
    """A priori bound on the error of the tanh quadrature for these inputs (module docstring).

    ``kernel="nngp"`` bounds the error of ``nngp(X, Y, "tanh")``;
    ``kernel="ntk"`` that of ``ntk_limit(X, Y, "tanh")`` (both terms).
    """
    if kernel not in ("nngp", "ntk"):
        raise ValueError(f"kernel must be 'nngp' or 'ntk', got {kernel!r}")
    Xc, Yc = _pair(X, Y)
    sx, sy, *_ = _geometry(Xc, Yc)
    s_max = float(max(sx.max(), sy.max()))
    q = tanh_nodes(s_max)
    err = _error_bound(s_max, q, 1.0)
    if kernel == "ntk":
        err += s_max * s_max * _error_bound(s_max, q, 2.0)
    return err
