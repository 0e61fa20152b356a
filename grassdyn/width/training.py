r"""Full-batch gradient descent on both layers, with the NTK change and the distance to the linearised model.

**Objectives on the outputs** ``F = f(X)`` (``f`` the two-layer network of
:mod:`grassdyn.width.network`):

- :func:`supervised`: ``L = 1/(2n) sum_i ||f(x_i) - y_i||^2``;
- :func:`alignment`, :func:`contrastive` (dot-product similarity, the
  conventions of :mod:`grassdyn.ssl` with ``f`` in place of ``W^T x``):
  ``L = -1/(2n) sum_{ij} Omega_ij f(x_i)^T g_j`` with ``g = f(x+)`` and
  ``Omega = I`` (alignment), ``g = [f(x+); f(x-)]`` and ``Omega = [I, -I]``
  (contrastive with negatives), or ``Omega = I - (1 1^T - I) / (n - 1)``
  (contrastive with in-batch negatives, the U-statistic of :mod:`grassdyn.ssl`);
- :func:`cosine_contrastive`: the same with the cosine similarity
  ``cos(a, b) = a^T b / (|a| |b|)`` in place of the dot product, the
  cosine-similarity losses of Anil, Esser & Ghoshdastidar (AAAI 2025,
  arXiv:2403.08673).

- :func:`barlow_twins`: the loss of :func:`grassdyn.ssl.barlow_twins`
  (:mod:`grassdyn.ssl.redundancy`) on the outputs, with the symmetrised
  cross-correlation ``C_cc = sym(F^T G) / n`` of ``F = f(X)``, ``G = f(X+)``:
  ``L = sum_ij omega_ij (C_cc - I)_ij^2``, ``omega = beta 1 1^T + (1 - beta) I``,
  ``beta = off_diagonal``; ``dL/dF = (2/n) G (omega o (C_cc - I))`` and
  ``dL/dG = (2/n) F (omega o (C_cc - I))``. With ``f(x) = W^T phi(x)`` it is
  ``gd.ssl.barlow_twins((Phi, Phi+))`` at ``W``. For ``beta != 1`` it is not
  invariant under ``W -> W Q`` (``Q`` in O(h)), so :func:`train` refuses it
  with a Grassmannian output layer, as the Grassmannian flows of
  :mod:`grassdyn.ssl` do. Fleissner, Anil & Ghoshdastidar (arXiv:2411.11176)
  predict that its NTK becomes constant as the width grows.

**Gradients** (``Z = X U^T / sqrt d``, ``Phi = sigma(Z) / sqrt m``, ``G = dL/dF``):
``dL/dW = Phi^T G`` and ``dL/dU = [(G W^T) o sigma'(Z)]^T X / sqrt(m d)``.

**Steps.** Gradient descent ``theta <- theta - lr dL/dtheta`` on ``U`` and a
free ``W``; a Grassmannian ``W`` takes the Riemannian step
``W <- retract_qr(W, -lr (I - W W^T) dL/dW)`` (:func:`grassdyn.grassmann.retract`).
Step ``k`` sits at gradient-flow time ``t = k lr`` (docs/conventions.md).

**Linearisation.** The NTK picture replaces the network by its first-order
Taylor model around the initial parameters ``theta0``,
``f_lin(x) = f(x; theta0) + J0(x) (theta - theta0)``, trained by the same
gradient descent (for a Grassmannian output layer, the displacement of
``W`` lies in the tangent space at ``W0``, where the gradient is projected).
Its outputs evolve in function space with the fixed kernel ``Theta_0``
(Jacot, Gabriel & Hongler 2018; Lee et al., "Wide neural networks of any
depth evolve as linear models under gradient descent", NeurIPS 2019).
:func:`train` reports ``||f(P) - f_lin(P)||_F / ||f_lin(P)||_F`` on the probe
set ``P``, and the relative NTK change ``||Theta_t - Theta_0||_F / ||Theta_0||_F``
(``Theta`` from :meth:`TwoLayer.ntk`, both layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grassdyn import grassmann
from grassdyn._validation import as_float_array, as_int, as_real, as_rng, check_allocation, check_choice
from grassdyn.sgd import DivergenceError
from grassdyn.width.network import TwoLayer, inputs

__all__ = [
    "DIVERGENCE_FACTOR",
    "OBJECTIVES",
    "Objective",
    "TrainResult",
    "alignment",
    "barlow_twins",
    "contrastive",
    "cosine_contrastive",
    "objective",
    "supervised",
    "train",
]

#: Outputs larger than this factor times the initial scale (plus one) count as divergence.
DIVERGENCE_FACTOR = 1e8


@dataclass(frozen=True, eq=False)
class Objective:
    """A loss on the network outputs of a fixed set of inputs.

    ``inputs`` (R, d) stacks every view the loss looks at; ``value_and_grad(F)``
    takes their outputs ``F`` (R, h) and returns ``(L, dL/dF)``.
    """

    name: str
    inputs: np.ndarray
    kind: str
    targets: np.ndarray | None = None
    omega: np.ndarray | None = None
    off_diagonal: float = 1.0

    @property
    def n(self) -> int:
        if self.kind == "barlow":
            return self.inputs.shape[0] // 2
        return self.inputs.shape[0] if self.omega is None else self.omega.shape[0]

    def value_and_grad(self, F: np.ndarray) -> tuple[float, np.ndarray]:
        if self.kind == "supervised":
            R = F - self.targets
            n = F.shape[0]
            return float(0.5 * np.sum(R * R) / n), R / n
        if self.kind == "barlow":
            n, h = F.shape[0] // 2, F.shape[1]
            a, b = F[:n], F[n:]
            cross = a.T @ b
            D = (cross + cross.T) / (2 * n) - np.eye(h)
            weights = np.full((h, h), self.off_diagonal) + (1.0 - self.off_diagonal) * np.eye(h)
            wD = weights * D
            return float(np.sum(wD * D)), np.concatenate([(2.0 / n) * b @ wD, (2.0 / n) * a @ wD])
        n = self.omega.shape[0]
        a, b = F[:n], F[n:]
        scale = -1.0 / (2 * n)
        if self.kind == "dot":
            value = scale * float(np.sum(self.omega * (a @ b.T)))
            return value, np.concatenate([scale * self.omega @ b, scale * self.omega.T @ a])
        na = np.linalg.norm(a, axis=1, keepdims=True)
        nb = np.linalg.norm(b, axis=1, keepdims=True)
        ah, bh = a / na, b / nb
        cos = ah @ bh.T
        weighted = self.omega * cos
        ga = scale * (self.omega @ bh - weighted.sum(axis=1, keepdims=True) * ah) / na
        gb = scale * (self.omega.T @ ah - weighted.sum(axis=0)[:, None] * bh) / nb
        return scale * float(weighted.sum()), np.concatenate([ga, gb])


def _views(X: object, Xp: object, Xn: object) -> tuple[np.ndarray, ...]:
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n, d) with n >= 2, got shape {X.shape}")
    views = [X, inputs(Xp, X.shape[1], "Xp")]
    if Xn is not None:
        views.append(inputs(Xn, X.shape[1], "Xn"))
    for name, V in zip(("Xp", "Xn"), views[1:], strict=False):
        if V.shape != X.shape:
            raise ValueError(f"{name} must have the shape of X {X.shape}, got {V.shape}")
    return tuple(views)


def _pairwise(name: str, kind: str, X: object, Xp: object, Xn: object, contrast: bool) -> Objective:
    views = _views(X, Xp, Xn)
    n = views[0].shape[0]
    eye = np.eye(n)
    if not contrast:
        omega = eye
        views = views[:2]
    elif len(views) == 3:
        omega = np.concatenate([eye, -eye], axis=1)
    else:
        omega = eye - (np.ones((n, n)) - eye) / (n - 1)
    return Objective(name, np.concatenate(views), kind, omega=omega)


def supervised(X: object, Y: object) -> Objective:
    """Squared error ``1/(2n) sum ||f(x_i) - y_i||^2`` to targets ``Y`` of shape ``(n, h)``."""
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, d), got shape {X.shape}")
    Y = as_float_array(Y, "Y")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise ValueError(f"Y must have shape (n, h) with n = {X.shape[0]}, got shape {Y.shape}")
    return Objective("supervised", X, "supervised", targets=Y)


def alignment(X: object, Xp: object) -> Objective:
    """Dot-product alignment ``-1/(2n) sum_i f(x_i)^T f(x+_i)``."""
    return _pairwise("alignment", "dot", X, Xp, None, contrast=False)


def contrastive(X: object, Xp: object, Xn: object = None) -> Objective:
    """Dot-product contrastive loss; negatives ``Xn`` or else in-batch negatives (module docstring)."""
    return _pairwise("contrastive", "dot", X, Xp, Xn, contrast=True)


def cosine_contrastive(X: object, Xp: object, Xn: object = None) -> Objective:
    """Cosine-similarity contrastive loss ``-1/(2n) sum_ij Omega_ij cos(f(x_i), g_j)`` (module docstring)."""
    return _pairwise("cosine_contrastive", "cosine", X, Xp, Xn, contrast=True)


def barlow_twins(X: object, Xp: object, off_diagonal: float = 1.0) -> Objective:
    """Barlow Twins ``sum_ij omega_ij (C_cc - I)_ij^2``, ``C_cc = sym(f(X)^T f(X+)) / n`` (module docstring).

    The loss of :func:`grassdyn.ssl.barlow_twins` with the network outputs in
    place of ``W^T x``; ``off_diagonal`` (``beta >= 0``) weighs the
    redundancy-reduction term. With ``off_diagonal != 1`` :func:`train`
    refuses a Grassmannian output layer (the loss is not invariant under ``W -> W Q``).
    """
    views = _views(X, Xp, None)
    beta = as_real(off_diagonal, "off_diagonal", low=0.0)
    return Objective("barlow_twins", np.concatenate(views), "barlow", off_diagonal=beta)


#: The objectives :func:`objective` builds by name.
OBJECTIVES = ("supervised", "alignment", "contrastive", "cosine_contrastive", "barlow_twins")


def objective(
    name: str, X: object, Xp: object, Xn: object = None, Y: object = None, *, off_diagonal: float = 1.0
) -> Objective:
    """The objective ``name`` (one of :data:`OBJECTIVES`) on triplets ``(X, Xp, Xn)`` and targets ``Y``.

    One entry point for code that chooses the loss by name (the report's
    ``ntk`` claim, the ``ntk_change`` sweep experiment): ``Y`` is used by
    ``"supervised"`` only, ``Xn`` by the contrastive losses, ``off_diagonal``
    by ``"barlow_twins"``.
    """
    name = check_choice(name, "name", OBJECTIVES)
    if name == "supervised":
        return supervised(X, Y)
    if name == "alignment":
        return alignment(X, Xp)
    if name == "contrastive":
        return contrastive(X, Xp, Xn)
    if name == "cosine_contrastive":
        return cosine_contrastive(X, Xp, Xn)
    return barlow_twins(X, Xp, off_diagonal=off_diagonal)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A training run, recorded every ``record_every`` steps.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Gradient-flow times ``k lr``.
    loss : ndarray, shape (T,)
    ntk_change : ndarray, shape (T,)
        ``||Theta_t - Theta_0||_F / ||Theta_0||_F`` on the probe set.
    F : ndarray, shape (T, n_probe, h)
        Probe representations ``f(probe)``.
    linearisation_distance : ndarray, shape (T,)
        ``||f(probe) - f_lin(probe)||_F / ||f_lin(probe)||_F``.
    U, W : ndarray
        Final parameters.
    params : mapping
    """

    t: np.ndarray
    loss: np.ndarray
    ntk_change: np.ndarray
    F: np.ndarray
    linearisation_distance: np.ndarray
    U: np.ndarray
    W: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


