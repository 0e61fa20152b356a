"""Hypothesis strategies for property tests of Grassmannian dynamics.

Plain functions returning strategies, named as plural nouns, in the style of
:mod:`hypothesis.extra.numpy`: every argument takes a value or a strategy, and
every argument that is a value is validated when the function is called (a bad
argument raises ``hypothesis.errors.InvalidArgument`` naming the argument),
not when an example is drawn. Only what depends on a drawn value (a drawn
``d`` too small for ``repeated=True``, say) is checked at draw time.

All floats are bounded and well scaled: frames come from Gaussian-like
entries of magnitude below 5, spectra live in ``[min_value, max_value]``
(default ``[-10, 10]``), so a property that fails does so for a reason, not
because of overflow.

>>> from hypothesis import given
>>> import grassdyn as gd
>>> @given(stiefel_frames(5, 2), stiefel_frames(5, 2))
... def test_symmetric(U, V):
...     assert abs(gd.grassmann.distance(U, V) - gd.grassmann.distance(V, U)) < 1e-12
>>> test_symmetric()
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra.numpy import arrays
from hypothesis.strategies import SearchStrategy
from scipy.special import erfinv

from grassdyn._array import qr_positive as _qr_positive

__all__ = ["dims", "spectra", "stiefel_frames", "symmetric_matrices", "tangent_vectors"]

#: Matrices with at most this many entries get every entry drawn (and shrunk)
#: by hypothesis; larger ones would overflow hypothesis's input buffer, so
#: hypothesis draws a seed for numpy's Gaussian generator instead.
MAX_DRAWN_ENTRIES = 256

# Uniform draws are kept inside (-U, U) so that the Gaussian quantile map
# sqrt(2) erfinv(u) stays below ~4.9 in magnitude: Gaussian-like, never huge.
_U_MAX = 0.999999
# A drawn matrix whose smallest-to-largest singular value ratio is below this
# is treated as rank deficient (its Q factor would be ill-determined).
_RANK_RTOL = 1e-6

_Value = Any  # a value or a SearchStrategy of values


def _is_strategy(x: object) -> bool:
    return isinstance(x, SearchStrategy)


def _lift(x: object) -> SearchStrategy:
    return x if _is_strategy(x) else st.just(x)


def _check_int(x: object, name: str, minimum: int) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise InvalidArgument(f"{name} must be an integer, got {type(x).__name__} {x!r}")
    if int(x) < minimum:
        raise InvalidArgument(f"{name} must be >= {minimum}, got {int(x)}")
    return int(x)


def _check_real(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)):
        raise InvalidArgument(f"{name} must be a finite real number, got {x!r}")
    return float(x)


def _int_or_strategy(x: object, name: str, minimum: int) -> SearchStrategy:
    if _is_strategy(x):
        return x
    return st.just(_check_int(x, name, minimum))


# ---------------------------------------------------------------- dimensions


def dims(
    *,
    min_d: int = 1,
    max_d: int = 8,
    min_h: int = 1,
    max_h: int | None = None,
    min_codim: int = 0,
) -> SearchStrategy[tuple[int, int]]:
    """Pairs ``(d, h)`` with ``min_d <= d <= max_d``, ``min_h <= h <= max_h`` and ``h <= d - min_codim``.

    Parameters
    ----------
    min_d, max_d : int
        Bounds on the ambient dimension ``d``.
    min_h, max_h : int
        Bounds on the subspace dimension ``h``; ``max_h=None`` means ``max_d``.
    min_codim : int
        Least codimension ``d - h``; ``min_codim=1`` excludes Gr(d, d), a single point.

    Returns
    -------
    SearchStrategy of tuple (int, int)
        Shrinks toward small ``d`` and ``h``.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(dims(min_d=3, max_d=6, max_h=2, min_codim=1))
    ... def test(dh):
    ...     d, h = dh
    ...     assert 3 <= d <= 6 and 1 <= h <= min(d - 1, 2)
    >>> test()
    """
    min_d = _check_int(min_d, "min_d", 1)
    max_d = _check_int(max_d, "max_d", 1)
    min_h = _check_int(min_h, "min_h", 1)
    max_h = max_d if max_h is None else _check_int(max_h, "max_h", 1)
    min_codim = _check_int(min_codim, "min_codim", 0)
    if min_d > max_d:
        raise InvalidArgument(f"min_d must be <= max_d, got min_d = {min_d} > max_d = {max_d}")
    if min_h > max_h:
        raise InvalidArgument(f"min_h must be <= max_h, got min_h = {min_h} > max_h = {max_h}")
    if min_h + min_codim > max_d:
        raise InvalidArgument(
            f"min_h must be <= max_d - min_codim (h <= d - min_codim), got min_h = {min_h}, "
            f"max_d = {max_d}, min_codim = {min_codim}"
        )
    return st.integers(max(min_d, min_h + min_codim), max_d).flatmap(
        lambda d: st.tuples(st.just(d), st.integers(min_h, min(d - min_codim, max_h)))
    )


# -------------------------------------------------------------------- frames


def _gaussian_matrices(shape: tuple[int, ...]) -> SearchStrategy[np.ndarray]:
    """Gaussian-like matrices: hypothesis-drawn entries mapped through the normal quantile."""
    size = math.prod(shape)
    if size <= MAX_DRAWN_ENTRIES:
        # fill=nothing() draws every entry: the default fill repeats one value
        # and would make most matrices rank one.
        uniforms = arrays(
            np.float64,
            shape,
            elements=st.floats(-_U_MAX, _U_MAX, allow_subnormal=False),
            fill=st.nothing(),
        )
        return uniforms.map(lambda u: np.sqrt(2.0) * erfinv(u))
    return st.integers(0, 2**63 - 1).map(lambda seed: np.random.default_rng(seed).standard_normal(shape))


def _well_conditioned(A: np.ndarray) -> bool:
    s = np.linalg.svd(A, compute_uv=False)
    return bool(s[..., -1] > _RANK_RTOL * max(s[..., 0], 1e-300))


def _frame_from(G: np.ndarray) -> np.ndarray:
    """Q factor (positive diagonal R) of ``G``, handling rank deficiency.

    For a Gaussian ``G`` this is Haar-distributed (Mezzadri 2007). Hypothesis
    also tries degenerate draws (all zeros, repeated entries); rather than
    rejecting them, the canonical frame ``E = [I_h; 0]`` is added, and ``E``
    itself is the last resort, so shrinking ends at the simplest frame.
    """
    d, h = G.shape
    E = np.eye(d, h)
    for A in (G, G + E):
        if _well_conditioned(A):
            return _qr_positive(A)
    return E


def stiefel_frames(d: _Value, h: _Value) -> SearchStrategy[np.ndarray]:
    """Orthonormal frames of shape ``(d, h)``: points of Gr(d, h), Haar-like.

    Parameters
    ----------
    d, h : int or SearchStrategy of int
        Ambient and subspace dimensions, ``d >= h >= 1``.

    Returns
    -------
    SearchStrategy of ndarray, shape (d, h)
        Frames with ``max|W^T W - I|`` at rounding level (below 1e-13).

    Notes
    -----
    The Q factor, with R's diagonal made positive, of a matrix of
    Gaussian-like entries (hypothesis-drawn uniforms through the normal
    quantile ``sqrt(2) erfinv(u)``, so they shrink toward zero). For a
    Gaussian matrix this is Haar-distributed on the Stiefel manifold
    (Mezzadri 2007, "How to generate random matrices from the classical
    compact groups"). Degenerate draws are completed with ``[I_h; 0]``.
    Matrices with more than ``MAX_DRAWN_ENTRIES`` entries use numpy's
    Gaussian generator seeded by hypothesis.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(stiefel_frames(6, 3))
    ... def test(W):
    ...     assert np.allclose(W.T @ W, np.eye(3), atol=1e-13)
    >>> test()
    """
    d_st = _int_or_strategy(d, "d", 1)
    h_st = _int_or_strategy(h, "h", 1)
    if not _is_strategy(d) and not _is_strategy(h) and int(h) > int(d):
        raise InvalidArgument(f"h must be <= d, got h = {h} > d = {d}")

    @st.composite
    def _frames(draw: st.DrawFn) -> np.ndarray:
        dd, hh = draw(d_st), draw(h_st)
        if not (1 <= hh <= dd):
            raise InvalidArgument(f"stiefel_frames needs d >= h >= 1, drew d = {dd}, h = {hh}")
        return _frame_from(draw(_gaussian_matrices((dd, hh))))

    return _frames()


def tangent_vectors(
    W: _Value,
    *,
    min_norm: _Value = 0.0,
    max_norm: _Value = 1.0,
) -> SearchStrategy[np.ndarray]:
    """Tangent (horizontal) vectors ``V`` at ``W``, ``W^T V = 0``, with bounded Frobenius norm.

    Parameters
    ----------
    W : array_like, shape (..., d, h), or SearchStrategy of such arrays
        Base frame(s).
    min_norm, max_norm : float or SearchStrategy of float
        Bounds on ``||V||_F`` (per frame); ``0 <= min_norm <= max_norm``.
        ``max_norm < pi/2`` keeps ``V`` inside the injectivity radius (its
        largest singular value, at most ``||V||_F``, is below ``pi/2``).

    Returns
    -------
    SearchStrategy of ndarray, shape (..., d, h)
        The direction is the horizontal projection of a Gaussian-like matrix,
        the norm is drawn uniformly-ish in ``[min_norm, max_norm]`` (including
        the end points, so the zero vector occurs when ``min_norm = 0``).

    Examples
    --------
    >>> from hypothesis import given
    >>> W = np.eye(4)[:, :2]
    >>> @given(tangent_vectors(W, max_norm=0.5))
    ... def test(V):
    ...     assert np.allclose(W.T @ V, 0.0) and np.linalg.norm(V) <= 0.5 + 1e-12
    >>> test()
    """
    if _is_strategy(W):
        W_st = W
        min_dim = None
    else:
        arr = np.asarray(W, dtype=np.float64) if not isinstance(W, (str, bytes)) else None
        if arr is None or arr.ndim < 2 or not np.all(np.isfinite(arr)):
            raise InvalidArgument("W must be a finite array of shape (..., d, h) or a strategy of frames")
        if arr.shape[-1] > arr.shape[-2] or arr.shape[-1] < 1:
            raise InvalidArgument(f"W must have shape (..., d, h) with d >= h >= 1, got {arr.shape}")
        defect = float(np.max(np.abs(np.swapaxes(arr, -1, -2) @ arr - np.eye(arr.shape[-1]))))
        if defect > 1e-8:
            raise InvalidArgument(f"W must have orthonormal columns: max|W^T W - I| = {defect:.3g}")
        W_st = st.just(arr)
        min_dim = arr.shape[-2] - arr.shape[-1]
    lo_st, hi_st = _norm_bounds(min_norm, max_norm)
    if min_dim == 0 and not _is_strategy(min_norm) and float(min_norm) > 0:
        raise InvalidArgument("min_norm must be 0 when d == h: the only tangent vector is 0")

    @st.composite
    def _vectors(draw: st.DrawFn) -> np.ndarray:
        base = draw(W_st)
        lo, hi = draw(lo_st), draw(hi_st)
        if not 0.0 <= lo <= hi:
            raise InvalidArgument(f"tangent_vectors needs 0 <= min_norm <= max_norm, drew {lo}, {hi}")
        G = draw(_gaussian_matrices(base.shape))
        # Projecting twice ("twice is enough", Parlett 1980) keeps W^T V at rounding level
        # relative to ||V|| even when G lies nearly inside span(W) and V is then scaled up.
        for _ in range(2):
            G = G - base @ (np.swapaxes(base, -1, -2) @ G)
        V = G
        norms = np.linalg.norm(V, axis=(-2, -1), keepdims=True)
        degenerate = norms < 1e-8
        if np.any(degenerate):
            V = np.where(degenerate, _some_tangent(base), V)
            norms = np.linalg.norm(V, axis=(-2, -1), keepdims=True)
        if np.any(norms == 0.0) and lo > 0:
            raise InvalidArgument("min_norm must be 0 for frames with d == h (only the zero tangent)")
        target = draw(
            arrays(
                np.float64,
                norms.shape,
                elements=st.floats(lo, hi, allow_subnormal=False),
                fill=st.nothing(),
            )
        )
        return V * np.divide(target, norms, out=np.zeros_like(norms), where=norms > 0)

    return _vectors()


def _norm_bounds(min_norm: _Value, max_norm: _Value) -> tuple[SearchStrategy, SearchStrategy]:
    for value, name in ((min_norm, "min_norm"), (max_norm, "max_norm")):
        if not _is_strategy(value) and _check_real(value, name) < 0:
            raise InvalidArgument(f"{name} must be >= 0, got {value}")
    if not _is_strategy(min_norm) and not _is_strategy(max_norm) and float(min_norm) > float(max_norm):
        raise InvalidArgument(f"min_norm must be <= max_norm, got {min_norm} > {max_norm}")
    return (
        _lift(min_norm if _is_strategy(min_norm) else float(min_norm)),
        _lift(max_norm if _is_strategy(max_norm) else float(max_norm)),
    )


def _some_tangent(W: np.ndarray) -> np.ndarray:
    """A deterministic unit tangent vector at each frame (zero when ``d == h``)."""
    d, h = W.shape[-2:]
    if d == h:
        return np.zeros_like(W)
    # The columns of I - W W^T span the normal space; its largest column is
    # far from zero (its squared norms sum to d - h).
    Pn = np.eye(d) - W @ np.swapaxes(W, -1, -2)
    j = np.argmax(np.linalg.norm(Pn, axis=-2), axis=-1)
    col = np.take_along_axis(Pn, j[..., None, None], axis=-1)
    col = col / np.linalg.norm(col, axis=-2, keepdims=True)
    return np.concatenate([col, np.zeros((*W.shape[:-1], h - 1))], axis=-1)


# ------------------------------------------------------------------- spectra


def _check_multiplicities(repeated: object, d: int | None) -> tuple[int, ...] | bool:
    if isinstance(repeated, bool):
        if repeated and d is not None and d < 2:
            raise InvalidArgument(f"repeated=True needs d >= 2, got d = {d}")
        return repeated
    if isinstance(repeated, Sequence) and not isinstance(repeated, str):
        mult = tuple(_check_int(m, "repeated", 1) for m in repeated)
        if not mult:
            raise InvalidArgument("repeated must be a bool or a non-empty sequence of multiplicities")
        if d is not None and sum(mult) != d:
            raise InvalidArgument(f"repeated multiplicities {mult} must sum to d = {d}, got {sum(mult)}")
        return mult
    raise InvalidArgument(f"repeated must be a bool or a sequence of multiplicities, got {repeated!r}")


def _margin(lo: float, hi: float) -> float:
    # Room kept below max_value for the ulp nudges that make every gap >= min_gap.
    return 1e-12 * (abs(lo) + abs(hi) + 1.0)


def _check_room(n_distinct: int, min_gap: float, lo: float, hi: float) -> None:
    if (n_distinct - 1) * min_gap > hi - lo - 2 * _margin(lo, hi):
        raise InvalidArgument(
            f"min_gap = {min_gap} with min_value = {lo}, max_value = {hi}: {n_distinct} distinct "
            "values spaced by min_gap do not fit in [min_value, max_value]"
        )


def spectra(
    d: _Value,
    *,
    min_gap: float = 0.0,
    repeated: bool | Sequence[int] = False,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> SearchStrategy[np.ndarray]:
    """Descending eigenvalue arrays of length ``d`` with controlled gaps and multiplicities.

    Parameters
    ----------
    d : int or SearchStrategy of int
        Length, ``d >= 1``.
    min_gap : float
        Every gap between consecutive *distinct* values is ``>= min_gap``
        (exactly, in floating point); ``min_gap = 0`` still keeps distinct
        values distinct. The gaps must fit in the range with a relative
        margin of 1e-12 to spare, kept for exact rounding.
    repeated : bool or sequence of int
        ``False``: all ``d`` values distinct. ``True``: at least one value is
        repeated (the multiplicity pattern is drawn; needs ``d >= 2``). A
        sequence: exactly these multiplicities, from the largest value down
        (it must sum to ``d``), e.g. ``(1, 2)`` for ``l1 > l2 = l3``.
    min_value, max_value : float
        All values lie in ``[min_value, max_value]``.

    Returns
    -------
    SearchStrategy of ndarray, shape (d,)
        Non-increasing; equal entries are exactly equal.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        At call time, when the arguments are inconsistent (for instance
        ``d - 1`` gaps of ``min_gap`` do not fit in the range).

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(spectra(4, min_gap=0.5, repeated=(1, 2, 1)))
    ... def test(lam):
    ...     assert lam[1] == lam[2] and lam[0] - lam[1] >= 0.5 and lam[2] - lam[3] >= 0.5
    >>> test()
    """
    min_gap = _check_real(min_gap, "min_gap")
    if min_gap < 0:
        raise InvalidArgument(f"min_gap must be >= 0, got {min_gap}")
    lo = _check_real(min_value, "min_value")
    hi = _check_real(max_value, "max_value")
    if lo > hi:
        raise InvalidArgument(f"min_value must be <= max_value, got {lo} > {hi}")
    d_value = None if _is_strategy(d) else _check_int(d, "d", 1)
    mult = _check_multiplicities(repeated, d_value)
    if isinstance(mult, tuple):
        _check_room(len(mult), min_gap, lo, hi)
    elif d_value is not None:
        _check_room(d_value - 1 if mult else d_value, min_gap, lo, hi)
    d_st = _lift(d_value) if d_value is not None else d

    @st.composite
    def _spectra(draw: st.DrawFn) -> np.ndarray:
        n = draw(d_st)
        blocks = mult if isinstance(mult, tuple) else draw(_multiplicities(n, repeated=bool(mult)))
        if sum(blocks) != n:
            raise InvalidArgument(f"repeated multiplicities {blocks} must sum to d = {n}")
        _check_room(len(blocks), min_gap, lo, hi)
        values = _spaced_values(draw, len(blocks), min_gap, lo, hi)
        return np.repeat(values[::-1], blocks)

    return _spectra()


def _multiplicities(n: int, *, repeated: bool) -> SearchStrategy[tuple[int, ...]]:
    """Compositions of ``n``: all ones, or (``repeated``) with at least one part >= 2."""
    if not repeated:
        return st.just((1,) * n)
    if n < 2:
        raise InvalidArgument(f"repeated=True needs d >= 2, drew d = {n}")
    # k - 1 distinct cut points in 1..n-1 split n into k parts; k < n forces a part >= 2.
    return st.integers(1, n - 1).flatmap(
        lambda k: st.lists(st.integers(1, n - 1), min_size=k - 1, max_size=k - 1, unique=True).map(
            lambda cuts: tuple(np.diff([0, *sorted(cuts), n]).tolist())
        )
    )


def _spaced_values(draw: st.DrawFn, k: int, gap: float, lo: float, hi: float) -> np.ndarray:
    """``k`` ascending values in ``[lo, hi]`` whose consecutive differences are ``>= gap`` (and > 0).

    Draw ``k`` distinct values in ``[lo, hi - (k - 1) gap]``, sort, and add
    ``i * gap`` to the i-th: the classical bijection between sorted samples
    and gap-constrained ones. Rounding can shave an ulp off a gap, so each
    value is then nudged up until its computed difference is ``>= gap``.
    """
    top = hi - (k - 1) * gap - _margin(lo, hi)
    raw = draw(
        st.lists(
            st.floats(lo, max(lo, top), allow_subnormal=False),
            min_size=k,
            max_size=k,
            # With a positive gap the shift by i * gap separates equal draws.
            unique=gap == 0.0,
        )
    )
    x = np.sort(np.asarray(raw, dtype=np.float64)) + gap * np.arange(k)
    for i in range(1, k):
        while not (x[i] - x[i - 1] >= gap and x[i] > x[i - 1]):
            x[i] = np.nextafter(x[i], np.inf)
    return x


# ---------------------------------------------------------- symmetric matrices


def symmetric_matrices(
    d: _Value,
    eigenvalues: _Value = None,
) -> SearchStrategy[np.ndarray]:
    """Real symmetric matrices ``Q diag(eigenvalues) Q^T`` with a random orthogonal ``Q``.

    Parameters
    ----------
    d : int or SearchStrategy of int
        Size, ``d >= 1``.
    eigenvalues : array_like of shape (d,), SearchStrategy of such arrays, or None
        The spectrum; ``None`` draws it from ``spectra(d)`` (distinct values in
        ``[-10, 10]``). Use :func:`spectra` to control gaps and multiplicities.

    Returns
    -------
    SearchStrategy of ndarray, shape (d, d)
        Exactly symmetric; its spectrum equals ``eigenvalues`` to rounding
        (``|error| <= ~1e-14 max|eigenvalues|``).

    Notes
    -----
    ``Q`` is a Haar-like orthogonal matrix from :func:`stiefel_frames(d, d)
    <stiefel_frames>`, so the eigenvectors are in general position.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(symmetric_matrices(3, eigenvalues=[2.0, 1.0, -1.0]))
    ... def test(C):
    ...     assert np.allclose(np.linalg.eigvalsh(C), [-1.0, 1.0, 2.0])
    >>> test()
    """
    d_st = _int_or_strategy(d, "d", 1)
    if eigenvalues is None:
        lam_st = d_st.flatmap(spectra)
        paired = lam_st.map(lambda lam: (lam.size, lam))
    else:
        if _is_strategy(eigenvalues):
            lam_st = eigenvalues
        else:
            lam = np.asarray(eigenvalues, dtype=np.float64)
            if lam.ndim != 1 or not np.all(np.isfinite(lam)):
                raise InvalidArgument(f"eigenvalues must be a finite 1-D array, got {eigenvalues!r}")
            if not _is_strategy(d) and lam.size != int(d):
                raise InvalidArgument(f"eigenvalues must have length d = {d}, got {lam.size}")
            lam_st = st.just(lam)
        paired = st.tuples(d_st, lam_st)

    @st.composite
    def _matrices(draw: st.DrawFn) -> np.ndarray:
        n, lam = draw(paired)
        lam = np.asarray(lam, dtype=np.float64)
        if lam.shape != (n,):
            raise InvalidArgument(f"eigenvalues must have shape (d,) = ({n},), drew {lam.shape}")
        Q = draw(stiefel_frames(n, n))
        C = (Q * lam) @ Q.T
        return 0.5 * (C + C.T)

    return _matrices()
