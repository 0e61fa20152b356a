r"""Geometry of the Grassmannian Gr(d, h) on Stiefel representatives.

A point of Gr(d, h), an h-dimensional subspace of R^d, is held as a frame
``W`` of shape ``(d, h)`` with orthonormal columns, ``W^T W = I_h``. Frames
``W`` and ``W R`` (``R`` in O(h)) are the same point. Tangent vectors at ``W``
are horizontal lifts ``V`` with ``W^T V = 0``; the metric is
``<V1, V2> = tr(V1^T V2)``, the quotient metric of Edelman, Arias & Smith
(1998). Its geodesic distance is ``||theta||_2``, with ``theta`` the principal
angles between the subspaces. geomstats holds points as projectors with the
Frobenius metric, so its distances are ``sqrt(2)`` times these (see
:mod:`grassdyn.interop`).

Every function accepts leading batch axes: frames of shape ``(..., d, h)``
broadcast against each other. Inputs are validated (shape, finiteness,
orthonormality to :data:`ORTHONORMALITY_ATOL`) unless ``check=False`` is
passed, the fast path for inner loops that already hold valid frames.

References
----------
.. [EAS98] A. Edelman, T. A. Arias, S. T. Smith, "The geometry of algorithms
   with orthogonality constraints", SIAM J. Matrix Anal. Appl. 20 (1998).
.. [AMS08] P.-A. Absil, R. Mahony, R. Sepulchre, *Optimization Algorithms on
   Matrix Manifolds*, Princeton University Press (2008).
.. [BZA24] T. Bendokat, R. Zimmermann, P.-A. Absil, "A Grassmann manifold
   handbook: basic geometry and computational aspects", Adv. Comput. Math.
   50 (2024).
.. [KA02] A. V. Knyazev, M. E. Argentati, "Principal angles between subspaces
   in an A-based scalar product", SIAM J. Sci. Comput. 23 (2002).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from grassdyn._array import mT as _mT
from grassdyn._array import qr_positive as _qr_positive
from grassdyn._validation import (
    ORTHONORMALITY_ATOL,
    as_float_array,
    as_frame,
    as_int,
    as_rng,
    as_shape,
    as_tolerance,
    broadcast_batch,
    check_allocation,
    check_choice,
    check_finite_result,
    check_same_ambient,
)
from grassdyn._validation import orthogonality_defect as _defect

__all__ = [
    "GRAM_MAX_ANGLE",
    "ORTHONORMALITY_ATOL",
    "check_point",
    "check_tangent",
    "distance",
    "exp",
    "from_projector",
    "geodesic",
    "inner",
    "log",
    "norm",
    "orthogonality_defect",
    "principal_angles",
    "project_tangent",
    "projector",
    "random_point",
    "retract",
    "riemannian_gradient",
    "transport",
]

Metric = Literal["geodesic", "chordal", "projector"]
Retraction = Literal["qr", "polar", "exp"]
RETRACTIONS: tuple[str, ...] = ("qr", "polar", "exp")

#: Largest ``t ||V||_2`` for which :func:`exp` and :func:`geodesic` use the Gram-matrix
#: formula; beyond it (where its rounding error would grow like ``eps (t ||V||_2)^2``)
#: they use the thin SVD of ``V``.
GRAM_MAX_ANGLE = np.pi



def _frame(W: ArrayLike, name: str, check: bool) -> np.ndarray:
    return as_frame(W, name) if check else np.asarray(W, dtype=np.float64)


def _tangent(W: np.ndarray, V: ArrayLike, name: str, check: bool, *, project: bool = False) -> np.ndarray:
    """Validate a tangent vector at ``W``: same (d, h), finite, ``W^T V = 0``.

    With ``project=True`` the rounding-level vertical part is also removed,
    ``V - W (W^T V)``, reusing the product the check computes. Formulas whose
    output frame has an orthogonality defect of the order of ``|W^T V|`` (the
    exponential) need this: otherwise a tangent vector accepted within
    tolerance, or left unchecked, would push the result off the manifold.
    """
    if check:
        V = as_float_array(V, name, min_ndim=2)
        if V.shape[-2:] != W.shape[-2:]:
            raise ValueError(f"{name} must have shape (..., {W.shape[-2]}, {W.shape[-1]}), got {V.shape}")
        broadcast_batch(W, V, ("W", name))
    else:
        V = np.asarray(V, dtype=np.float64)
    if not (check or project):
        return V
    WtV = _mT(W) @ V
    if check:
        scale = max(1.0, float(np.max(np.abs(V), initial=0.0)))
        off = float(np.max(np.abs(WtV), initial=0.0))
        if off > ORTHONORMALITY_ATOL * scale:
            raise ValueError(
                f"{name} must be a tangent vector at W (W^T {name} = 0): max|W^T {name}| = {off:.3g}; "
                "use project_tangent(W, G) to project an ambient matrix"
            )
    return V - W @ WtV if project else V


def check_point(W: ArrayLike, *, atol: float = ORTHONORMALITY_ATOL, name: str = "W") -> np.ndarray:
    """Validate a frame (or batch of frames) and return it as a float64 array.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
        Candidate frame(s); must be finite with ``d >= h >= 1`` and
        ``max|W^T W - I| <= atol``.
    atol : float
        Tolerance on the orthogonality defect.
    name : str
        Name used in error messages.

    Raises
    ------
    ValueError, TypeError
        Naming the argument and what is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> check_point(np.eye(3)[:, :2]).shape
    (3, 2)
    """
    return as_frame(W, name, atol=as_tolerance(atol, "atol"))


def check_tangent(W: ArrayLike, V: ArrayLike, *, name: str = "V") -> np.ndarray:
    """Validate a tangent vector (or batch) at the frame ``W`` and return it as float64.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
        Frame(s), validated as by :func:`check_point`.
    V : array_like, shape (..., d, h)
        Must be finite, broadcast against ``W``, and satisfy
        ``max|W^T V| <= ORTHONORMALITY_ATOL * max(1, max|V|)``.
    name : str
        Name used in error messages.

    Examples
    --------
    >>> check_tangent(np.eye(3)[:, :1], [[0.0], [1.0], [0.0]]).shape
    (3, 1)
    """
    return _tangent(as_frame(W, "W"), V, name, True)


def orthogonality_defect(W: ArrayLike) -> np.ndarray:
    """The orthogonality defect ``max|W^T W - I|`` of each frame, shape ``(...)``.

    Reported by every method that can lose orthonormality.
    """
    return _defect(as_frame(W, "W", orthonormal=False))


def random_point(
    d: int,
    h: int,
    rng: np.random.Generator | int | None = None,
    *,
    batch: tuple[int, ...] | int = (),
) -> np.ndarray:
    """Haar-uniform random point(s) of Gr(d, h) as frames.

    Parameters
    ----------
    d, h : int
        Ambient dimension and subspace dimension, ``d >= h >= 1``.
    rng : numpy.random.Generator, int or None
        Source of randomness; global state is never touched.
    batch : tuple of int or int
        Leading batch shape.

    Returns
    -------
    ndarray, shape ``(*batch, d, h)``

    Notes
    -----
    The Q factor of a Gaussian matrix, with the signs fixed so that R has a
    positive diagonal, is Haar-distributed on the Stiefel manifold; its span
    is then uniform on Gr(d, h) (Mezzadri 2007, "How to generate random
    matrices from the classical compact groups").

    Examples
    --------
    >>> W = random_point(5, 2, rng=0)
    >>> bool(np.allclose(W.T @ W, np.eye(2)))
    True
    """
    d = as_int(d, "d", minimum=1)
    h = as_int(h, "h", minimum=1)
    if h > d:
        raise ValueError(f"h must be <= d, got h = {h} > d = {d}")
    shape = as_shape(batch, "batch")
    rng = as_rng(rng)
    # the Gaussian draw and its QR factors: about three arrays of the output's size
    check_allocation(3 * math.prod((*shape, d, h)) * 8, f"d = {d}, h = {h}, batch = {shape}")
    G = rng.standard_normal((*shape, d, h))
    return _qr_positive(G)


def project_tangent(W: ArrayLike, G: ArrayLike, *, check: bool = True) -> np.ndarray:
    """Project an ambient matrix onto the horizontal space at ``W``.

    ``(I - W W^T) G``, computed as ``G - W (W^T G)`` in O(d h^2).

    Parameters
    ----------
    W : array_like, shape (..., d, h)
    G : array_like, shape (..., d, h)

    Returns
    -------
    ndarray, shape (..., d, h)

    Examples
    --------
    >>> W = np.eye(3)[:, :1]
    >>> project_tangent(W, np.ones((3, 1))).ravel().tolist()
    [0.0, 1.0, 1.0]
    """
    W = _frame(W, "W", check)
    if check:
        G = as_float_array(G, "G", min_ndim=2)
        if G.shape[-2:] != W.shape[-2:]:
            raise ValueError(f"G must have shape (..., {W.shape[-2]}, {W.shape[-1]}), got {G.shape}")
        broadcast_batch(W, G, ("W", "G"))
    else:
        G = np.asarray(G, dtype=np.float64)
    return G - W @ (_mT(W) @ G)


def riemannian_gradient(W: ArrayLike, egrad: ArrayLike, *, check: bool = True) -> np.ndarray:
    """Riemannian gradient on Gr(d, h) from the Euclidean gradient.

    For ``f(W)`` invariant under ``W -> W R``, the gradient of the quotient
    metric is ``grad f = (I - W W^T) egrad`` [EAS98, §2.5.3].
    """
    return project_tangent(W, egrad, check=check)


def inner(W: ArrayLike, V1: ArrayLike, V2: ArrayLike, *, check: bool = True) -> np.ndarray:
    """The metric ``tr(V1^T V2)`` of tangent vectors at ``W``, shape ``(...)``.

    Computed on ``V1 / s1`` and ``V2 / s2`` (``s = max|V|``) and scaled back, so
    it overflows only when the inner product itself exceeds float64's range,
    which raises naming ``V1`` and ``V2``.
    """
    W = _frame(W, "W", check)
    V1 = _tangent(W, V1, "V1", check)
    V2 = _tangent(W, V2, "V2", check)
    s1, s2 = _scale(V1), _scale(V2)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.sum((V1 / s1) * (V2 / s2), axis=(-2, -1)) * (s1[..., 0, 0] * s2[..., 0, 0])
    check_finite_result(out, "inner(W, V1, V2)", "V1 and V2 are too large (|tr(V1^T V2)| > 1.8e308)")
    return out


def _scale(V: np.ndarray) -> np.ndarray:
    """``max|V|`` over the last two axes (1 where V is 0), shape ``(..., 1, 1)``: a safe divisor."""
    s = np.max(np.abs(V), axis=(-2, -1), keepdims=True, initial=0.0)
    return np.where(s > 0, s, 1.0)


def norm(W: ArrayLike, V: ArrayLike, *, check: bool = True) -> np.ndarray:
    """The norm ``||V||_F`` of a tangent vector at ``W``, shape ``(...)``.

    ``V`` is divided by ``max|V|`` before squaring, so any finite ``V`` has a
    finite norm (at most ``sqrt(d h) max|V|``): ``norm(W, 1e300 V)`` is about
    ``1e300 ||V||_F``, not inf.

    Examples
    --------
    >>> float(norm(np.eye(3)[:, :1], [[0.0], [3e300], [4e300]]))
    5e+300
    """
    W = _frame(W, "W", check)
    V = _tangent(W, V, "V", check)
    s = _scale(V)
    out = np.linalg.norm(V / s, axis=(-2, -1)) * s[..., 0, 0]
    check_finite_result(out, "norm(W, V)", "V is too large (||V||_F > 1.8e308)")
    return out


def principal_angles(U: ArrayLike, V: ArrayLike, *, check: bool = True) -> np.ndarray:
    r"""Principal angles between ``span(U)`` and ``span(V)``, ascending in ``[0, pi/2]``.

    Parameters
    ----------
    U : array_like, shape (..., d, p)
    V : array_like, shape (..., d, q)
        Frames with orthonormal columns; the widths may differ.

    Returns
    -------
    ndarray, shape (..., min(p, q))
        The angles, ascending.

    Notes
    -----
    With ``p <= q``, the cosines are the singular values of ``U^T V`` and the
    sines those of ``(I - V V^T) U``. Each angle is ``arctan2(sin, cos)``, with
    the i-th smallest sine paired with the i-th largest cosine. Cosines alone
    (``arccos``) lose all relative accuracy for small angles; sines alone lose
    it near ``pi/2``; the pair keeps it over the whole range [KA02]: an angle
    of 1e-9 comes out with a relative error near ``eps / 1e-9``.

    Examples
    --------
    >>> U = np.eye(3)[:, :1]
    >>> V = np.array([[np.cos(1e-9)], [np.sin(1e-9)], [0.0]])
    >>> float(principal_angles(U, V)[0])
    1e-09
    """
    if check:
        U = as_frame(U, "U")
        V = as_frame(V, "V")
        check_same_ambient(U, V, ("U", "V"))
        broadcast_batch(U, V, ("U", "V"))
    else:
        U = np.asarray(U, dtype=np.float64)
        V = np.asarray(V, dtype=np.float64)
    if U.shape[-1] > V.shape[-1]:
        U, V = V, U
    VtU = _mT(V) @ U
    cos = np.linalg.svd(VtU, compute_uv=False)
    sin = np.linalg.svd(U - V @ VtU, compute_uv=False)[..., ::-1]
    return np.arctan2(np.clip(sin, 0.0, 1.0), np.clip(cos, 0.0, 1.0))


def distance(
    U: ArrayLike,
    V: ArrayLike,
    metric: Metric = "geodesic",
    *,
    check: bool = True,
) -> np.ndarray:
    r"""Distance between subspaces, shape ``(...)``.

    Parameters
    ----------
    U, V : array_like, shape (..., d, h)
    metric : {"geodesic", "chordal", "projector"}
        ``"geodesic"``: ``||theta||_2``, the Riemannian distance of the
        quotient metric. ``"chordal"``: ``||sin theta||_2``.
        ``"projector"``: ``||U U^T - V V^T||_F = sqrt(2) ||sin theta||_2``.

    Examples
    --------
    >>> e = np.eye(3)
    >>> round(float(distance(e[:, :1], e[:, 1:2])), 12) == round(np.pi / 2, 12)
    True
    """
    check_choice(metric, "metric", ("geodesic", "chordal", "projector"))
    if check:
        U = as_frame(U, "U")
        V = as_frame(V, "V")
        if U.shape[-2:] != V.shape[-2:]:
            raise ValueError(
                f"U and V must be points of the same Gr(d, h), got shapes {U.shape} and {V.shape}"
            )
        broadcast_batch(U, V, ("U", "V"))
    # Validated once above: the angles take the fast path.
    theta = principal_angles(U, V, check=False)
    if metric == "geodesic":
        return np.linalg.norm(theta, axis=-1)
    chordal = np.linalg.norm(np.sin(theta), axis=-1)
    return chordal if metric == "chordal" else np.sqrt(2.0) * chordal


def _thin_svd(V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.linalg.svd(V, full_matrices=False)


def exp(W: ArrayLike, V: ArrayLike, *, check: bool = True) -> np.ndarray:
    r"""Riemannian exponential: the point reached along the geodesic from ``W`` with velocity ``V``.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
    V : array_like, shape (..., d, h)
        Tangent vector at ``W`` (``W^T V = 0``).

    Returns
    -------
    ndarray, shape (..., d, h)
        The frame ``W Z cos(S) Z^T + Q sin(S) Z^T`` for the thin SVD
        ``V = Q S Z^T`` [EAS98, Thm 2.3]: the horizontal geodesic frame, so
        its orthogonality defect is at rounding level.

    Notes
    -----
    Since ``Q S = V Z``, the frame is ``W cos(M) + V sinc(M)`` with
    ``M = (V^T V)^{1/2} = Z S Z^T`` and ``sinc(x) = sin(x) / x``: matrix
    functions of the h x h Gram matrix, evaluated by its eigendecomposition.
    ``cos`` and ``sinc`` are smooth functions of ``S^2``, so the rounding
    error of the Gram matrix (``eps ||V||_2^2``) moves the result, and its
    orthogonality defect, by the same order, small singular values included;
    no d x h SVD is needed (about 3x faster at (d, h) = (500, 50)). Beyond
    ``||V||_2 = pi`` (:data:`GRAM_MAX_ANGLE`; a geodesic wraps around after
    ``pi``) that error would grow with the square of the norm, so there the
    SVD formula above is used instead, whose defect stays at rounding level
    for any norm.

    Examples
    --------
    >>> e = np.eye(3)
    >>> W1 = exp(e[:, :2], np.pi / 2 * np.outer(e[:, 2], [1.0, 0.0]))
    >>> float(distance(W1, e[:, 1:])) < 1e-12
    True
    """
    W = _frame(W, "W", check)
    V = _tangent(W, V, "V", check, project=True)
    if check:
        _check_angle(V, np.asarray(1.0))
    return _geodesic_frames(W, V, np.asarray(1.0))


#: Largest geodesic angle ``t ||V||_2`` (rad) accepted by :func:`exp` and :func:`geodesic`:
#: beyond ``2**52`` the angle's ulp exceeds ``2 pi``, so its cosine and sine have no correct digit.
MAX_ANGLE = 2.0**52


def _check_angle(V: np.ndarray, t: np.ndarray) -> None:
    """Refuse geodesics whose angle ``max|t| ||V||_2`` is beyond :data:`MAX_ANGLE`, naming ``V``."""
    scale = float(np.max(np.abs(V), initial=0.0))
    if scale == 0.0:
        return
    # ||V||_2 from V / max|V| (no overflow for any finite V)
    angle = float(np.max(np.linalg.norm(V / scale, ord=2, axis=(-2, -1)))) * scale
    angle *= float(np.max(np.abs(t), initial=0.0))
    if not angle <= MAX_ANGLE:
        raise ValueError(
            f"V: the geodesic angle t ||V||_2 = {angle:.3g} rad exceeds 2**52, beyond which its cosine and "
            "sine have no correct digit (the geodesic wraps around every pi)"
        )


def _geodesic_frames(W: np.ndarray, V: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``exp(W, t V)`` for horizontal ``V``; ``t`` scalar (shape (..., d, h)) or 1-D ((..., T, d, h))."""
    if t.ndim:
        # A time axis before the matrix axes; t[:, None] then broadcasts against the (..., 1, h) spectra.
        W, V = W[..., None, :, :], V[..., None, :, :]
        t = t[:, None]
    Z, s = _gram_eigh(V)
    ts = s * t
    if float(np.max(np.abs(ts), initial=0.0)) <= GRAM_MAX_ANGLE:
        # exp(W, tV) = W cos(tM) + V t sinc(tM), M = (V^T V)^{1/2}.
        return W @ _mT_scaled(Z, np.cos(ts)) + V @ _mT_scaled(Z, t * _sinc(ts))
    # Thin SVD V = Q S Z^T: exp(W, tV) = (W Z cos(tS) + Q sin(tS)) Z^T.
    Q, s, Zt = _thin_svd(V)
    ts = s * t
    return ((W @ _mT(Zt)) * np.cos(ts)[..., None, :] + Q * np.sin(ts)[..., None, :]) @ Zt


def _gram_eigh(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z`` and ``s`` with ``V^T V = Z diag(s^2) Z^T``: the right singular pairs of ``V``."""
    s2, Z = np.linalg.eigh(_mT(V) @ V)
    return Z, np.sqrt(np.clip(s2, 0.0, None))


def _sinc(x: np.ndarray) -> np.ndarray:
    """``sin(x) / x``, equal to 1 at 0 (numpy's sinc is ``sin(pi x) / (pi x)``)."""
    return np.sinc(x / np.pi)


def _mT_scaled(Z: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``Z diag(f) Z^T`` for a batch of eigenvector matrices ``Z`` and values ``f`` (..., h)."""
    return (Z * f[..., None, :]) @ _mT(Z)


def geodesic(W: ArrayLike, V: ArrayLike, t: ArrayLike, *, check: bool = True) -> np.ndarray:
    """Frames ``exp(W, t V)`` along the geodesic, from one eigendecomposition of ``V^T V``.

    Parameters
    ----------
    W, V : array_like, shape (..., d, h)
    t : float or array_like, shape (T,)

    Returns
    -------
    ndarray, shape (..., d, h) for scalar ``t``, else (..., T, d, h)
    """
    W = _frame(W, "W", check)
    V = _tangent(W, V, "V", check, project=True)
    t_arr = as_float_array(t, "t") if check else np.asarray(t, dtype=np.float64)
    if t_arr.ndim > 1:
        raise ValueError(f"t must be a scalar or 1-D, got shape {t_arr.shape}")
    if check:
        _check_angle(V, t_arr)
    return _geodesic_frames(W, V, t_arr)


def log(W: ArrayLike, U: ArrayLike, *, check: bool = True) -> np.ndarray:
    r"""Riemannian logarithm: the shortest tangent vector at ``W`` pointing to ``span(U)``.

    Parameters
    ----------
    W, U : array_like, shape (..., d, h)

    Returns
    -------
    ndarray, shape (..., d, h)
        ``V`` with ``W^T V = 0``, ``exp(W, V)`` spanning ``span(U)``, and
        ``||V||_F = distance(W, U)``.

    Notes
    -----
    Procrustes-aligned algorithm of [BZA24, Alg. 5.3]: align ``U* = U Z Y^T``
    from the SVD ``W^T U = Y C Z^T``, so that ``W^T U*`` is symmetric positive
    semi-definite; with the thin SVD ``M = (I - W W^T) U* = Q S R^T``, the
    angles are ``arctan2(S, diag(R^T W^T U* R))``, accurate for small angles
    and near ``pi/2`` alike, and ``V = Q theta R^T``. Since ``Q = M R S^{-1}``,
    ``V = M R diag(theta / S) R^T``: only ``R`` and ``S`` are needed, and they
    come from the eigendecomposition of the h x h Gram matrix ``M^T M`` (no
    d x h SVD, about 2x faster at (500, 50)). ``theta / S`` is a smooth
    function of ``S^2`` (it tends to ``1 / cos`` as ``S -> 0``), so the Gram
    matrix's rounding costs no accuracy, and ``M`` carries the small-angle
    directions with the same absolute accuracy as an SVD would. No matrix is
    inverted, so the result is exact inside the injectivity radius (all
    angles ``< pi/2``).

    **Cut locus.** When an angle equals ``pi/2`` the logarithm is not unique
    (both ``+q`` and ``-q`` reach ``span(U)`` along a minimal geodesic). This
    function then returns the minimal tangent vector that points toward the
    aligned columns of ``U`` themselves, ``Q[:, i]`` with angle ``pi/2``;
    ``exp(W, log(W, U))`` still spans ``span(U)``, and no error is raised.

    Examples
    --------
    >>> e = np.eye(3)
    >>> V = log(e[:, :1], np.array([[1.0], [1.0], [0.0]]) / np.sqrt(2))
    >>> bool(np.isclose(float(norm(e[:, :1], V)), np.pi / 4))
    True
    """
    if check:
        W = as_frame(W, "W")
        U = as_frame(U, "U")
        if U.shape[-2:] != W.shape[-2:]:
            raise ValueError(f"W and U must be points of the same Gr(d, h), got {W.shape} and {U.shape}")
        broadcast_batch(W, U, ("W", "U"))
    else:
        W = np.asarray(W, dtype=np.float64)
        U = np.asarray(U, dtype=np.float64)
    Y, _, Zt = np.linalg.svd(_mT(W) @ U)
    U_star = U @ (_mT(Zt) @ _mT(Y))
    WtU = _mT(W) @ U_star
    M = U_star - W @ WtU
    Z, s = _gram_eigh(M)
    cos = np.clip(np.einsum("...ji,...jk,...ki->...i", Z, WtU, Z), 0.0, 1.0)
    theta = np.arctan2(np.clip(s, 0.0, 1.0), cos)
    # theta / s -> 1 / cos as s -> 0 (cos = 1 there, as s^2 + cos^2 = 1).
    ratio = np.divide(theta, s, out=np.ones_like(s), where=s > 0)
    return M @ _mT_scaled(Z, ratio)


def retract(
    W: ArrayLike,
    V: ArrayLike,
    method: Retraction = "qr",
    *,
    check: bool = True,
) -> np.ndarray:
    r"""Retraction: a point near ``exp(W, V)``, agreeing with it to first order.

    Parameters
    ----------
    W, V : array_like, shape (..., d, h)
    method : {"qr", "polar", "exp"}
        ``"qr"``: the Q factor of ``W + V`` with R's diagonal positive [AMS08,
        Ex. 4.1.2]. ``"polar"``: the orthogonal polar factor of ``W + V``, the
        closest orthonormal frame; agrees with ``exp`` to second order.
        ``"exp"``: the exponential itself.

    Returns
    -------
    ndarray, shape (..., d, h)
    """
    check_choice(method, "method", RETRACTIONS)
    W = _frame(W, "W", check)
    V = _tangent(W, V, "V", check)
    if method == "exp":
        return exp(W, V, check=False)
    A = W + V
    if method == "qr":
        return _qr_positive(A)
    Q, _, Zt = _thin_svd(A)
    return Q @ Zt


def transport(
    W: ArrayLike,
    V: ArrayLike,
    X: ArrayLike,
    *,
    method: Literal["parallel", "projection"] = "parallel",
    retraction: Retraction = "qr",
    check: bool = True,
) -> np.ndarray:
    r"""Transport a tangent vector ``X`` at ``W`` along the step ``V``.

    Parameters
    ----------
    W, V, X : array_like, shape (..., d, h)
        ``V`` and ``X`` tangent at ``W``.
    method : {"parallel", "projection"}
        ``"parallel"``: Levi-Civita parallel transport along the geodesic
        ``exp(W, tV)`` to the frame ``exp(W, V)``: with ``V = Q S Z^T``,
        ``(-W Z sin S Q^T + Q cos S Q^T + I - Q Q^T) X`` [EAS98, eq. 2.68].
        An isometry. ``"projection"``: the vector transport
        ``(I - W1 W1^T) X`` to ``W1 = retract(W, V, retraction)``
        [AMS08, §8.1.3]; not an isometry, first-order consistent.
    retraction : {"qr", "polar", "exp"}
        Target of the projection transport.

    Returns
    -------
    ndarray, shape (..., d, h)
        Horizontal at the target frame.
    """
    check_choice(method, "method", ("parallel", "projection"))
    check_choice(retraction, "retraction", RETRACTIONS)
    W = _frame(W, "W", check)
    V = _tangent(W, V, "V", check)
    X = _tangent(W, X, "X", check)
    if method == "projection":
        W1 = retract(W, V, retraction, check=False)
        return X - W1 @ (_mT(W1) @ X)
    Q, s, Zt = _thin_svd(V)
    QtX = _mT(Q) @ X
    return (
        -(W @ _mT(Zt)) @ (np.sin(s)[..., :, None] * QtX)
        + Q @ ((np.cos(s) - 1.0)[..., :, None] * QtX)
        + X
    )


def projector(W: ArrayLike, *, check: bool = True) -> np.ndarray:
    """The orthogonal projector ``W W^T`` onto ``span(W)``, shape ``(..., d, d)``."""
    W = _frame(W, "W", check)
    return W @ _mT(W)


def from_projector(P: ArrayLike, *, atol: float = 1e-8) -> np.ndarray:
    """A frame spanning the range of an orthogonal projector.

    Parameters
    ----------
    P : array_like, shape (..., d, d)
        Symmetric and idempotent to within ``atol``, of integer trace ``h >= 1``
        (the same for the whole batch).

    Returns
    -------
    ndarray, shape (..., d, h)
        Eigenvectors of the ``h`` largest eigenvalues.

    Examples
    --------
    >>> P = np.diag([1.0, 0.0, 1.0])
    >>> float(distance(from_projector(P), np.eye(3)[:, [0, 2]])) < 1e-12
    True
    """
    atol = as_tolerance(atol, "atol")
    P = as_float_array(P, "P", min_ndim=2)
    if P.shape[-1] != P.shape[-2]:
        raise ValueError(f"P must have shape (..., d, d), got {P.shape}")
    asym = float(np.max(np.abs(P - _mT(P)), initial=0.0))
    if not asym <= atol:
        raise ValueError(f"P must be symmetric: max|P - P^T| = {asym:.3g} exceeds atol = {atol:.1g}")
    # |P| > 1 somewhere means P is no projector (its entries are bounded by 1); refused before
    # P @ P, which could overflow
    big = float(np.max(np.abs(P), initial=0.0))
    idem = float(np.max(np.abs(P @ P - P), initial=0.0)) if big <= 1.0 + atol else big
    if not idem <= atol:
        raise ValueError(
            f"P must be idempotent (P @ P = P): max|P @ P - P| = {idem:.3g} exceeds atol = {atol:.1g}; "
            "not an orthogonal projector"
        )
    traces = np.trace(P, axis1=-2, axis2=-1)
    h = int(np.rint(np.max(traces, initial=0.0)))
    if h < 1 or np.any(np.abs(traces - h) > atol * P.shape[-1] + 1e-6):
        raise ValueError(f"P must have the same integer trace h >= 1 throughout; traces {traces}")
    _, vecs = np.linalg.eigh(0.5 * (P + _mT(P)))
    return vecs[..., :, ::-1][..., :, :h]
