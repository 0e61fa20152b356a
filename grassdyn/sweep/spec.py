"""What a sweep computes: the experiment, the grid, the fixed parameters, the seeds; and each cell's seed.

A spec is plain data, written as TOML for ``grassdyn sweep``::

    experiment = "sgd_deviation"
    seeds = 8            # independent seeds per grid point
    seed = 20240607      # root of every random draw

    [grid]               # the cartesian product of these lists
    lr = [0.04, 0.02, 0.01]
    batch_size = [16, 64]

    [fixed]
    loss = "contrastive"

Every key is checked (:func:`make_spec`): an unknown key or parameter, a
grid axis that is not a non-empty list of distinct numbers or strings, a
parameter both on the grid and fixed, a required parameter missing, or a
value the experiment rejects raises :class:`SpecError`, one line naming it.

**Cells and their randomness.** A cell is one grid point and one seed
index. Its ``SeedSequence`` is built from the root ``seed`` and the cell's
coordinates alone (:func:`cell_seed`): the grid values by name, hashed, and
the seed index. So a cell's result does not depend on the order cells run
in, on the workers, on resumption, or on the other values of the grid: the
same point and seed in a larger sweep gives the same numbers, bit for bit.

>>> spec = loads_spec('experiment = "identifiability"\\nseeds = 2\\n[grid]\\nrho = [0.2, 0.8]')
>>> spec.shape, spec.total
((2, 2), 4)
>>> loads_spec('experiment = "identifiability"\\n[grid]\\nrho = [0.2, 0.2]')
Traceback (most recent call last):
...
grassdyn.sweep.spec.SpecError: [grid] rho = [0.2, 0.2]: duplicate value 0.2
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grassdyn.sweep.registry import REQUIRED, Experiment, get

__all__ = ["MAX_CELLS", "Spec", "SpecError", "cell_seed", "load_spec", "loads_spec", "make_spec"]

#: Cells (grid points times seeds) a sweep may have without ``force=True`` (``--force``).
MAX_CELLS = 100_000
#: Top-level keys of a spec file.
KEYS = ("experiment", "seeds", "seed", "grid", "fixed")
Scalar = int | float | str | bool


class SpecError(ValueError):
    """An invalid sweep spec; the message is one line that names the key."""


@dataclass(frozen=True)
class Spec:
    """A validated sweep: ``experiment`` over ``grid`` (axis name -> values) with ``fixed`` parameters."""

    experiment: str
    grid: dict[str, tuple[Scalar, ...]]
    fixed: dict[str, Any]
    seeds: int
    seed: int

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(len(axis) for each axis) + (seeds,)``."""
        return (*(len(v) for v in self.grid.values()), self.seeds)

    @property
    def total(self) -> int:
        """Number of cells, ``prod(shape)``."""
        return math.prod(self.shape)

    def cell(self, flat: int) -> tuple[dict[str, Scalar], int]:
        """Grid coordinates and seed index of the cell with row-major index ``flat``."""
        index = np.unravel_index(flat, self.shape)
        coords = {axis: self.grid[axis][int(i)] for axis, i in zip(self.axes, index[:-1], strict=True)}
        return coords, int(index[-1])

    def points(self) -> Iterator[dict[str, Scalar]]:
        """Every grid point, row-major."""
        for values in itertools.product(*self.grid.values()):
            yield dict(zip(self.axes, values, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``make_spec(**spec.to_dict())`` gives the spec back."""
        return {"experiment": self.experiment, "grid": {k: list(v) for k, v in self.grid.items()},
                "fixed": dict(self.fixed), "seeds": self.seeds, "seed": self.seed}

    def differences(self, other: Spec) -> list[str]:
        """What differs from ``other``, one phrase per key (``this`` first, then ``other``)."""
        mine, theirs = self.to_dict(), other.to_dict()
        out = []
        for key in ("experiment", "seeds", "seed"):
            if mine[key] != theirs[key]:
                out.append(f"{key}: {mine[key]!r} vs {theirs[key]!r}")
        for section in ("grid", "fixed"):
            for name in sorted(set(mine[section]) | set(theirs[section])):
                a, b = mine[section].get(name, "(absent)"), theirs[section].get(name, "(absent)")
                if a != b:
                    out.append(f"[{section}] {name}: {a!r} vs {b!r}")
        if list(mine["grid"]) != list(theirs["grid"]) and not out:
            out.append(f"grid axis order: {list(mine['grid'])} vs {list(theirs['grid'])}")
        return out


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where} must be finite, got {value!r}")
        return value
    raise SpecError(f"{where} must be a number, string or boolean, got {_type_name(value)} {value!r}")


def _axis(name: str, values: Any) -> tuple[Scalar, ...]:
    where = f"[grid] {name}"
    if isinstance(values, (np.ndarray, range, tuple)):
        values = list(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else list(values)
    if not isinstance(values, list):
        raise SpecError(f"{where} must be a list of values, got {_type_name(values)} {values!r}")
    if not values:
        raise SpecError(f"{where} must not be empty")
    out = [_scalar(v, f"{where}[{i}]") for i, v in enumerate(values)]
    kinds = {"string" if isinstance(v, str) else "boolean" if isinstance(v, bool) else "number" for v in out}
    if len(kinds) > 1:
        raise SpecError(f"{where} = {values!r}: mixes {' and '.join(sorted(kinds))} values")
    if kinds == {"number"} and any(isinstance(v, float) for v in out):
        out = [float(v) for v in out]
    seen: set[Any] = set()
    for v in out:
        if v in seen:
            raise SpecError(f"{where} = {values!r}: duplicate value {v!r}")
        seen.add(v)
    return tuple(out)


def _fixed_value(name: str, value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        items = np.asarray(value).tolist() if isinstance(value, np.ndarray) else list(value)
        return [_scalar(v, f"[fixed] {name}[{i}]") for i, v in enumerate(items)]
    return _scalar(value, f"[fixed] {name}")


def _count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name} must be an integer, got {_type_name(value)} {value!r}")
    if value < minimum:
        raise SpecError(f"{name} = {value}: must be >= {minimum}")
    return value


def make_spec(
    experiment: str | Callable[..., Any] | Experiment,
    grid: Mapping[str, Any],
    *,
    fixed: Mapping[str, Any] | None = None,
    seeds: int = 1,
    seed: int = 0,
    force: bool = False,
) -> Spec:
    """Validate a sweep against its experiment and return the :class:`Spec`.

    Parameters
    ----------
    experiment : str, callable or Experiment
        A registered name, an import path ``"module:function"``, or a callable.
    grid : mapping of str to list
        Axis name -> distinct values (numbers, strings or booleans), at least one axis.
    fixed : mapping, optional
        Parameters held fixed (scalars or lists of scalars).
    seeds : int >= 1
        Seeds per grid point.
    seed : int >= 0
        Root seed.
    force : bool
        Allow more than :data:`MAX_CELLS` cells.

    Raises
    ------
    SpecError
        One line naming the bad key.
    """
    try:
        exp = get(experiment)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"experiment: {exc}") from None
    if not isinstance(grid, Mapping):
        raise SpecError(f"grid must be a table of axis = [values], got {_type_name(grid)}")
    if not grid:
        raise SpecError("grid must have at least one axis")
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, Mapping):
        raise SpecError(f"fixed must be a table of name = value, got {_type_name(fixed)}")
    params = exp.parameters
    for section, names in (("grid", grid), ("fixed", fixed)):
        for name in names:
            if name == "rng":
                raise SpecError(f"[{section}] rng: the random stream comes from seed and the cell, "
                                "not a parameter")
            if name == "seed":
                raise SpecError(f"[{section}] seed: reserved for the seed axis (set the root with seed = N)")
            if section == "grid" and name in ("status", "error"):
                raise SpecError(f"[grid] {name}: reserved for the cells' status and errors in the store")
            if name not in params and not exp.takes_any:
                known = ", ".join(params) or "none"
                raise SpecError(f"[{section}] {name}: unknown parameter of experiment {exp.name!r} "
                                f"(parameters: {known})")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise SpecError(f"[fixed] {both[0]}: also on the grid; keep it in one of the two")
    missing = [n for n, default in params.items() if default is REQUIRED and n not in grid and n not in fixed]
    if missing:
        raise SpecError(f"[grid] {missing[0]}: required parameter of experiment {exp.name!r} is neither on "
                        "the grid nor fixed")
    spec = Spec(
        experiment=exp.name,
        grid={str(name): _axis(str(name), values) for name, values in grid.items()},
        fixed={str(name): _fixed_value(str(name), value) for name, value in fixed.items()},
        seeds=_count(seeds, "seeds", 1),
        seed=_count(seed, "seed", 0),
    )
    if spec.total > MAX_CELLS and not force:
        raise SpecError(f"grid: {spec.total:,} cells (grid points x {spec.seeds} seeds) exceed the limit of "
                        f"{MAX_CELLS:,}; pass --force (force=True) to run it anyway")
    if exp.validate is not None:
        for point in spec.points():
            try:
                exp.validate(resolved(exp, spec.fixed, point))
            except (TypeError, ValueError) as exc:
                at = ", ".join(f"{k} = {v!r}" for k, v in point.items())
                raise SpecError(f"at {at}: {' '.join(str(exc).split())}") from None
    return spec


def resolved(exp: Experiment, fixed: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of one grid point: defaults, overridden by ``fixed``, then by the point."""
    params = {k: v for k, v in exp.parameters.items() if v is not REQUIRED}
    params.update(fixed)
    params.update(point)
    return params


def cell_seed(root: int, coords: Mapping[str, Scalar], seed_index: int) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one cell: from the root seed and the cell's coordinates alone.

    ``SeedSequence(root, spawn_key=(*words, seed_index))``, where ``words`` are
    the first four 32-bit words of the SHA-256 of the coordinates as canonical
    JSON (sorted by axis name). Independent of the process, the worker, the
    order of computation and the other grid values.

    >>> a = cell_seed(7, {"lr": 0.1, "loss": "contrastive"}, 3)
    >>> b = cell_seed(7, {"loss": "contrastive", "lr": 0.1}, 3)
    >>> a.generate_state(2).tolist() == b.generate_state(2).tolist()
    True
    """
    text = json.dumps(sorted(coords.items()), separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()
    words = tuple(int.from_bytes(digest[4 * i: 4 * i + 4], "little") for i in range(4))
    return np.random.SeedSequence(root, spawn_key=(*words, int(seed_index)))


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source} is not valid TOML: {exc}") from None


def loads_spec(text: str, *, force: bool = False, source: str = "spec") -> Spec:
    """Parse and validate a TOML spec (see the module docstring)."""
    raw = _parse(text, source)
    for key in raw:
        if key not in KEYS:
            raise SpecError(f"unknown key {key!r} at the top level (known: {', '.join(KEYS)})")
    if "experiment" not in raw:
        raise SpecError('experiment: missing (experiment = "name")')
    if not isinstance(raw["experiment"], str):
        raise SpecError(f"experiment must be a string, got {_type_name(raw['experiment'])}")
    for table in ("grid", "fixed"):
        if table in raw and not isinstance(raw[table], dict):
            raise SpecError(f"{table} must be a table (a [{table}] section), got {_type_name(raw[table])}")
    if "grid" not in raw:
        raise SpecError("grid: missing (a [grid] section with axis = [values])")
    return make_spec(raw["experiment"], raw["grid"], fixed=raw.get("fixed"), seeds=raw.get("seeds", 1),
                     seed=raw.get("seed", 0), force=force)


def load_spec(path: str | Path, *, force: bool = False) -> Spec:
    """Read and validate the TOML spec file ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"spec file {str(path)!r} is not UTF-8 text") from None
    return loads_spec(text, force=force, source=f"spec file {str(path)!r}")
