"""Size guard: refuse an array request the machine cannot hold, up front, with the size it needs."""

from __future__ import annotations

import os

__all__ = ["available_bytes", "check_size", "human"]


def available_bytes() -> int:
    """Memory the process may still allocate: ``MemAvailable`` of /proc/meminfo, else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # no sysconf: do not guard rather than guess
        return 1 << 62


def human(nbytes: float) -> str:
    """``nbytes`` in B, KiB, MiB, GiB or TiB, three significant digits."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def check_size(shape: tuple[int, ...], what: str, *, fraction: float = 0.5) -> None:
    """Raise ``ValueError`` if a float64 array of ``shape`` exceeds ``fraction`` of free memory.

    The message names ``what`` (the argument or result responsible) and the
    size the request would need, so a user can shrink it (fewer rows, a
    chunked routine) rather than watch the machine swap.
    """
    nbytes = 8.0
    for s in shape:
        nbytes *= int(s)
    limit = fraction * available_bytes()
    if nbytes > limit:
        dims = " x ".join(str(int(s)) for s in shape)
        raise ValueError(
            f"{what} would need a float64 array of {dims} = {human(nbytes)}, more than the "
            f"{human(limit)} this machine can spare; use fewer rows or a smaller width m"
        )
