"""grassdyn: gradient-flow dynamics on the Grassmannian for linear self-supervised learning.

Submodules (and :class:`Trajectory`) are imported on first use
(``gd.flows``, ``gd.symbolic``, ...), so ``import grassdyn`` stays light and
numpy, sympy or matplotlib load only when needed.

>>> import grassdyn as gd
>>> W0 = gd.grassmann.random_point(6, 2, rng=0)
>>> W0.shape
(6, 2)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0.dev0"
"""The version of grassdyn: the one place it is set (pyproject.toml reads it)."""

_SUBMODULES = (
    "cli",
    "compare",
    "data",
    "dynamics",
    "flows",
    "grassmann",
    "integrators",
    "interop",
    "objectives",
    "plotting",
    "report",
    "sgd",
    "ssl",
    "strategies",
    "sweep",
    "symbolic",
    "theory",
    "width",
    "theory_predictor",
)

__all__ = ["Trajectory", "__version__", *_SUBMODULES]

def __getattr__(name: str) -> Any:
    if name == "Trajectory":
        # lazy too: `grassdyn --help` and Ctrl-C handling start before numpy is imported
        from grassdyn.trajectory import Trajectory

        globals()[name] = Trajectory
        return Trajectory
    if name in _SUBMODULES:
        module = importlib.import_module(f"grassdyn.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'grassdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
