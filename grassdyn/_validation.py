"""Argument checks shared by the public API.

Every public function validates its inputs here so that bad input fails early
with a ``ValueError`` or ``TypeError`` whose message names the argument, rather
than as a NaN or a crash deep inside numpy:

- values: :func:`as_float_array` (finite, real, never parsed from strings),
  :func:`as_frame`, :func:`as_symmetric`, :func:`as_times`, :func:`as_int`
  (bools refused), :func:`as_real`, :func:`as_tolerance` (NaN refused),
  :func:`as_shape` (an int or a tuple of ints), :func:`as_rng`;
- sizes: :func:`check_allocation`, the one size guard, refuses up front any
  request whose arrays would exceed :data:`MEMORY_FRACTION` of the available
  memory, and :func:`check_steps` any computation of more than a stated
  number of steps; both name the argument the size comes from;
- results: :func:`check_finite_result` turns a non-finite result into an
  error naming the input that caused it.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Sequence

import numpy as np

#: Default tolerance on the orthogonality defect ``max|W^T W - I|`` accepted for
#: a frame. Loose enough for frames produced by long computations in float64,
#: tight enough that a non-orthonormal matrix is never mistaken for a point.
ORTHONORMALITY_ATOL = 1e-8

#: Relative tolerance on ``max|C - C^T| / max(1, max|C|)`` for symmetric input.
SYMMETRY_RTOL = 1e-10

#: Largest fraction of the available memory that one request may allocate
#: (:func:`check_allocation`): the rest is left for the arrays a computation makes
#: beside its main buffers, for the other processes, and for the operating system.
MEMORY_FRACTION = 0.5

#: Requests up to this size (64 MiB) are granted without reading the available memory.
SMALL_REQUEST_BYTES = 64 * 1024**2

#: Memory assumed available when the platform does not say (no ``/proc/meminfo``,
#: no ``os.sysconf``): 4 GiB, a laptop's share.
FALLBACK_MEMORY_BYTES = 4 * 1024**3

#: Most steps that one call may take (SGD steps, integrator steps, learning-rate
#: runs): about an hour of the cheapest step, so a typo in a horizon or a step
#: count is refused up front instead of running for days.
MAX_STEPS = 10**8


def as_float_array(x: object, name: str, *, min_ndim: int = 0) -> np.ndarray:
    """Return ``x`` as a finite float64 array, or raise naming ``name``."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    # Checked before the cast, which would drop imaginary parts with only a ComplexWarning.
    if np.iscomplexobj(x):
        raise TypeError(f"{name} must be real, got a complex array")
    if _holds_strings(x):
        # numpy would parse numeric strings ("1.5", "nan") through float(): refused, never parsed
        raise TypeError(f"{name} must be an array of real numbers, got strings")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def _holds_strings(x: object) -> bool:
    """Whether ``x`` is (or holds) strings, which ``np.asarray(x, dtype=float)`` would parse."""
    if isinstance(x, np.ndarray) and x.dtype.kind not in "USO":
        return False
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError):
        return False  # ragged or exotic: the float conversion below reports it
    if raw.dtype.kind in "US":
        return True
    return raw.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in raw.flat)


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
        # a huge matrix overflows in W^T W: an infinite defect, reported as such
        with np.errstate(over="ignore", invalid="ignore"):
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


def available_memory() -> int:
    """Bytes of memory available to a new allocation, read portably.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux: free memory plus what the
    kernel can reclaim), else ``os.sysconf`` (``SC_AVPHYS_PAGES`` times
    ``SC_PAGE_SIZE``), else :data:`FALLBACK_MEMORY_BYTES`.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    except (AttributeError, OSError, ValueError):
        pass
    return FALLBACK_MEMORY_BYTES


def _format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover - the loop always returns


def check_allocation(
    shape_or_nbytes: Sequence[int] | int,
    what: str,
    *,
    itemsize: int = 8,
    fraction: float = MEMORY_FRACTION,
    available: Callable[[], int] | None = None,
) -> int:
    """Refuse, up front, a request whose arrays would not fit in memory.

    Parameters
    ----------
    shape_or_nbytes : sequence of int, or int
        The shape of the largest array the request allocates (its bytes are
        ``prod(shape) * itemsize``), or the total number of bytes.
    what : str
        The argument(s) the size comes from, named in the message, e.g.
        ``"steps = 1000000000000000 (the recorded trajectory)"``.
    itemsize : int
        Bytes per entry (8 for float64).
    fraction : float in (0, 1]
        The request may use at most this fraction of :func:`available_memory`.

    Returns
    -------
    int
        The bytes needed.

    Raises
    ------
    ValueError
        If the bytes needed exceed ``fraction`` of the available memory; the
        message names ``what`` and gives both sizes. Python integers are
        used throughout, so sizes far beyond ``2**63`` are reported, not
        overflowed.

    Examples
    --------
    >>> check_allocation((1000, 1000), "d")
    8000000
    >>> check_allocation((10**5, 10**5), "d", available=lambda: 10**12)
    80000000000
    >>> check_allocation((10**6, 10**6), "d = h = 1000000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: d = h = 1000000: needs 7.28 TiB ...
    """
    if isinstance(shape_or_nbytes, numbers.Integral):
        nbytes = int(shape_or_nbytes)
    else:
        nbytes = math.prod(int(n) for n in shape_or_nbytes) * int(itemsize)
    if nbytes <= SMALL_REQUEST_BYTES:
        return nbytes  # always granted: inner loops (minibatch draws) pay no system call
    # looked up at call time, so that tests can stand in for the machine's memory
    limit = int(fraction * (available_memory if available is None else available)())
    if nbytes > limit:
        raise ValueError(
            f"{what}: needs {_format_bytes(nbytes)} of memory, more than {fraction:g} of the "
            f"{_format_bytes(limit / fraction)} available; reduce it"
        )
    return nbytes


def check_steps(steps: int, what: str, *, limit: int = MAX_STEPS) -> int:
    """Refuse a computation of more than ``limit`` steps, naming the argument(s) ``what``."""
    if steps > limit:
        raise ValueError(f"{what}: implies {steps:.3g} steps, more than the limit of {limit:.0e}")
    return steps


def as_tolerance(x: object, name: str, *, low: float = 0.0) -> float:
    """A finite tolerance ``>= low`` (NaN is refused: every comparison with it is False)."""
    return as_real(x, name, low=low)


def as_shape(x: object, name: str) -> tuple[int, ...]:
    """A batch shape: an int or a tuple of ints ``>= 0`` (bools and floats refused)."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        items: tuple[object, ...] = (x,)
    elif isinstance(x, (tuple, list)):
        items = tuple(x)
    else:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {type(x).__name__} {x!r}")
    return tuple(as_int(b, name, minimum=0) for b in items)


def check_finite_result(value: object, what: str, culprit: str) -> None:
    """Raise if a public function's result is not finite, naming the input that caused it.

    ``what`` names the result (e.g. ``"oja_rhs(C, W)"``), ``culprit`` the
    input and why (e.g. ``"W is too large (max|W| = 1e300)"``).
    """
    arr = np.asarray(value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} is not finite (overflow or NaN): {culprit}")


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
