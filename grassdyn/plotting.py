"""Figures of flows and training runs: one function per kind of figure.

Each function takes trajectories (:class:`~grassdyn.Trajectory`) or the plain
results the report computes (mappings of arrays), draws with matplotlib's
object-oriented API and returns a :class:`matplotlib.figure.Figure`. No
pyplot state is touched, so the functions work under any backend, in
scripts, notebooks and tests alike; pass ``ax=`` to draw into an existing
axes (the figure of that axes is returned).

Conventions (docs/conventions.md): ``t`` is gradient-flow time (SGD step ``k`` with
learning rate ``lr`` is drawn at ``t = k lr``); distances between subspaces
are geodesic, ``||theta||_2`` over principal angles, in radians. Curves with
a leading seed axis are drawn as their median with a band spanning the
range over seeds.

>>> import numpy as np
>>> fig = distance_to_limit({"flow": {"t": [0.0, 1.0, 2.0], "distance": [1.0, 0.4, 0.1]}}, rate=1.0)
>>> len(fig.axes)
1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter
from numpy.typing import ArrayLike

from grassdyn._validation import as_float_array, as_times
from grassdyn.trajectory import Trajectory

__all__ = [
    "COLORS",
    "collapse",
    "distance_to_limit",
    "exp_label",
    "identifiability",
    "log_scale",
    "scaling",
    "seed_band",
    "width_independence",
]

#: The colour cycle of every grassdyn figure (Okabe & Ito's colour-blind-safe palette).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.6)) -> Axes:
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def log_scale(ax: Axes, axis: str = "y") -> None:
    """Log scale with at most about six labelled decades.

    Curves here span up to twenty decades; matplotlib's default labels every
    decade, which crowds the axis and makes layout slow. On ``"x"`` the minor
    ticks stay unlabelled (callers put ticks at their parameter values).
    """
    if axis == "y":
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(numticks=6))
        return
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(numticks=6))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _curve(name: str, t: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate a curve: times ``(T,)`` and values ``(T,)`` or ``(S, T)`` (seeds first)."""
    t = as_times(t, f"{name} t")
    y = as_float_array(y, f"{name} values", min_ndim=1)
    if y.ndim > 2 or y.shape[-1] != t.shape[0]:
        raise ValueError(
            f"{name} values must have shape (T,) or (seeds, T) with T = {t.shape[0]}, got {y.shape}"
        )
    return t, y


def seed_band(ax: Axes, x: np.ndarray, y: np.ndarray, color: str, label: str, **kw: Any) -> None:
    """A line, or for ``y`` of shape ``(S, T)`` its median with the range over the ``S`` seeds as a band.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    x : array, shape (T,)
    y : array, shape (T,) or (S, T)
    color : str
    label : str
        Legend label; for seeds it gains "(median, range of S seeds)".
    **kw
        Passed to ``Axes.plot`` (``marker=``, ``linestyle=``, ...).
    """
    if y.ndim == 1:
        ax.plot(x, y, color=color, label=label, **kw)
        return
    label = f"{label} (median, range of {y.shape[0]} seeds)"
    ax.plot(x, np.median(y, axis=0), color=color, label=label, **kw)
    ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=color, alpha=0.2, linewidth=0)


def _flatten_seeds(y: np.ndarray) -> np.ndarray:
    """Values of shape ``(..., T)`` as ``(T,)`` or ``(S, T)``, merging all leading axes."""
    return y if y.ndim == 1 else y.reshape(-1, y.shape[-1])


