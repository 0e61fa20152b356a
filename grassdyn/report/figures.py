"""The report's figures, (a) to (g), each built from the data of one or two claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from grassdyn import plotting
from grassdyn.report.claims import (
    closed_form,
    collapse,
    finite,
    identifiability,
    ntk,
    platonic,
    predictor,
    sgd_flow,
    stepwise,
    width,
)


def _dynamics(data: dict[str, dict[str, Any]]) -> Figure:
    """(b): distance to the limit for the closed form, the integrator and SGD at each lr; the lr orders."""
    cf, sf = data[closed_form.NAME], data[sgd_flow.NAME]
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    ax_d, ax_o = fig.subplots(1, 2)
    runs = {**closed_form.curves(cf), **sgd_flow.curves(sf)}
    plotting.distance_to_limit(runs, rate=cf["predicted_rate"], ax=ax_d,
                               title="Grassmannian dynamics: distance to the limit")
    sgd_flow.order_panel(sf, ax_o)
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: its file stem, caption title, the claims it draws and how."""

    name: str
    title: str
    claims: tuple[str, ...]
    build: Callable[[dict[str, dict[str, Any]]], Figure]


#: The report figures in order, each drawn from the data of the claims it names.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("collapse", "(a) The unconstrained flow and SGD collapse", (collapse.NAME,),
               lambda data: collapse.figure(data[collapse.NAME])),
    FigureSpec("dynamics", "(b) Grassmannian dynamics: closed form, integrator, SGD",
               (closed_form.NAME, sgd_flow.NAME), _dynamics),
    FigureSpec("width", "(c) Width independence", (width.NAME,), lambda data: width.figure(data[width.NAME])),
    FigureSpec("finite_samples", "(d) Batch size and finite samples", (finite.NAME,),
               lambda data: finite.figure(data[finite.NAME])),
    FigureSpec("identifiability", "(e) Identifiability against augmentation strength",
               (identifiability.NAME,), lambda data: identifiability.figure(data[identifiability.NAME])),
    FigureSpec("ntk", "(f) Width and the NTK: supervised against SSL", (ntk.NAME,),
               lambda data: ntk.figure(data[ntk.NAME])),
    FigureSpec("predictor", "(g) SimSiam with a predictor: eigenmodes, alignment, weight-decay threshold",
               (predictor.NAME,), lambda data: predictor.figure(data[predictor.NAME])),
    FigureSpec("stepwise", "(h) Stepwise learning of Barlow Twins", (stepwise.NAME,),
               lambda data: stepwise.figure(data[stepwise.NAME])),
    FigureSpec("platonic", "(i) Do different SSL losses and optimisers learn the same subspace?",
               (platonic.NAME,), lambda data: platonic.figure(data[platonic.NAME])),
)
