"""Wide two-layer networks: random features on the Grassmannian, infinite-width kernels, NTK training.

The model ``f(x) = W^T sigma(U x / sqrt d) / sqrt m`` (docs/conventions.md,
"Two-layer model"), its empirical NTK, the analytic infinite-width kernels,
the exact Grassmannian random-features flow in sample space and its
infinite-width limit, and full-batch training of both layers:

- :mod:`grassdyn.width.network`: :class:`TwoLayer` and its closed-form NTK;
- :mod:`grassdyn.width.kernels`: :func:`nngp`, :func:`ntk_limit`;
- :mod:`grassdyn.width.random_features`: :func:`random_features_flow`,
  :func:`infinite_width_flow`, :func:`infinite_width_limit` (kernel PCA);
- :mod:`grassdyn.width.training`: :func:`train` (full-batch GD on both
  layers) and its objectives :func:`supervised`, :func:`alignment`,
  :func:`contrastive`, :func:`cosine_contrastive`, :func:`barlow_twins`.
"""

from grassdyn.width.kernels import nngp, ntk_limit, tanh_quadrature_error
from grassdyn.width.network import ACTIVATIONS, OUTPUTS, TwoLayer
from grassdyn.width.random_features import (
    RepresentationFlow,
    infinite_width_flow,
    infinite_width_limit,
    random_features_flow,
)
from grassdyn.width.training import (
    OBJECTIVES,
    TrainResult,
    alignment,
    barlow_twins,
    contrastive,
    cosine_contrastive,
    objective,
    supervised,
    train,
)

__all__ = [
    "ACTIVATIONS",
    "OBJECTIVES",
    "OUTPUTS",
    "RepresentationFlow",
    "TrainResult",
    "TwoLayer",
    "alignment",
    "barlow_twins",
    "contrastive",
    "cosine_contrastive",
    "infinite_width_flow",
    "infinite_width_limit",
    "nngp",
    "ntk_limit",
    "objective",
    "random_features_flow",
    "supervised",
    "tanh_quadrature_error",
    "train",
]
