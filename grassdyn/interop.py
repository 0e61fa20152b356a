r"""Conversion between grassdyn frames and geomstats's projector representation.

geomstats (``geomstats.geometry.grassmannian.Grassmannian(n, k)``) holds a point
of Gr(d, h) as the orthogonal projector ``P = W W^T`` (shape ``(d, d)``) and a
tangent vector at ``P`` as the symmetric matrix ``Delta = V W^T + W V^T``, with
the Frobenius metric ``tr(Delta1 Delta2)``. Since ``||V W^T + W V^T||_F^2 =
2 ||V||_F^2`` for horizontal ``V``, geomstats's norms and geodesic distances
are :data:`geomstats_distance_scale` ``= sqrt(2)`` times grassdyn's (quotient
metric ``tr(V1^T V2)``, distance ``||theta||_2``; Edelman, Arias & Smith 1998,
§2.5; Bendokat, Zimmermann & Absil 2024, §3). The geodesics are the same
curves: geomstats's ``exp(Delta, P) = e^{Omega} P e^{-Omega}`` with
``Omega = V W^T - W V^T`` is the projector of ``exp(W, V)``.

The converters need only numpy. geomstats itself is imported lazily, by
:func:`grassmannian`, never when grassdyn is imported: it is an optional extra
(``pip install "grassdyn[geomstats]"``), and geomstats 2.8.0 fails to import
with numpy >= 2.4, which removed ``numpy.trapz``; the extra bounds numpy below
2.4.

Examples
--------
>>> import numpy as np
>>> from grassdyn import grassmann as gm
>>> W, U = gm.random_point(6, 2, rng=0), gm.random_point(6, 2, rng=1)
>>> M = grassmannian(6, 2)
>>> d_gs = M.metric.dist(to_geomstats(W), to_geomstats(U))
>>> bool(np.isclose(d_gs, geomstats_distance_scale * gm.distance(W, U)))
True
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from grassdyn import grassmann as gm
from grassdyn._validation import as_float_array, as_int

__all__ = [
    "from_geomstats",
    "geomstats_distance_scale",
    "grassmannian",
    "tangent_from_geomstats",
    "tangent_to_geomstats",
    "to_geomstats",
]

#: geomstats's distances and norms on Gr(d, h) are this factor times grassdyn's:
#: its Frobenius metric on projectors gives ``||V W^T + W V^T||_F = sqrt(2) ||V||_F``.
geomstats_distance_scale: float = math.sqrt(2.0)

_INSTALL_HINT = 'install the extra: pip install "grassdyn[geomstats]" (it bounds numpy below 2.4)'


def _import_geomstats_grassmannian() -> Any:
    """Import ``geomstats.geometry.grassmannian``, explaining the known failures."""
    # geomstats picks its array backend at import time; grassdyn works in numpy.
    os.environ.setdefault("GEOMSTATS_BACKEND", "numpy")
    try:
        return importlib.import_module("geomstats.geometry.grassmannian")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "geomstats":
            raise ImportError(f"geomstats is not installed; {_INSTALL_HINT}") from exc
        raise _numpy_hint(exc) from exc
    except (ImportError, AttributeError) as exc:
        raise _numpy_hint(exc) from exc


def _numpy_hint(exc: BaseException) -> ImportError:
    if "trapz" in str(exc):
        return ImportError(
            f"geomstats failed to import because numpy {np.__version__} removed numpy.trapz "
            f"(numpy >= 2.4; geomstats 2.8.0 still uses it): {_INSTALL_HINT}. Original error: {exc}"
        )
    return ImportError(f"geomstats failed to import ({type(exc).__name__}: {exc}); {_INSTALL_HINT}")


def grassmannian(d: int, h: int) -> Any:
    """geomstats's ``Grassmannian(d, h)`` (projector points, Frobenius metric), imported lazily.

    Parameters
    ----------
    d, h : int
        Ambient and subspace dimensions, ``d > h >= 1``.

    Returns
    -------
    geomstats.geometry.grassmannian.Grassmannian
        With its canonical metric equipped (``.metric.dist``, ``.metric.exp``, ``.metric.log``).

    Raises
    ------
    ImportError
        When geomstats is missing or cannot be imported (numpy >= 2.4), saying what to install.
    """
    d = as_int(d, "d", minimum=1)
    h = as_int(h, "h", minimum=1)
    if h >= d:
        raise ValueError(f"h must be < d (geomstats rejects Gr(d, d), a single point), got h = {h}, d = {d}")
    return _import_geomstats_grassmannian().Grassmannian(d, h)


def to_geomstats(W: ArrayLike) -> np.ndarray:
    """The projector ``W W^T`` that geomstats uses for the point ``span(W)``.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
        Orthonormal frame(s).

    Returns
    -------
    ndarray, shape (..., d, d)
    """
    return gm.projector(W)


def from_geomstats(P: ArrayLike, *, atol: float = 1e-8) -> np.ndarray:
    """A frame spanning the range of a geomstats projector point.

    Parameters
    ----------
    P : array_like, shape (..., d, d)
        Orthogonal projector(s) (symmetric, idempotent to ``atol``, integer trace).

    Returns
    -------
    ndarray, shape (..., d, h)
        An orthonormal frame; which one (of all ``W R``) is unspecified, so
        compare results through principal angles.
    """
    return gm.from_projector(P, atol=atol)


def tangent_to_geomstats(W: ArrayLike, V: ArrayLike) -> np.ndarray:
    """geomstats's tangent vector ``V W^T + W V^T`` at ``W W^T`` for a horizontal ``V`` at ``W``.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
    V : array_like, shape (..., d, h)
        Tangent at ``W`` (``W^T V = 0``).

    Returns
    -------
    ndarray, shape (..., d, d)
        Symmetric; its Frobenius norm is ``sqrt(2) ||V||_F``, and geomstats's
        ``exp`` of it is the projector of ``grassmann.exp(W, V)``.
    """
    W = gm.check_point(W)
    V = gm.check_tangent(W, V)
    VWt = V @ np.swapaxes(W, -1, -2)
    return VWt + np.swapaxes(VWt, -1, -2)


def tangent_from_geomstats(W: ArrayLike, Delta: ArrayLike, *, atol: float = 1e-8) -> np.ndarray:
    """The horizontal ``V = Delta W`` at ``W`` for a geomstats tangent vector ``Delta`` at ``W W^T``.

    Parameters
    ----------
    W : array_like, shape (..., d, h)
    Delta : array_like, shape (..., d, d)
        Symmetric with ``P Delta P = 0`` and ``(I - P) Delta (I - P) = 0``
        (``P = W W^T``), to within ``atol`` relative to ``max(1, max|Delta|)``.

    Returns
    -------
    ndarray, shape (..., d, h)
        ``V`` with ``W^T V = 0`` and ``V W^T + W V^T = Delta``.
    """
    W = gm.check_point(W)
    Delta = as_float_array(Delta, "Delta", min_ndim=2)
    d = W.shape[-2]
    if Delta.shape[-2:] != (d, d):
        raise ValueError(f"Delta must have shape (..., {d}, {d}) to match W, got {Delta.shape}")
    scale = atol * max(1.0, float(np.max(np.abs(Delta), initial=0.0)))
    if float(np.max(np.abs(Delta - np.swapaxes(Delta, -1, -2)), initial=0.0)) > scale:
        raise ValueError("Delta must be symmetric (a geomstats tangent vector at W W^T)")
    P = gm.projector(W, check=False)
    # Delta - (Delta P + P Delta) + 2 P Delta P = (I - P) Delta (I - P) + P Delta P: two orthogonal
    # blocks, both zero exactly when Delta is tangent at P.
    off = Delta - (Delta @ P + P @ Delta) + 2 * P @ Delta @ P
    if float(np.max(np.abs(off), initial=0.0)) > scale:
        raise ValueError(
            "Delta must be tangent at W W^T (P Delta P = 0 and (I - P) Delta (I - P) = 0, P = W W^T)"
        )
    return gm.project_tangent(W, Delta @ W, check=False)
