r"""Linear SSL losses, in population form (from a data model) and sample form (from arrays).

The representation is ``f(x) = W^T x`` with ``W`` of shape ``(d, h)``. One
convention throughout (docs/conventions.md):

- alignment (non-contrastive): ``L = -1/2 E[f(x)^T f(x+)]``, generator
  ``C = sym E[x x+^T]``;
- contrastive: ``L = -1/2 E[f(x)^T (f(x+) - f(x-))]``, generator
  ``C = sym(E[x x+^T] - E[x x-^T])``;
- spectral contrastive (HaoChen, Wei, Gaidon & Ma, "Provable guarantees for
  self-supervised deep learning with spectral contrastive loss", NeurIPS
  2021): ``L = -E[f(x)^T f(x+)] + 1/2 E[(f(x)^T f(x-))^2]``, not quadratic.

``sym A = (A + A^T)/2``. The quadratic losses are
:class:`grassdyn.objectives.Quadratic` objectives ``L = -1/2 tr(W^T C W)``
and expose ``.C``.

**Sources.** ``source`` is an :class:`~grassdyn.data.AugmentationModel`
(population form: expectations in closed form; minibatches are fresh draws,
with an independent negative view for the contrastive losses), or arrays of
pairs (empirical form over a finite data set of ``n`` rows): ``(X, Xp)`` or
``(X, Xp, Xn)``, each of shape ``(n, d)``. With ``(X, Xp)`` the contrastive
losses use in-batch negatives: ``x_i`` is contrasted with ``x+_j`` for all
``j != i``, so ``E[x x-^T]`` is estimated by the U-statistic
``(s s+^T - X^T X+) / (n (n - 1))`` with ``s = sum_i x_i``, ``s+ = sum_i x+_i``.
The empirical generator replaces the population one, and minibatch gradients
are unbiased estimates of the full-data gradient for minibatches drawn
without replacement (with replacement, in-batch negatives carry an
``O(B / n)`` bias from repeated rows).

**Minibatches** (used by :func:`grassdyn.sgd.simulate`): ``draw`` returns a
tuple of arrays of shape ``(*batch, B, d)``; ``batch_value`` and
``batch_egrad`` evaluate the minibatch loss and its Euclidean gradient,
broadcasting ``W`` of shape ``(*batch, d, h)``, in O(B d h) without forming
any ``d x d`` matrix.

One module per loss family: ``grassdyn.ssl._base`` (sources, minibatches),
:mod:`grassdyn.ssl.quadratic` (alignment, contrastive),
:mod:`grassdyn.ssl.spectral` (spectral contrastive),
:mod:`grassdyn.ssl.nce` (InfoNCE, dot or cosine similarity),
:mod:`grassdyn.ssl.redundancy` (Barlow Twins, unnormalised),
:mod:`grassdyn.ssl.variance_covariance` (VICReg) and :mod:`grassdyn.ssl.predictor`
(SimSiam and BYOL with a linear predictor: vector fields on a state, not
gradients). Each states its formula, normalisation, population form and
minibatch bias in its docstring.

**Invariance.** A loss with ``grassmann_invariant = False`` (VICReg; Barlow
Twins with ``off_diagonal != 1``) changes under ``W -> W Q``: it is no
function of ``span W``, and the Grassmannian :func:`grassdyn.flows.integrate`
and :func:`grassdyn.sgd.simulate` refuse it.
"""

from grassdyn.ssl._base import SSLLoss
from grassdyn.ssl.nce import InfoNCE, MonteCarloEstimate, info_nce
from grassdyn.ssl.predictor import PredictorLoss, byol, simsiam
from grassdyn.ssl.quadratic import Alignment, Contrastive, alignment, contrastive
from grassdyn.ssl.redundancy import BarlowTwins, barlow_twins
from grassdyn.ssl.spectral import SpectralContrastive, spectral_contrastive
from grassdyn.ssl.variance_covariance import VICReg, vicreg

__all__ = [
    "Alignment",
    "BarlowTwins",
    "Contrastive",
    "InfoNCE",
    "MonteCarloEstimate",
    "PredictorLoss",
    "SSLLoss",
    "SpectralContrastive",
    "VICReg",
    "alignment",
    "barlow_twins",
    "byol",
    "contrastive",
    "info_nce",
    "simsiam",
    "spectral_contrastive",
    "vicreg",
]
