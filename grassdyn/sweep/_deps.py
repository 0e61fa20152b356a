"""The optional dependencies of sweeps (Dask, xarray, Zarr), imported only when a sweep runs."""

from __future__ import annotations

import importlib
from types import ModuleType

#: What to install when a dependency is missing.
INSTALL = 'pip install "grassdyn[sweep]"'


def require(name: str) -> ModuleType:
    """Import ``name`` (``"distributed"``, ``"xarray"``, ``"zarr"``), or say what to install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"grassdyn sweeps need {name} (Dask distributed, xarray and Zarr): {INSTALL} ({exc})"
        ) from exc