def _distance_curve(name: str, run: Any, limit: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(run, Trajectory):
        if limit is None:
            raise ValueError(f"limit is needed to draw the trajectory {name!r}: the subspace to compare")
        return run.t, _flatten_seeds(run.distance_to(limit))
    if isinstance(run, Mapping) and "t" in run and "distance" in run:
        return _curve(name, run["t"], run["distance"])
    raise TypeError(
        f"{name!r} must be a Trajectory or a mapping with 't' and 'distance', got {type(run).__name__}"
    )


def exp_label(rate: float) -> str:
    r"""The mathtext of ``e^{-rate t}``, with the rate printed as a person would write it.

    >>> exp_label(1.0), exp_label(0.5), exp_label(2.0), exp_label(0.0)
    ('$e^{-t}$', '$e^{-0.5t}$', '$e^{-2t}$', '$e^{0}$')
    """
    rate = float(rate)
    if rate == 0:
        return "$e^{0}$"
    coefficient = f"{abs(rate):.3g}"
    sign = "-" if rate > 0 else ""
    return f"$e^{{{sign}{'' if coefficient == '1' else coefficient}t}}$"


def _rate_line(ax: Axes, t: np.ndarray, y: np.ndarray, rate: float, label: str, color: str = "0.3") -> None:
    """``c e^{-rate t}`` through the curve's value at a third of its span (past the transient).

    Drawn dashed above the data (``zorder``): a prediction that matches its
    data would otherwise vanish beneath it.
    """
    y1 = np.median(y, axis=0) if y.ndim == 2 else y
    i = int(np.searchsorted(t, t[0] + (t[-1] - t[0]) / 3))
    i = min(i, len(t) - 1)
    if not y1[i] > 0:
        return
    ax.plot(t, y1[i] * np.exp(-rate * (t - t[i])), linestyle=(0, (4, 2)), color=color, linewidth=1.3,
            label=label, zorder=5)


def distance_to_limit(
    runs: Mapping[str, Trajectory | Mapping[str, ArrayLike]],
    *,
    limit: ArrayLike | None = None,
    rate: float | None = None,
    ax: Axes | None = None,
    title: str | None = "Distance to the limit",
) -> Figure:
    r"""Geodesic distance to the limit subspace against flow time, one curve per run (log scale).

    Parameters
    ----------
    runs : mapping of label to Trajectory or to {"t": (T,), "distance": (T,) or (S, T)}
        Trajectories need ``limit``; SGD runs with a seed axis become a band.
    limit : array_like, shape (d, h), optional
        The subspace the trajectories converge to, e.g. :func:`grassdyn.flows.limit`.
    rate : float, optional
        Predicted asymptotic rate ``lam_h - lam_{h+1}``: drawn as ``c e^{-rate t}``
        through the first run.
    ax : Axes, optional
    title : str or None

    Returns
    -------
    Figure
    """
    if not runs:
        raise ValueError("runs must hold at least one run")
    ax = _axes(ax)
    first = None
    for i, (label, run) in enumerate(runs.items()):
        t, y = _distance_curve(label, run, limit)
        if first is None:
            first = (t, y)
        # the first run (the reference) is drawn wide and pale, so a second run that matches it
        # (dotted, on top) stays visible
        style = {"linestyle": ":" if i == 1 else "-", "linewidth": {0: 3.5, 1: 2.0}.get(i, 1.4),
                 "alpha": 0.45 if i == 0 else 1.0, "zorder": 3 if i == 1 else 2}
        seed_band(ax, t, np.maximum(y, 1e-300), COLORS[i % len(COLORS)], str(label), **style)
    if rate is not None:
        _rate_line(ax, *first, float(rate), f"predicted rate {exp_label(rate)}")
    log_scale(ax)
    ax.set_xlabel("flow time $t$ (SGD: step $\\times$ lr)")
    ax.set_ylabel("distance to limit $\\|\\theta\\|_2$ (rad)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="x-small")
    return ax.figure


def _collapse_data(name: str, run: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``t``, singular values ``(..., T, h)`` and effective rank ``(..., T)`` of one run."""
    if isinstance(run, Trajectory):
        from grassdyn.theory import effective_rank

        return run.t, np.linalg.svd(run.W, compute_uv=False), effective_rank(run.W)
    if isinstance(run, Mapping) and {"t", "singular_values", "effective_rank"} <= set(run):
        t = as_times(run["t"], f"{name} t")
        sv = as_float_array(run["singular_values"], f"{name} singular_values", min_ndim=2)
        er = as_float_array(run["effective_rank"], f"{name} effective_rank", min_ndim=1)
        if sv.shape[-2] != t.shape[0] or er.shape != sv.shape[:-1]:
            raise ValueError(
                f"{name}: singular_values must have shape (..., T, h) and effective_rank (..., T) "
                f"with T = {t.shape[0]}, got {sv.shape} and {er.shape}"
            )
        return t, sv, er
    raise TypeError(
        f"{name!r} must be a Trajectory or a mapping with 't', 'singular_values' and 'effective_rank', "
        f"got {type(run).__name__}"
    )


def collapse(
    runs: Mapping[str, Trajectory | Mapping[str, ArrayLike]],
    *,
    title: str | None = "Unconstrained dynamics collapse",
) -> Figure:
    r"""Dimension collapse of the unconstrained flow: ``sigma_i / sigma_1`` and the effective rank.

    Parameters
    ----------
    runs : mapping of label to Trajectory or to {"t", "singular_values", "effective_rank"}
        Unconstrained (``manifold="euclidean"``) runs; singular values of
        shape ``(..., T, h)``, effective rank (:func:`grassdyn.theory.effective_rank`)
        of shape ``(..., T)``; leading axes (seeds) become bands.

    Returns
    -------
    Figure
        Left: the normalised singular values ``sigma_i(W(t)) / sigma_1(W(t))``,
        ``i >= 2``, which decay like ``e^{-(lam_1 - lam_i) t}`` once the columns
        have met the top eigenvector. Right: the effective rank, tending to 1.
    """
    if not runs:
        raise ValueError("runs must hold at least one run")
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_sv, ax_er = fig.subplots(1, 2)
    for k, (label, run) in enumerate(runs.items()):
        t, sv, er = _collapse_data(label, run)
        color = COLORS[k % len(COLORS)]
        ratio = sv / sv[..., :1]
        for i in range(1, ratio.shape[-1]):
            y = _flatten_seeds(ratio[..., i])
            seed_band(ax_sv, t, y, color, f"{label}: $\\sigma_{{{i + 1}}}/\\sigma_1$" if i == 1 else "_",
                       linestyle=("-", "--", ":", "-.")[(i - 1) % 4])
        seed_band(ax_er, t, _flatten_seeds(er), color, str(label))
    log_scale(ax_sv)
    ax_sv.set_xlabel("flow time $t$")
    ax_sv.set_ylabel("$\\sigma_i / \\sigma_1$ (i = 2 solid, 3 dashed, ...)")
    ax_sv.legend(fontsize="x-small")
    ax_er.axhline(1.0, color="0.5", linewidth=0.8)
    ax_er.set_xlabel("flow time $t$")
    ax_er.set_ylabel("effective rank of $W(t)$")
    ax_er.legend(fontsize="x-small")
    if title:
        fig.suptitle(title)
    return fig


def width_independence(
    runs: Mapping[int, Trajectory | Mapping[str, ArrayLike]],
    rates: Mapping[int, float],
    *,
    limits: Mapping[int, ArrayLike] | None = None,
    ax: Axes | None = None,
    title: str | None = "Width independence: nested starts",
) -> Figure:
    r"""Distance to the top-h eigenspace at several widths ``h``, each with its predicted rate.

    Parameters
    ----------
    runs : mapping of width h to Trajectory or to {"t", "distance"}
        One run per width, from nested starts ``W0[:, :h]``.
    rates : mapping of width h to float
        Predicted rates ``lam_h - lam_{h+1}``, drawn dashed in each run's colour.
    limits : mapping of width h to array, shape (d, h), optional
        Limits, needed for runs given as trajectories.

    Returns
    -------
    Figure
    """
    if not runs:
        raise ValueError("runs must hold at least one width")
    ax = _axes(ax)
    for i, (h, run) in enumerate(runs.items()):
        color = COLORS[i % len(COLORS)]
        limit = None if limits is None else limits.get(h)
        t, y = _distance_curve(f"h = {h}", run, limit)
        if h not in rates:
            raise ValueError(f"rates has no entry for width h = {h}")
        # the data wide and pale, the prediction dashed and dark on top of it
        seed_band(ax, t, np.maximum(y, 1e-300), color, f"$h = {h}$", linewidth=3.0, alpha=0.45)
        _rate_line(ax, t, y, float(rates[h]), f"predicted {exp_label(rates[h])}", color=color)
    log_scale(ax)
    ax.set_xlabel("flow time $t$")
    ax.set_ylabel("distance to top-$h$ eigenspace (rad)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="x-small", ncol=2)
    return ax.figure


def _fit_slope(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def scaling(
    x: ArrayLike,
    y: ArrayLike,
    *,
    predicted_slope: float | None = None,
    fitted_slope: float | None = None,
    bound: ArrayLike | None = None,
    xlabel: str = "x",
    ylabel: str = "y",
    label: str = "measured",
    bound_label: str = "bound",
    color_index: int = 0,
    marker: str = "o",
    linestyle: str = "-",
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    r"""A log-log scaling plot: measurements against a parameter, with the predicted power law.

    Parameters
    ----------
    x : array_like, shape (N,)
        Positive parameter values (batch sizes, sample sizes, learning rates).
    y : array_like, shape (N,) or (N, S)
        Positive measurements; with a seed axis, the median and the range.
    predicted_slope : float, optional
        Drawn as ``c x^slope`` through the geometric mean of the medians.
    fitted_slope : float, optional
        Shown in the legend (fitted on the medians when omitted).
    bound : array_like, shape (N,), optional
        An upper bound drawn dotted (e.g. Davis–Kahan); median over a seed axis.
    bound_label : str
    color_index : int
        Colour of this series, so that several can share one axes.
    marker, linestyle : str
        Of the measured series (matplotlib codes), to tell apart series that
        may coincide.

    Returns
    -------
    Figure

    Examples
    --------
    >>> fig = scaling([1, 2, 4], [1.0, 0.5, 0.25], predicted_slope=-1.0)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    x = as_float_array(x, "x", min_ndim=1)
    y = as_float_array(y, "y", min_ndim=1)
    if x.ndim != 1 or y.shape[0] != x.shape[0] or y.ndim > 2:
        raise ValueError(f"x must have shape (N,) and y (N,) or (N, S), got {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive for a log-log plot")
    ax = _axes(ax)
    color = COLORS[int(color_index) % len(COLORS)]
    med = np.median(y, axis=1) if y.ndim == 2 else y
    slope = _fit_slope(x, med) if fitted_slope is None else float(fitted_slope)
    ax.plot(x, med, marker=marker, linestyle=linestyle, color=color,
            label=f"{label} (fitted slope {slope:.2f})")
    if y.ndim == 2:
        ax.fill_between(x, y.min(axis=1), y.max(axis=1), color=color, alpha=0.2, linewidth=0)
    if predicted_slope is not None:
        anchor_x, anchor_y = np.exp(np.mean(np.log(x))), np.exp(np.mean(np.log(med)))
        ax.plot(x, anchor_y * (x / anchor_x) ** predicted_slope, "--", color=color, alpha=0.8,
                label=f"predicted slope {float(predicted_slope):.2f}", zorder=5)
    if bound is not None:
        b = as_float_array(bound, "bound", min_ndim=1)
        if b.shape[0] != x.shape[0] or b.ndim > 2:
            raise ValueError(f"bound must have shape (N,) or (N, S) with N = {x.shape[0]}, got {b.shape}")
        b = np.median(b, axis=1) if b.ndim == 2 else b
        ax.plot(x, b, ":", color=color, label=bound_label)
    log_scale(ax, "x")
    log_scale(ax)
    # the measured parameter values are the natural ticks (a few, often less than a decade apart)
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="x-small")
    return ax.figure


def identifiability(
    rhos: Sequence[float] | np.ndarray,
    distances: Mapping[str, ArrayLike],
    *,
    transition: float | None = None,
    measured_transition: float | None = None,
    ax: Axes | None = None,
    title: str | None = "Identifiability of the content subspace",
) -> Figure:
    r"""Distance of the learned subspace to the content subspace against augmentation strength ``rho``.

    Parameters
    ----------
    rhos : array_like, shape (R,)
        Fractions of the style kept by the augmentation.
    distances : mapping of label to array, shape (R,) or (R, S)
        Geodesic distances (rad) to the content subspace, e.g. the flow and SGD.
    transition : float, optional
        Predicted transition ``rho* = min(content) / max(style)``: below it the
        content subspace is the top-k eigenspace of the contrastive generator.
    measured_transition : float, optional
        Where the measured curve crosses half its range.

    Returns
    -------
    Figure
    """
    r = as_float_array(rhos, "rhos", min_ndim=1)
    if not distances:
        raise ValueError("distances must hold at least one curve")
    ax = _axes(ax)
    for i, (label, dist) in enumerate(distances.items()):
        y = as_float_array(dist, f"distances[{label!r}]", min_ndim=1)
        if y.shape[0] != r.shape[0] or y.ndim > 2:
            raise ValueError(f"distances[{label!r}] must have shape (R,) or (R, S) with R = {r.shape[0]}")
        # as in distance_to_limit: the first curve wide and pale, the second dashed on top, so that
        # curves that agree (the flow at two horizons far from rho*) stay visible
        style = {"linestyle": (0, (4, 2)) if i == 1 else "-", "linewidth": {0: 3.5}.get(i, 1.4),
                 "alpha": 0.45 if i == 0 else 1.0, "zorder": 3 if i == 1 else 2}
        seed_band(ax, r, y.T, COLORS[i % len(COLORS)], str(label), marker="o", markersize=3, **style)
    if transition is not None:
        ax.axvline(transition, color="0.3", linestyle="--", label=f"predicted $\\rho^* = {transition:.3g}$")
    if measured_transition is not None:
        ax.axvline(measured_transition, color="0.45", linestyle=":",
                   label=f"measured transition {measured_transition:.3g}")
    ax.set_xlabel("fraction of style kept $\\rho$ (1: no augmentation)")
    ax.set_ylabel("distance to content subspace (rad)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="x-small")
    return ax.figure


# -- sweeps (xarray Datasets of grassdyn.sweep) --------------------------------------------------
__all__ += ["phase_diagram", "sweep_lines"]


def _sweep_array(ds: Any, var: str, keep: tuple[str, ...]) -> Any:
    """``ds[var]`` without its length-one dimensions other than ``keep`` and ``seed``; raise naming others."""
    if var not in getattr(ds, "data_vars", {}):
        known = ", ".join(v for v in getattr(ds, "data_vars", {}) if v not in ("status", "error"))
        raise ValueError(f"var must be an output of the sweep, got {var!r} (outputs: {known or 'none'})")
    da = ds[var]
    for dim in keep:
        if dim not in da.dims:
            axes = ", ".join(map(str, da.dims))
            raise ValueError(f"{dim!r} is not a grid axis of the sweep (axes: {axes})")
    extra = [str(d) for d in da.dims if d not in (*keep, "seed") and da.sizes[d] > 1]
    if extra:
        raise ValueError(f"select one value of {', '.join(extra)} first (e.g. ds.sel({extra[0]}=...)): "
                         f"only {', '.join(keep)} and seed can vary in this figure")
    return da.squeeze([d for d in da.dims if d not in (*keep, "seed")], drop=True)


def _wide_positive(values: np.ndarray) -> bool:
    """Positive values spanning a decade or more: drawn on a log scale."""
    return values.dtype.kind in "iuf" and bool(np.all(values > 0)) and values.max() >= 10 * values.min()


def _geometric(coord: np.ndarray) -> bool:
    """A grid axis spaced more evenly in log than linearly (lr, n, B), spanning a factor 4: log scale."""
    if coord.dtype.kind not in "iuf" or not np.all(coord > 0) or coord.size < 3:
        return _wide_positive(coord)
    v = np.sort(coord.astype(float))
    steps, log_steps = np.diff(v), np.diff(np.log(v))
    spread = lambda x: np.std(x) / np.mean(x)  # noqa: E731
    return bool(v[-1] >= 4 * v[0] and spread(log_steps) < spread(steps))


def _to_index(coord: np.ndarray, x: ArrayLike) -> np.ndarray:
    """Data values -> position on an axis drawing ``coord`` at 0, 1, 2, ... (log-interpolated if wide)."""
    coord, x = np.asarray(coord, dtype=float), np.asarray(x, dtype=float)
    order = np.argsort(coord)
    warp = np.log if _geometric(coord) else (lambda v: v)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.interp(warp(x), warp(coord[order]), order.astype(float), left=np.nan, right=np.nan)


def _ticks(ax: Axes, axis: str, coord: np.ndarray) -> None:
    labels = [f"{v:g}" if not isinstance(v, str) else v for v in coord.tolist()]
    if axis == "x":
        ax.set_xticks(np.arange(coord.size), labels, rotation=45 if coord.size > 6 else 0)
    else:
        ax.set_yticks(np.arange(coord.size), labels)


def phase_diagram(
    ds: Any,
    var: str,
    x: str,
    y: str,
    *,
    agg: str = "median",
    lines: Mapping[str, tuple[ArrayLike, ArrayLike]] | None = None,
    vlines: Mapping[str, float] | None = None,
    hlines: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Heatmap of a seed-aggregated sweep output over two grid axes, with theory lines.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep (:func:`grassdyn.sweep.run`); dimensions other than ``x``,
        ``y`` and ``seed`` must have one value (``ds.sel(...)`` them first).
    var : str
        The output drawn.
    x, y : str
        Grid axes on the horizontal and vertical axis; cells sit at equal
        spacing, labelled with their values.
    agg : {"median", "mean"}
        Aggregate over seeds (NaN cells, missing or failed, are skipped; a
        cell with no seed left is left blank, on a grey background).
    lines : mapping of label to (x_values, y_values), optional
        Predicted curves in data units (e.g. ``lr / B`` constant), placed by
        interpolating the coordinates (logarithmically on a wide positive axis).
    vlines, hlines : mapping of label to value, optional
        Predicted thresholds on ``x`` or ``y`` (e.g. ``rho*``).

    Returns
    -------
    Figure
    """
    if agg not in ("median", "mean"):
        raise ValueError(f"agg must be 'median' or 'mean', got {agg!r}")
    if x == y:
        raise ValueError(f"x and y must be different axes, got {x!r} twice")
    da = _sweep_array(ds, var, (x, y))
    if da.ndim != (3 if "seed" in da.dims else 2):
        raise ValueError(f"{var!r} must be a scalar per cell to draw a phase diagram, got dims {da.dims}")
    reduced = getattr(da, agg)("seed", skipna=True) if "seed" in da.dims else da
    Z = np.asarray(reduced.transpose(y, x).values, dtype=float)
    xc, yc = np.asarray(ds[x].values), np.asarray(ds[y].values)
    ax = _axes(ax, (5.6, 4.2))
    ax.set_facecolor("0.85")
    mesh = ax.pcolormesh(np.arange(xc.size + 1) - 0.5, np.arange(yc.size + 1) - 0.5,
                         np.ma.masked_invalid(Z), cmap=cmap, shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label=f"{var} ({agg} over seeds)")
    style = {"color": "white", "linewidth": 1.5}
    for i, (label, (lx, ly)) in enumerate((lines or {}).items()):
        px = _to_index(xc, lx) if xc.dtype.kind in "iuf" else np.asarray(lx)
        py = _to_index(yc, ly) if yc.dtype.kind in "iuf" else np.asarray(ly)
        ax.plot(px, py, linestyle="--", label=label if i == 0 else None, **style)
    for label, value in (vlines or {}).items():
        ax.axvline(float(_to_index(xc, value)), linestyle="--", label=label, **style)
    for label, value in (hlines or {}).items():
        ax.axhline(float(_to_index(yc, value)), linestyle=":", label=label, **style)
    _ticks(ax, "x", xc)
    _ticks(ax, "y", yc)
    ax.set_xlim(-0.5, xc.size - 0.5)
    ax.set_ylim(-0.5, yc.size - 0.5)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if lines or vlines or hlines:
        ax.legend(fontsize="x-small", loc="upper left", framealpha=0.6)
    default = f"{var} ({ds.attrs.get('experiment', 'sweep')}, {ds.sizes.get('seed', 1)} seeds)"
    ax.set_title(title if title is not None else default, fontsize="medium")
    return ax.figure


def sweep_lines(
    ds: Any,
    var: str,
    x: str,
    *,
    hue: str | None = None,
    quantiles: tuple[float, float] = (0.1, 0.9),
    lines: Mapping[str, tuple[ArrayLike, ArrayLike]] | None = None,
    vlines: Mapping[str, float] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Median over seeds of a sweep output against one grid axis, with a quantile band, per ``hue`` value.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep; dimensions other than ``x``, ``hue`` and ``seed`` must have one value.
    var : str
        The output drawn (a scalar per cell).
    x : str
        A numeric grid axis (log scale when its values are positive and span a decade).
    hue : str, optional
        A grid axis drawn as one line per value.
    quantiles : (low, high)
        The band's quantile levels over seeds.
    lines : mapping of label to (x_values, y_values), optional
        Predicted curves in data units (e.g. ``c lr^(1/2)``).
    vlines : mapping of label to value, optional
        Predicted thresholds on ``x`` (e.g. ``rho*``).

    Returns
    -------
    Figure
    """
    lo, hi = (float(q) for q in quantiles)
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"quantiles must be (low, high) with 0 <= low < high <= 1, got {quantiles!r}")
    keep = (x,) if hue is None else (x, hue)
    if hue == x:
        raise ValueError(f"hue must differ from x, got {x!r} twice")
    da = _sweep_array(ds, var, keep)
    if da.ndim != len(keep) + ("seed" in da.dims):
        raise ValueError(f"{var!r} must be a scalar per cell to draw lines, got dims {da.dims}")
    xc = np.asarray(ds[x].values)
    if xc.dtype.kind not in "iuf":
        raise ValueError(f"x must be a numeric grid axis, got {x!r} with values {xc.tolist()}")
    ax = _axes(ax)
    groups = [(None, da)] if hue is None else [(v, da.sel({hue: v})) for v in ds[hue].values]
    for i, (value, sub) in enumerate(groups):
        color = COLORS[i % len(COLORS)]
        vals = np.asarray(sub.transpose(x, ...).values, dtype=float).reshape(xc.size, -1)
        finite = np.isfinite(vals).any(axis=1)
        with np.errstate(all="ignore"):
            med = np.full(xc.size, np.nan)
            band = np.full((2, xc.size), np.nan)
            med[finite] = np.nanmedian(vals[finite], axis=1)
            band[:, finite] = np.nanquantile(vals[finite], [lo, hi], axis=1)
        if hue is None:
            label = "median over seeds"
        else:
            label = f"{hue} = {value}" if isinstance(value, str) else f"{hue} = {value:g}"
        ax.plot(xc, med, marker="o", markersize=3, color=color, label=label)
        if vals.shape[1] > 1:
            ax.fill_between(xc, band[0], band[1], color=color, alpha=0.2, linewidth=0)
    for label, (lx, ly) in (lines or {}).items():
        ax.plot(np.asarray(lx, dtype=float), np.asarray(ly, dtype=float), linestyle="--", color="0.3",
                linewidth=1, label=label)
    for label, value in (vlines or {}).items():
        ax.axvline(float(value), color="0.3", linestyle="--", label=label)
    if _geometric(xc):
        log_scale(ax, "x")
        ax.set_xticks(xc, [f"{v:g}" for v in xc.tolist()])
    values = np.asarray(da.values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size and _wide_positive(values):
        log_scale(ax, "y")
    ax.set_xlabel(x)
    ax.set_ylabel(var)
    ax.text(0.99, 0.01, f"median, band {lo:g}-{hi:g} quantiles over {ds.sizes.get('seed', 1)} seeds",
            transform=ax.transAxes, ha="right", va="bottom", fontsize="x-small", color="0.4")
    ax.set_title(title if title is not None else f"{var} ({ds.attrs.get('experiment', 'sweep')})",
                 fontsize="medium")
    ax.legend(fontsize="x-small")
    return ax.figure
