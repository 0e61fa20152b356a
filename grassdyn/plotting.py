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
    "collapse",
    "distance_to_limit",
    "exp_label",
    "identifiability",
    "log_scale",
    "scaling",
    "width_independence",
]

_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


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


def _line_band(ax: Axes, x: np.ndarray, y: np.ndarray, color: str, label: str, **kw: Any) -> None:
    """A line, or for ``y`` of shape ``(S, T)`` its median with the range over seeds as a band."""
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
        _line_band(ax, t, np.maximum(y, 1e-300), _COLORS[i % len(_COLORS)], str(label), **style)
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
        color = _COLORS[k % len(_COLORS)]
        ratio = sv / sv[..., :1]
        for i in range(1, ratio.shape[-1]):
            y = _flatten_seeds(ratio[..., i])
            _line_band(ax_sv, t, y, color, f"{label}: $\\sigma_{{{i + 1}}}/\\sigma_1$" if i == 1 else "_",
                       linestyle=("-", "--", ":", "-.")[(i - 1) % 4])
        _line_band(ax_er, t, _flatten_seeds(er), color, str(label))
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
        color = _COLORS[i % len(_COLORS)]
        limit = None if limits is None else limits.get(h)
        t, y = _distance_curve(f"h = {h}", run, limit)
        if h not in rates:
            raise ValueError(f"rates has no entry for width h = {h}")
        # the data wide and pale, the prediction dashed and dark on top of it
        _line_band(ax, t, np.maximum(y, 1e-300), color, f"$h = {h}$", linewidth=3.0, alpha=0.45)
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
    color = _COLORS[int(color_index) % len(_COLORS)]
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
        _line_band(ax, r, y.T, _COLORS[i % len(_COLORS)], str(label), marker="o", markersize=3, **style)
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
