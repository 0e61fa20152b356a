"""Argument checks shared by the public API.

Every public function validates its inputs here so that bad input fails early
with a ``ValueError`` or ``TypeError`` whose message names the argument, rather
than as a NaN or a crash deep inside numpy.
"""

from __future__ import annotations

import numbers

import numpy as np

#: Default tolerance on the orthogonality defect ``max|W^T W - I|`` accepted for
#: a frame. Loose enough for frames produced by long computations in float64,
#: tight enough that a non-orthonormal matrix is never mistaken for a point.
ORTHONORMALITY_ATOL = 1e-8

#: Relative tolerance on ``max|C - C^T| / max(1, max|C|)`` for symmetric input.
SYMMETRY_RTOL = 1e-10


def as_float_array(x: object, name: str, *, min_ndim: int = 0) -> np.ndarray:
    """Return ``x`` as a finite float64 array, or raise naming ``name``."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    # Checked before the cast, which would drop imaginary parts with only a ComplexWarning.
    if np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got a complex array")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def orthogonality_defect(W: np.ndarray) -> np.ndarray:
    """``max|W^T W - I|`` over the last two axes, shape ``(...)``."""
    h = W.shape[-1]
    gram = np.swapaxes(W, -1, -2) @ W
    return np.max(np.abs(gram - np.eye(h)), axis=(-2, -1))


def as_frame(
    W: object,
    name: str = "W",
    *,
    atol: float = ORTHONORMALITY_ATOL,
    orthonormal: bool = True,
) -> np.ndarray:
    """Validate a (batch of) frame(s) of shape ``(..., d, h)`` with ``d >= h >= 1``.

    With ``orthonormal=True`` the orthogonality defect must be at most ``atol``.
    """
    arr = as_float_array(W, name, min_ndim=2)
    d, h = arr.shape[-2:]
    if h < 1 or d < h:
        raise ValueError(f"{name} must have shape (..., d, h) with d >= h >= 1, got {arr.shape}")
    if orthonormal and arr.size:
        defect = float(np.max(orthogonality_defect(arr)))
        if defect > atol:
            raise ValueError(
                f"{name} must have orthonormal columns (W^T W = I): orthogonality defect "
                f"max|W^T W - I| = {defect:.3g} exceeds atol = {atol:.1g}"
            )
    return arr


def as_symmetric(C: object, name: str = "C", *, rtol: float = SYMMETRY_RTOL) -> np.ndarray:
    """Validate a real symmetric matrix of shape ``(d, d)``.

    A matrix symmetric to within ``rtol`` (relative to its largest entry) is
    returned with its round-off asymmetry averaged out; anything further from
    symmetric raises.
    """
    arr = as_float_array(C, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a square matrix of shape (d, d), got shape {arr.shape}")
    scale = max(1.0, float(np.max(np.abs(arr))))
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > rtol * scale:
        raise ValueError(
            f"{name} must be symmetric: max|{name} - {name}^T| = {asym:.3g} "
            f"(relative tolerance {rtol:.1g})"
        )
    return 0.5 * (arr + arr.T)


def as_times(t: object, name: str = "t") -> np.ndarray:
    """Validate times: a 1-D, non-decreasing array of finite values ``>= 0``.

    A scalar is accepted as a single time and returned with shape ``(1,)``.
    """
    arr = np.atleast_1d(as_float_array(t, name))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one time")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got min {name} = {arr.min():.6g}")
    if np.any(np.diff(arr) < 0):
        i = int(np.argmax(np.diff(arr) < 0))
        raise ValueError(
            f"{name} must be non-decreasing, but {name}[{i + 1}] = {arr[i + 1]:.6g} "
            f"< {name}[{i}] = {arr[i]:.6g}"
        )
    return arr


def as_int(x: object, name: str, *, minimum: int | None = None) -> int:
    """Validate an integer (bool excluded), optionally ``>= minimum``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__} {x!r}")
    value = int(x)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_real(
    x: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Validate a finite real scalar in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    value = float(x)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def as_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a Generator, an int seed or None."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, (numbers.Integral, np.random.SeedSequence)) and not isinstance(rng, bool):
        if isinstance(rng, numbers.Integral) and int(rng) < 0:
            raise ValueError(f"{name} must be a non-negative seed, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name} must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_same_ambient(U: np.ndarray, V: np.ndarray, names: tuple[str, str]) -> None:
    """Raise if two frames live in different ambient dimensions."""
    if U.shape[-2] != V.shape[-2]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same ambient dimension d, "
            f"got {U.shape[-2]} and {V.shape[-2]}"
        )


def broadcast_batch(U: np.ndarray, V: np.ndarray, names: tuple[str, str]) -> tuple[int, ...]:
    """The broadcast leading batch shape of two stacks of matrices, or raise."""
    try:
        return np.broadcast_shapes(U.shape[:-2], V.shape[:-2])
    except ValueError:
        raise ValueError(
            f"leading batch axes of {names[0]} {U.shape[:-2]} and {names[1]} {V.shape[:-2]} "
            "do not broadcast"
        ) from None


def require_gradient(obj: object, name: str) -> None:
    """Raise ``TypeError`` if ``obj`` declares ``is_gradient = False`` (a vector field that is no gradient).

    The predictor methods of :mod:`grassdyn.ssl.predictor` (SimSiam, BYOL)
    have no ``egrad``; functions that need one say so here, naming the argument.
    """
    if getattr(obj, "is_gradient", True) is False:
        raise TypeError(
            f"{name} must be a gradient objective (or its generator), got {type(obj).__name__} "
            f"{getattr(obj, 'name', '')!r}, whose dynamics are not a gradient flow (stop-gradient); "
            "use grassdyn.sgd.simulate or grassdyn.flows.integrate with manifold='euclidean'"
        )
