"""Experiments: plain functions registered under a name, swept by :func:`grassdyn.sweep.run`.

An experiment takes keyword parameters and ``rng``, a
``numpy.random.SeedSequence`` that is the only source of its randomness, and
returns a small mapping of named scalars or fixed-shape arrays (the same
names and shapes for every cell of a sweep). Register one with
:func:`experiment`; any other callable of that form can be swept too (by
object, or in a spec by its import path ``"package.module:function"``).

>>> @experiment("demo_noise", replace=True)
... def demo_noise(*, scale=1.0, rng):
...     return {"x": scale * np.random.default_rng(rng).standard_normal()}
>>> get("demo_noise").parameters
{'scale': 1.0}
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["REGISTRY", "Experiment", "experiment", "get"]

#: The parameter through which a cell's ``SeedSequence`` is passed.
RNG = "rng"
#: Marks a parameter without a default (it must be on the grid or fixed).
REQUIRED = inspect.Parameter.empty

#: A theory hook: ``theory(parameters, x, y) -> {label: prediction}`` for a figure of ``x`` (and ``y``),
#: ``parameters`` the sweep's fixed ones. A prediction is ``("threshold", axis, value)`` (a line at
#: ``axis = value``), ``("power", axis, p)`` (``y ∝ axis^p``, drawn through the data) or
#: ``("ratio", a, b)`` (lines of constant ``a / b`` on a phase diagram).
Theory = Callable[[Mapping[str, Any], str, "str | None"], dict[str, tuple[Any, ...]]]


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes
    ----------
    name : str
    func : callable
        ``func(**parameters, rng=SeedSequence) -> Mapping[str, scalar or array]``.
    outputs : tuple of str
        The names it returns (checked on every cell when given).
    plots : tuple of (var, x, y)
        Figures ``grassdyn sweep plot`` draws: ``var`` over grid axes ``x`` and ``y``.
    theory : callable, optional
        Predicted curves for the plots (see ``Theory``).
    validate : callable, optional
        ``validate(parameters)`` raises ``ValueError``/``TypeError`` naming a bad
        parameter; run on every grid point before any cell is computed.
    """

    name: str
    func: Callable[..., Mapping[str, Any]]
    outputs: tuple[str, ...] = ()
    plots: tuple[tuple[str, str, str], ...] = ()
    theory: Theory | None = None
    validate: Callable[[dict[str, Any]], None] | None = None
    _signature: inspect.Signature = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.func):
            raise TypeError(f"experiment {self.name!r}: func must be callable, "
                            f"got {type(self.func).__name__}")
        sig = inspect.signature(self.func)
        if RNG not in sig.parameters:
            raise TypeError(f"experiment {self.name!r} must accept the keyword argument {RNG!r} "
                            "(a SeedSequence)")
        object.__setattr__(self, "_signature", sig)

    @property
    def parameters(self) -> dict[str, Any]:
        """Every keyword parameter except ``rng``, with its default (``REQUIRED`` if none)."""
        return {
            name: p.default
            for name, p in self._signature.parameters.items()
            if name != RNG and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    @property
    def takes_any(self) -> bool:
        """Whether the function accepts arbitrary keywords (``**kwargs``)."""
        return any(p.kind == p.VAR_KEYWORD for p in self._signature.parameters.values())


#: Every registered experiment, by name.
REGISTRY: dict[str, Experiment] = {}


def experiment(
    name: str | None = None,
    *,
    outputs: tuple[str, ...] = (),
    plots: tuple[tuple[str, str, str], ...] = (),
    theory: Theory | None = None,
    validate: Callable[[dict[str, Any]], None] | None = None,
    replace: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a function as an experiment (the function is returned unchanged).

    Parameters
    ----------
    name : str, optional
        Registry name (default: the function's name). Registering a taken name
        raises unless ``replace=True``.
    outputs, plots, theory, validate
        See :class:`Experiment`.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        key = name or func.__name__
        if not isinstance(key, str) or not key:
            raise TypeError(f"name must be a non-empty string, got {key!r}")
        if key in REGISTRY and not replace and REGISTRY[key].func is not func:
            raise ValueError(f"an experiment named {key!r} is already registered (pass replace=True)")
        REGISTRY[key] = Experiment(key, func, tuple(outputs), tuple(tuple(p) for p in plots), theory,
                                   validate)
        return func

    return register


def _builtins() -> None:
    # the shipped experiments register themselves on import
    importlib.import_module("grassdyn.sweep.experiments")


def get(target: str | Callable[..., Any] | Experiment) -> Experiment:
    """The experiment named ``target``, at the import path ``"module:function"``, or wrapping a callable."""
    if isinstance(target, Experiment):
        return target
    _builtins()
    if callable(target):
        for exp in REGISTRY.values():
            if exp.func is target:
                return exp
        module = getattr(target, "__module__", None) or "__main__"
        qualname = getattr(target, "__qualname__", type(target).__name__)
        return Experiment(f"{module}:{qualname}", target)
    if not isinstance(target, str):
        raise TypeError(f"experiment must be a name, an import path or a callable, "
                        f"got {type(target).__name__}")
    if target in REGISTRY:
        return REGISTRY[target]
    if ":" in target:
        module_name, _, attr = target.partition(":")
        try:
            func = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"experiment {target!r}: cannot import it ({exc})") from None
        found = get(func)
        return found if found.name in REGISTRY else Experiment(target, func)
    known = ", ".join(sorted(REGISTRY))
    raise ValueError(f"unknown experiment {target!r} (registered: {known}; or give 'module:function')")


def as_outputs(result: object, name: str, outputs: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """An experiment's result as float64 arrays, or raise saying what is wrong with it."""
    if not isinstance(result, Mapping) or not result:
        raise TypeError(f"experiment {name!r} must return a non-empty mapping of name to number/array, "
                        f"got {type(result).__name__}")
    out = {}
    for key, value in result.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"experiment {name!r} returned the output name {key!r}: must be an identifier")
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"output {key!r} must be real numbers, got dtype {arr.dtype}")
        out[key] = arr.astype(np.float64)
    if outputs and set(out) != set(outputs):
        raise ValueError(f"experiment {name!r} returned outputs {sorted(out)}, declared {sorted(outputs)}")
    return out
