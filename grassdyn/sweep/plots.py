"""The figures of a stored sweep: one per (output, x, y) the experiment declares, with its theory.

:func:`figures` turns a Dataset into ``(file stem, Figure)`` pairs:
a phase diagram (:func:`grassdyn.plotting.phase_diagram`) when both axes are
on the grid with two values or more, lines over the one that is
(:func:`grassdyn.plotting.sweep_lines`, the other as hue) otherwise; every
other grid axis with several values gives one figure per value (at most
:data:`MAX_PANELS`). :func:`plot_store` writes them as PNG, each to a
temporary file renamed into place, so a figure on disk is always complete.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from grassdyn.sweep.registry import Experiment, get

__all__ = ["MAX_PANELS", "figures", "plot_store"]

#: Figures per declared plot at most (one per combination of the other grid axes' values).
MAX_PANELS = 12


def _outputs(ds: Any) -> list[str]:
    return [str(v) for v in ds.data_vars if v not in ("status", "error")]


def _grid_axes(ds: Any) -> list[str]:
    return [str(d) for d in ds["status"].dims if d != "seed"]


def _declared(ds: Any, exp: Experiment | None) -> list[tuple[str, str, str | None]]:
    outputs, axes = _outputs(ds), _grid_axes(ds)
    if exp is not None and exp.plots:
        return [p for p in exp.plots if p[0] in outputs]
    varying = [a for a in axes if ds.sizes[a] > 1] or axes
    return [(var, varying[0], varying[1] if len(varying) > 1 else None) for var in outputs]


def _median_through(da: Any, axis: str, power: float) -> tuple[np.ndarray, np.ndarray] | None:
    """``c axis^power`` through the median of ``da`` at the axis's middle value."""
    coord = np.asarray(da[axis].values, dtype=float)
    med = da.median([d for d in da.dims if d != axis], skipna=True).values
    i = coord.size // 2
    if not (np.isfinite(med[i]) and med[i] > 0 and np.all(coord > 0)):
        return None
    return coord, med[i] * (coord / coord[i]) ** power


def _theory_lines(exp: Experiment | None, ds: Any, var: str, x: str, y: str | None,
                  phase: bool) -> dict[str, dict[str, Any]]:
    """Predictions of the experiment for this figure, as plotting keyword arguments."""
    out: dict[str, dict[str, Any]] = {"lines": {}, "vlines": {}, "hlines": {}}
    if exp is None or exp.theory is None:
        return out
    params = ds.attrs.get("parameters", {})
    for label, pred in exp.theory(params, x, y).items():
        kind = pred[0]
        if kind == "threshold" and pred[1] == x:
            out["vlines"][label] = pred[2]
        elif kind == "threshold" and phase and pred[1] == y:
            out["hlines"][label] = pred[2]
        elif kind == "power" and not phase and pred[1] == x:
            line = _median_through(ds[var], x, pred[2])
            if line is not None:
                out["lines"][label] = line
        elif kind == "ratio" and phase and (pred[1], pred[2]) == (x, y):
            xs, ys = np.asarray(ds[x].values, float), np.asarray(ds[y].values, float)
            # one line of constant x / y through each x value at the smallest y
            spaced = np.geomspace if np.all(ys > 0) else np.linspace
            yy = spaced(ys.min(), ys.max(), 50)
            for j, x0 in enumerate(xs):
                out["lines"][label if j == 0 else f"_{label}{j}"] = (x0 * yy / ys.min(), yy)
    return out


def figures(ds: Any) -> Iterator[tuple[str, Any]]:
    """``(file stem, Figure)`` for every figure of the sweep ``ds``."""
    from grassdyn import plotting

    try:
        exp: Experiment | None = get(ds.attrs.get("experiment", ""))
    except (TypeError, ValueError):
        exp = None  # a sweep of a callable not importable here: default figures, no theory
    for var, x, y in _declared(ds, exp):
        sizes = {a: ds.sizes[a] for a in _grid_axes(ds)}
        x_ok, y_ok = sizes.get(x, 0) > 1, y is not None and sizes.get(y, 0) > 1
        if not (x_ok or y_ok):
            continue
        if not x_ok:
            x, y = y, None
        phase = x_ok and y_ok
        hue = y if (y is not None and y in sizes and not phase and sizes[y] > 1) else None
        shown = {x, y} if phase else {x, hue}
        others = [a for a, n in sizes.items() if n > 1 and a not in shown]
        if not phase and ds[x].dtype.kind not in "iuf":
            continue
        combos = itertools.product(*(ds[a].values.tolist() for a in others))
        for combo in itertools.islice(combos, MAX_PANELS):
            sel = dict(zip(others, combo, strict=True))
            sub = ds.sel(sel) if sel else ds
            suffix = "".join(f"__{a}={v if isinstance(v, str) else format(v, 'g')}" for a, v in sel.items())
            lines = _theory_lines(exp, sub, var, x, y if phase else hue, phase)
            title = f"{var}" + (f" ({', '.join(f'{a} = {v}' for a, v in sel.items())})" if sel else "")
            if phase:
                fig = plotting.phase_diagram(sub, var, x, y, title=title, **lines)
                stem = f"{var}__{x}_{y}{suffix}"
            else:
                fig = plotting.sweep_lines(sub, var, x, hue=hue, title=title, lines=lines["lines"],
                                           vlines=lines["vlines"])
                stem = f"{var}__{x}" + (f"_{hue}" if hue else "") + suffix
            yield stem, fig


def _save(fig: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip("."))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def plot_store(store: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """Write every figure of the sweep stored at ``store`` into the directory ``out`` (PNG)."""
    from grassdyn.sweep.store import open_sweep

    ds = open_sweep(store)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in figures(ds):
        path = out / f"{stem}.png"
        _save(fig, path)
        written.append(path)
    return written
