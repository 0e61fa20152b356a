r"""InfoNCE with in-batch negatives (Oord, Li & Vinyals 2018; Chen et al. 2020), dot or cosine similarity.

With ``f(x) = W^T x`` and a similarity ``s(a, b) = a^T b`` (``"dot"``) or
``a^T b / (|a| |b|)`` (``"cosine"``), temperature ``tau``, a minibatch of ``B``
pairs ``(x_i, x+_i)`` and ``S_ij = s(f(x_i), f(x+_j))``, the minibatch loss is

.. math:: \hat L_B = \frac1B \sum_i \Big[ -\frac{S_{ii}}{\tau}
          + \log \frac{1}{|J_i|} \sum_{j \in J_i} e^{S_{ij}/\tau} \Big],

one direction (anchors ``x``, candidates ``x+``). ``negatives="others"``:
``J_i = {j != i}``, the other ``B - 1`` positives (the "decoupled" form of
Yeh et al., ECCV 2022); ``negatives="all"``: ``J_i`` = all ``B`` candidates,
the own positive included (InfoNCE / NT-Xent; the mean instead of the sum in
the denominator only shifts the loss by ``log B``). With explicit negatives
``(X, Xp, Xn)``, ``J_i`` is every row of ``Xn``.

**Population form** (the infinite-negative limit, Wang & Isola, ICML 2020,
Thm. 1): with ``x-`` an independent view,

.. math:: L(W) = -\frac1\tau E[s(f(x), f(x_+))] + E_x\big[\log E_{x_-} e^{s(f(x), f(x_-))/\tau}\big].

*Dot similarity, closed form.* Views are Gaussian, ``x- ~ N(mu, Cov)``, so
``log E e^{a^T x-} = a^T mu + a^T Cov a / 2`` with ``a = W f(x) / tau``, and
with ``C = sym E[x x+^T] - mu mu^T`` (the contrastive generator),
``Sigma = E[x x^T]``, ``S_c = W^T Cov W``, ``S_2 = W^T Sigma W``
(attributes ``contrastive_generator``, ``Sigma``, ``Cov``; no ``.C``, which
:mod:`grassdyn.compare` reads as a quadratic loss):

.. math:: L = -\frac1\tau \operatorname{tr}(W^\top C W) + \frac{1}{2\tau^2}\operatorname{tr}(S_c S_2),
   \qquad \nabla L = -\frac2\tau C W + \frac{1}{\tau^2}(\mathrm{Cov}\, W S_2 + \Sigma W S_c).

*Cosine similarity: Monte Carlo.* No closed form; ``value`` and ``egrad``
are the nested Monte Carlo estimate on one fixed sample of ``mc_samples``
triplets ``(x, x+, x-)`` drawn at construction (so they are a deterministic,
exactly differentiable function of ``W``), each anchor against all
``mc_samples`` negatives. :meth:`InfoNCE.monte_carlo` gives a fresh estimate
of the value and gradient with standard errors (batch means over 16 groups)
for either similarity; the dot-product closed form is its test oracle.

**Bias of the minibatch estimator.** The log of a batch mean is biased
(Jensen): for ``K`` negatives, ``E[log mean_K e^{s/tau}] = log E e^{s/tau}
- Var(e^{s/tau}) / (2 K (E e^{s/tau})^2) + O(K^-2)``, so
``E[hat L_B] - L = O(1/B)`` with ``K = B - 1`` (``"others"``); ``"all"`` adds
the positive to the mean, another ``O(1/B)`` term. Both bias the gradient at
``O(1/B)`` too (tested in ``tests/test_losses_info_nce.py``). The nested Monte
Carlo estimate carries the same ``O(1/n)`` bias in its sample size ``n``.

**High temperature.** ``e^{s/tau} = 1 + s/tau + O(tau^-2)`` gives
``tau L = -E[s(x, x+)] + E[s(x, x-)] + O(1/tau)``: with the dot similarity,
``tau grad L -> 2 grad L_contrastive = -2 C W`` at order ``1/tau`` (the 2 is
the ``1/2`` of the conventions' contrastive loss); exactly
``tau grad L + 2 C W = (Cov W S_2 + Sigma W S_c) / tau`` in the population.
For the minibatch estimator the limit is twice the in-batch contrastive
gradient (``"others"``) or ``2 (B - 1) / B`` times it (``"all"``).

**Invariance.** ``s(W^T a, W^T b)`` depends on ``W W^T`` only, for both
similarities: InfoNCE is invariant under ``W -> W Q`` and defines an
objective on Gr(d, h).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grassdyn._array import mT as _mT
from grassdyn._validation import as_float_array, as_int, as_real, as_rng, check_choice
from grassdyn.ssl._base import Batch, SSLLoss, _sym

__all__ = ["InfoNCE", "MonteCarloEstimate", "info_nce"]

SIMILARITIES = ("dot", "cosine")
NEGATIVES = ("others", "all")
#: groups of the batch-means standard error of :meth:`InfoNCE.monte_carlo`
_MC_GROUPS = 16


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo estimate of the population loss and gradient with standard errors.

    ``value_se`` and ``grad_se`` (entrywise) are batch-means standard errors
    over independent groups of the sample; the estimate also carries the
    ``O(1/n)`` bias of the nested logarithm (module docstring).
    """

    value: float
    value_se: float
    grad: np.ndarray
    grad_se: np.ndarray
    n: int