def _backward(net: TwoLayer, X: np.ndarray, S: np.ndarray, W: np.ndarray, G: np.ndarray) -> np.ndarray:
    """``dL/dU = [(G W^T) o sigma'(Z)]^T X / sqrt(m d)`` for ``S = sigma'(Z)``."""
    return ((G @ W.T) * S).T @ X / np.sqrt(net.m * net.d)


def train(
    net: TwoLayer,
    objective: Objective,
    *,
    lr: float,
    steps: int,
    probe: object,
    record_every: int = 1,
    rng: Any = None,
) -> TrainResult:
    """Full-batch gradient descent on both layers, from ``net``'s parameters (``net`` is left unchanged).

    Parameters
    ----------
    net : TwoLayer
    objective : Objective
        From :func:`supervised`, :func:`alignment`, :func:`contrastive`,
        :func:`cosine_contrastive` or :func:`barlow_twins`.
    lr : float
        Learning rate, ``> 0``; step ``k`` is at time ``t = k lr``.
    steps : int
    probe : array_like, shape (n_probe, d)
        Inputs on which the NTK, the representations and the linearisation are recorded.
    record_every : int
        Record at steps ``0, record_every, 2 record_every, ...`` and at the last step.
    rng : numpy.random.Generator, int or None
        Full-batch gradient descent draws nothing; accepted (and validated)
        so that a call reads like :func:`grassdyn.sgd.simulate`.

    Returns
    -------
    TrainResult

    Raises
    ------
    grassdyn.sgd.DivergenceError
        When the outputs become non-finite or grow beyond ``DIVERGENCE_FACTOR``
        times their initial scale (dot-product losses are unbounded below), naming the step.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 3)); Y = np.sin(X[:, :1])
    >>> net = TwoLayer(3, 256, 1, rng=1)
    >>> run = train(net, supervised(X, Y), lr=0.5, steps=20, probe=X, record_every=10)
    >>> run.t.tolist(), bool(run.loss[-1] < run.loss[0])
    ([0.0, 5.0, 10.0], True)
    """
    if not isinstance(net, TwoLayer):
        raise TypeError(f"net must be a grassdyn.width.TwoLayer, got {type(net).__name__}")
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a grassdyn.width Objective, got {type(objective).__name__}")
    lr = as_real(lr, "lr", low=0.0, low_open=True)
    steps = as_int(steps, "steps", minimum=0)
    record_every = as_int(record_every, "record_every", minimum=1)
    as_rng(rng)
    if net.output == "grassmann" and objective.kind == "barlow" and objective.off_diagonal != 1.0:
        raise ValueError(
            f"objective: Barlow Twins with off_diagonal = {objective.off_diagonal:g} is not invariant under "
            "W -> W Q, so it defines no loss on a Grassmannian output layer; use off_diagonal = 1 or "
            "output='free'"
        )
    P = net.inputs(probe, "probe")
    Xall = net.inputs(objective.inputs, "objective inputs")
    if objective.targets is not None and objective.targets.shape[1] != net.h:
        raise ValueError(f"objective targets must have h = {net.h} columns, got {objective.targets.shape[1]}")
    rows = np.concatenate([Xall, P])
    R = Xall.shape[0]
    check_allocation((rows.shape[0], net.m),
                     f"train: features of the inputs and probe, shape (n, m) = ({rows.shape[0]}, {net.m})")
    U, W = net.params()
    U, W = U.copy(), W.copy()
    grassmann_out = net.output == "grassmann"
    scale = 1.0 / np.sqrt(net.d)

    def forward(U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z = (rows @ U.T) * scale
        return net.sigma(Z) / np.sqrt(net.m), net.sigma.derivative(Z)

    Phi0, S0 = forward(U)
    W0 = W.copy()
    F0 = Phi0 @ W0
    dU_lin, dW_lin = np.zeros_like(U), np.zeros_like(W)
    theta0 = net.ntk(P)
    norm0 = np.linalg.norm(theta0)
    bound = DIVERGENCE_FACTOR * (1.0 + float(np.max(np.abs(F0))))
    rec: dict[str, list[Any]] = {k: [] for k in ("t", "loss", "ntk", "F", "lin")}

    def lin_outputs() -> np.ndarray:
        return F0 + Phi0 @ dW_lin + ((S0 * (rows @ dU_lin.T)) @ W0) / np.sqrt(net.m * net.d)

    def record(k: int, value: float, F: np.ndarray) -> None:
        rec["t"].append(k * lr)
        rec["loss"].append(value)
        rec["ntk"].append(np.linalg.norm(net.with_params(U, W).ntk(P) - theta0) / norm0)
        rec["F"].append(F[R:].copy())
        Flin = lin_outputs()[R:]
        rec["lin"].append(np.linalg.norm(F[R:] - Flin) / max(np.linalg.norm(Flin), np.finfo(float).tiny))

    Phi, S = Phi0, S0
    for k in range(steps + 1):
        F = Phi @ W
        if not np.all(np.isfinite(F)) or np.max(np.abs(F)) > bound:
            raise DivergenceError(
                f"train: outputs diverged at step {k} (t = {k * lr:.6g}, max|f| = {np.max(np.abs(F)):.3g}) "
                f"with lr = {lr:.6g} and the {objective.name} loss",
                step=k, seed=0, lr=lr,
            )
        value, G = objective.value_and_grad(F[:R])
        if k % record_every == 0 or k == steps:
            record(k, value, F)
        if k == steps:
            break
        dW = Phi[:R].T @ G
        dU = _backward(net, Xall, S[:R], W, G)
        _, G_lin = objective.value_and_grad(lin_outputs()[:R])
        dW_l = Phi0[:R].T @ G_lin
        dU_l = _backward(net, Xall, S0[:R], W0, G_lin)
        U = U - lr * dU
        if grassmann_out:
            W = grassmann.retract(W, -lr * grassmann.project_tangent(W, dW, check=False), check=False)
            dW_l = grassmann.project_tangent(W0, dW_l, check=False)
        else:
            W = W - lr * dW
        dU_lin -= lr * dU_l
        dW_lin -= lr * dW_l
        Phi, S = forward(U)
    params = {"lr": lr, "steps": steps, "record_every": record_every, "objective": objective.name,
              "output": net.output, "m": net.m}
    return TrainResult(
        t=np.array(rec["t"]), loss=np.array(rec["loss"]), ntk_change=np.array(rec["ntk"]),
        F=np.array(rec["F"]), linearisation_distance=np.array(rec["lin"]), U=U, W=W, params=params,
    )