def _normalize(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.linalg.norm(F, axis=-1, keepdims=True)
    return F / norm, norm


def _normalize_back(dU: np.ndarray, U: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Gradient in ``F`` of a function of ``U = F / |F|`` (rowwise), from its gradient ``dU``."""
    return (dU - U * np.sum(dU * U, axis=-1, keepdims=True)) / norm


def _log_mean_exp(Z: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise ``log mean_{j in mask} e^{Z_ij}`` and the softmax weights, stably."""
    if mask is not None:
        Z = np.where(mask, Z, -np.inf)
    top = np.max(Z, axis=-1, keepdims=True)
    E = np.exp(Z - top)
    total = np.sum(E, axis=-1, keepdims=True)
    count = Z.shape[-1] if mask is None else np.sum(mask, axis=-1, keepdims=True)
    return (top + np.log(total / count))[..., 0], E / total


class InfoNCE(SSLLoss):
    """InfoNCE on a data model (population form) or arrays; see :mod:`grassdyn.ssl.nce`."""

    name = "info_nce"
    grassmann_invariant = True

    def __init__(
        self,
        source: Any,
        temperature: float = 0.5,
        negatives: str = "others",
        similarity: str = "dot",
        *,
        mc_samples: int = 4096,
        rng: np.random.Generator | int | None = 0,
    ) -> None:
        super().__init__(source)
        self.temperature = as_real(temperature, "temperature", low=0.0, low_open=True)
        self.negatives = check_choice(negatives, "negatives", NEGATIVES)
        self.similarity = check_choice(similarity, "similarity", SIMILARITIES)
        self.mc_samples = as_int(mc_samples, "mc_samples", minimum=2)
        self._sample: Batch | None = None
        if self.model is not None:
            m = self.model
            self.Sigma = m.second_moment
            self.Cov = self.Sigma - np.outer(m.mean, m.mean)
            #: the contrastive generator C (not named ``.C``: InfoNCE is not a quadratic loss)
            self.contrastive_generator = _sym(m.cross_moment - m.negative_moment)
            if self.similarity == "cosine":
                self._sample = m.sample_triplets(self.mc_samples, as_rng(rng))

    # -- the estimator shared by every form ----------------------------------------------
    def _terms(self, W: np.ndarray, X: np.ndarray, Xp: np.ndarray, Xn: np.ndarray | None):
        """Loss and gradient of the estimator: in-batch candidates ``Xp``, or explicit negatives ``Xn``."""
        tau, cosine = self.temperature, self.similarity == "cosine"
        F, G = X @ W, Xp @ W
        B = F.shape[-2]
        A, nA = _normalize(F) if cosine else (F, None)
        P, nP = _normalize(G) if cosine else (G, None)
        pos = np.sum(A * P, axis=-1)  # (..., B)
        if Xn is None:
            if B < 2:
                raise ValueError(f"batch_size must be >= 2 for InfoNCE's in-batch negatives, got B = {B}")
            S = A @ _mT(P)
            mask = ~np.eye(B, dtype=bool) if self.negatives == "others" else None
            lme, Pw = _log_mean_exp(S / tau, mask)
            val = np.mean(-pos / tau + lme, axis=-1)
            dS = Pw / (tau * B)  # d val / d S, then the positive's -1/(tau B) on the diagonal
            dS = dS - np.eye(B) / (tau * B)
            dA = dS @ P
            dP = _mT(dS) @ A
            dH, H, nH = None, None, None
        else:
            H = Xn @ W
            Hn, nH = _normalize(H) if cosine else (H, None)
            S = A @ _mT(Hn)
            lme, Pw = _log_mean_exp(S / tau, None)
            val = np.mean(-pos / tau + lme, axis=-1)
            dS = Pw / (tau * B)
            dA = dS @ Hn - P / (tau * B)
            dP = -A / (tau * B)
            dH = _mT(dS) @ A
            H = Hn
        if cosine:
            dF, dG = _normalize_back(dA, A, nA), _normalize_back(dP, P, nP)
            if dH is not None:
                dH = _normalize_back(dH, H, nH)
        else:
            dF, dG = dA, dP
        grad = _mT(X) @ dF + _mT(Xp) @ dG
        if dH is not None:
            grad = grad + _mT(Xn) @ dH
        return val, grad

    def _check_W(self, W: Any) -> np.ndarray:
        W = as_float_array(W, "W", min_ndim=2)
        if W.shape[-2] != self.d:
            raise ValueError(f"W must have d = {self.d} rows, got shape {W.shape}")
        return W

    def _full(self, W: np.ndarray) -> tuple[Any, np.ndarray]:
        if self.model is None:
            data = self.data
            return self._terms(W, data[0], data[1], data[2] if len(data) == 3 else None)
        if self._sample is not None:
            return self._terms(W, *self._sample)
        tau = self.temperature
        CW, CovW, SW = self.contrastive_generator @ W, self.Cov @ W, self.Sigma @ W
        Sc, S2 = _mT(W) @ CovW, _mT(W) @ SW
        val = -np.sum(W * CW, axis=(-2, -1)) / tau + np.sum(Sc * S2, axis=(-2, -1)) / (2 * tau**2)
        grad = -2.0 * CW / tau + (CovW @ S2 + SW @ Sc) / tau**2
        return val, grad

    def value(self, W: Any) -> float | np.ndarray:
        """Population loss (``"dot"``: closed form; ``"cosine"``: fixed-sample Monte Carlo) or data loss."""
        v = self._full(self._check_W(W))[0]
        return float(v) if np.ndim(v) == 0 else v

    def egrad(self, W: Any) -> np.ndarray:
        return self._full(self._check_W(W))[1]

    def monte_carlo(
        self, W: Any, n: int = 4096, rng: np.random.Generator | int | None = None
    ) -> MonteCarloEstimate:
        """Fresh nested Monte Carlo estimate of the population loss and gradient at one frame.

        ``n`` triplets ``(x, x+, x-)`` are split into 16 groups; each group's
        anchors are contrasted with that group's negatives, the estimate is
        the mean over groups and the standard errors are the groups' standard
        deviation over ``sqrt(16)`` (batch means). Bias ``O(16 / n)`` from the
        logarithm of the inner mean (module docstring).
        """
        if self.model is None:
            raise ValueError("monte_carlo needs the population form (a loss built on a data model)")
        W = self._check_W(W)
        if W.ndim != 2:
            raise ValueError(f"W must be one frame (d, h), got shape {W.shape}")
        n = as_int(n, "n", minimum=2 * _MC_GROUPS)
        per = n // _MC_GROUPS
        X, Xp, Xn = self.model.sample_triplets(per, as_rng(rng), batch=(_MC_GROUPS,))
        vals, grads = self._terms(np.broadcast_to(W, (_MC_GROUPS, *W.shape)), X, Xp, Xn)
        root = np.sqrt(_MC_GROUPS)
        return MonteCarloEstimate(
            value=float(vals.mean()),
            value_se=float(vals.std(ddof=1) / root),
            grad=grads.mean(axis=0),
            grad_se=grads.std(axis=0, ddof=1) / root,
            n=per * _MC_GROUPS,
        )

    # -- minibatches ----------------------------------------------------------------------
    def draw(self, batch_size: int, rng: Any = None, *, batch: tuple[int, ...] = (), replace: bool = True):
        """A minibatch as in :meth:`SSLLoss.draw`; in-batch negatives need ``batch_size >= 2``."""
        if as_int(batch_size, "batch_size", minimum=1) < 2:
            raise ValueError(f"batch_size must be >= 2 for InfoNCE's in-batch negatives, got {batch_size}")
        return super().draw(batch_size, rng, batch=batch, replace=replace)

    def batch_value(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        """The minibatch estimator ``hat L_B`` (biased by O(1/B), module docstring)."""
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        return self._terms(W, batch[0], batch[1], batch[2] if len(batch) == 3 else None)[0]

    def batch_egrad(self, W: np.ndarray, batch: Batch) -> np.ndarray:
        """Gradient of :meth:`batch_value`, ``(*batch, d, h)``, in O(B^2 h + B d h)."""
        W = np.asarray(W, dtype=np.float64)
        self._check_batch(W, batch)
        return self._terms(W, batch[0], batch[1], batch[2] if len(batch) == 3 else None)[1]


def info_nce(
    source: Any,
    temperature: float = 0.5,
    negatives: str = "others",
    similarity: str = "dot",
    *,
    mc_samples: int = 4096,
    rng: np.random.Generator | int | None = 0,
) -> InfoNCE:
    """InfoNCE on a data model (population: infinite negatives) or on arrays ``(X, Xp[, Xn])``.

    Parameters
    ----------
    source : AugmentationModel or tuple of arrays
    temperature : float > 0
        ``tau``.
    negatives : {"others", "all"}
        In-batch negatives: the other ``B - 1`` positives, or all ``B``
        candidates (the own positive included).
    similarity : {"dot", "cosine"}
    mc_samples : int
        Size of the fixed Monte Carlo sample of the cosine population form.
    rng : Generator, int or None
        Draws that sample.

    Examples
    --------
    >>> import numpy as np
    >>> from grassdyn.data import AugmentationModel
    >>> model = AugmentationModel(5, [2.0], [1.0], rho=0.5, noise=0.1, rng=0)
    >>> loss, W = info_nce(model, temperature=1e4), np.eye(5)[:, :2]
    >>> bool(np.allclose(1e4 * loss.egrad(W), -2 * loss.contrastive_generator @ W, atol=1e-2))
    True
    """
    return InfoNCE(source, temperature, negatives, similarity, mc_samples=mc_samples, rng=rng)
