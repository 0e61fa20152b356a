r"""Random features on the Grassmannian: the exact flow in sample space, at any width and at infinite width.

**Setting.** ``U`` is fixed and the output layer ``W`` lies on the
Grassmannian (``TwoLayer(..., output="grassmann")``). On the features
``phi(x)`` the quadratic SSL losses of :mod:`grassdyn.ssl` are quadratic
objectives ``L(W) = -1/2 tr(W^T C W)`` in dimension ``m`` with generators
(docs/conventions.md, "SSL losses", the empirical form on ``n`` pairs)

- alignment on ``(X, Xp)``: ``C = sym(Phi^T Phi+) / n``;
- contrastive on ``(X, Xp, Xn)``: ``C = sym(Phi^T (Phi+ - Phi-)) / n``;
- contrastive on ``(X, Xp)`` (in-batch negatives, the U-statistic of
  :mod:`grassdyn.ssl`): ``C = sym(Phi^T B Phi+)``,
  ``B = I / n - (1 1^T - I) / (n (n - 1))``,

with ``Phi = phi(X)`` of shape ``(n, m)``. Each is ``C = Z^T A Z`` with
``Z = [Phi; Phi+(; Phi-)]`` of shape ``(r, m)``, ``r = 2n`` or ``3n``, and
``A`` a symmetric sample-space matrix (``A = [[0, I], [I, 0]] / (2n)`` for
alignment, and so on: :func:`sample_generator`). The Grassmannian flow is
``dW/dt = (I - W W^T) C W`` and ``span W(t) = span(e^{Ct} W0)``
(Yan, Helmke & Moore 1994).

**Sample-space form (derivation).** ``C^k = Z^T (A K)^{k-1} A Z`` for
``k >= 1`` with the feature Gram matrix ``K = Z Z^T`` (r x r), so

    e^{Ct} W0 = W0 + Z^T f_t(A K) A B0,   f_t(x) = (e^{xt} - 1) / x,   B0 = Z W0:

the flow never leaves ``span(W0, Z^T)``, of dimension at most ``h + r``.
Factor ``K = L L^T`` with ``L = V_k diag(lam_k)^{1/2}`` over the ``k``
eigenvalues of ``K`` above a rank tolerance, and let
``S = L^T A L = P diag(s) P^T`` (k x k, symmetric). Then

- ``E = Z^T L^{+T} P`` (m x k) has orthonormal columns and ``C E = E diag(s)``:
  the eigenvectors of ``C`` with non-zero eigenvalue are ``E``, with the
  spectrum ``s`` of ``S`` (equal to the non-zero spectrum of ``C``);
- ``W0 = N + E d0`` with ``d0 = P^T c0``, ``c0 = L^+ B0`` and
  ``N = (I - Z^T K^+ Z) W0`` the part of ``W0`` orthogonal to every feature
  vector, on which ``C`` vanishes; ``N^T N = I - c0^T c0``.

In the orthonormal basis ``[N G^{-1/2}, E]`` of ``span(W0, Z^T)``
(``G = N^T N``, restricted to its range) the generator is
``diag(0, ..., 0, s)`` and ``W0`` has coordinates ``Y0 = [G^{1/2}; d0]``; the
flow there is :func:`grassdyn.flows.grassmann_closed_form` of a diagonal
generator of size at most ``h + r``, exact and stable at any ``t``. The
representation of probe inputs ``X*`` is ``F(t) = phi(X*) W(t) = [Phi* N G^{-1/2}, K*z L^{+T} P] Y(t)``
with ``Phi* N = F0 - K*z L^{+T} c0``, ``F0 = phi(X*) W0`` and ``K*z = phi(X*) Z^T``.

Everything the flow needs is ``K``, ``K*z``, ``B0`` and ``F0``: one pass over
the hidden units in chunks (``O(r^2 m + r m h)`` time, ``O(r m_chunk)``
memory, never an ``m x m`` or ``n x m`` matrix), then ``O(r^3)`` in sample
space. The ``r^2 m`` term is the Gram matrix, which the dynamics depend on
and cannot be skipped. Accuracy: the factor ``L^+`` costs about
``eps cond(K)`` (reported as ``stats["condition"]``); directions of ``K``
below ``RANK_RTOL`` times its largest eigenvalue count as rounding noise.

**Infinite width.** As ``m -> infinity``, ``K`` and ``K*z`` converge to the
NNGP kernel matrices (:func:`grassdyn.width.nngp`) with Monte Carlo error
``O(m^{-1/2})``. :func:`infinite_width_flow` runs the same sample-space
dynamics with those kernel matrices, from the same initial representation
``(B0, F0)`` of a given network (the span of ``F`` is invariant under the
common ``m^{-1/2}`` scale of ``B0`` and ``F0``). As ``t -> infinity`` the
representation converges to ``span(K*z L^{+T} P_h)``, ``P_h`` the top-``h``
eigenvectors of ``S``: kernel PCA of the SSL generator
(:func:`infinite_width_limit`), independent of the start when ``s_h > 0``
and ``s_h > s_{h+1}``; compare Anil, Esser & Ghoshdastidar (AAAI 2025,
arXiv:2403.08673), who bound the distance of orthogonally constrained
contrastive models to principal components of a random-features matrix.
Representations are compared through principal angles between their
column spans in R^{n*} (:meth:`RepresentationFlow.distance_to`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg

from grassdyn import flows, grassmann
from grassdyn._array import qr_positive
from grassdyn._validation import as_int, as_times, check_allocation, check_choice
from grassdyn.width.kernels import nngp
from grassdyn.width.network import CHUNK_ELEMENTS, TwoLayer, get_activation, inputs

__all__ = [
    "LOSSES",
    "RepresentationFlow",
    "infinite_width_flow",
    "infinite_width_limit",
    "random_features_flow",
    "sample_generator",
]

#: The quadratic SSL losses on random features.
LOSSES = ("alignment", "contrastive")
#: Relative eigenvalue threshold below which a Gram direction counts as rounding noise.
RANK_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class RepresentationFlow:
    """Representations of probe inputs along a flow.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Gradient-flow times.
    F : ndarray, shape (T, n_probe, h)
        ``phi(probe) W(t)`` for one orthonormal frame ``W(t)`` of the flow's
        subspace; only its column span is meaningful (the frame's gauge is not).
    spectrum : ndarray, shape (k,)
        Non-zero eigenvalues of the generator ``C``, descending (sample space).
    W : ndarray, shape (T, m, h), or None
        The frames themselves, when asked for (finite width only).
    method : str
    stats : mapping
        ``rank`` (k), ``null_rank`` (dimension kept of ``W0``'s out-of-data part),
        ``condition`` (of ``K`` on its kept range: the accuracy is about
        ``eps * condition``), ``loss``, ``m``.
    """

    t: np.ndarray
    F: np.ndarray
    spectrum: np.ndarray
    method: str
    W: np.ndarray | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def subspaces(self) -> np.ndarray:
        """Orthonormal bases of ``span F(t)``, shape ``(T, n_probe, h)`` (left singular vectors)."""
        U, _, _ = np.linalg.svd(self.F, full_matrices=False)
        return U

    def distance_to(self, other: RepresentationFlow | np.ndarray) -> np.ndarray:
        """Geodesic distance ``||theta||_2`` between ``span F(t)`` and ``other`` at each time, shape ``(T,)``.

        ``other`` is a flow on the same times and probe set, or a fixed
        representation of shape ``(n_probe, h)``.
        """
        mine = self.subspaces()
        if isinstance(other, RepresentationFlow):
            if other.F.shape != self.F.shape:
                raise ValueError(f"other must have F of shape {self.F.shape}, got {other.F.shape}")
            theirs = other.subspaces()
        else:
            theirs = np.linalg.svd(np.asarray(other, dtype=float), full_matrices=False)[0]
            if theirs.shape[0] != self.F.shape[1]:
                raise ValueError(f"other must have {self.F.shape[1]} rows (the probe set), "
                                 f"got {theirs.shape}")
        theta = grassmann.principal_angles(mine, theirs, check=False)
        return np.linalg.norm(theta, axis=-1)


def sample_generator(n: int, loss: str, negatives: bool) -> np.ndarray:
    """The sample-space matrix ``A`` with ``C = Z^T A Z``, ``Z = [Phi; Phi+(; Phi-)]`` (module docstring).

    >>> sample_generator(2, "alignment", False) * 4
    array([[0., 0., 1., 0.],
           [0., 0., 0., 1.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.]])
    """
    eye = np.eye(n)
    if loss == "alignment":
        B = eye / n
        blocks = [[0 * eye, B / 2], [B / 2, 0 * eye]]
        if negatives:
            blocks = [[*row, 0 * eye] for row in blocks] + [[0 * eye] * 3]
        return np.block(blocks)
    if negatives:
        B = eye / (2 * n)
        return np.block([[0 * eye, B, -B], [B, 0 * eye, 0 * eye], [-B, 0 * eye, 0 * eye]])
    B = eye / n - (np.ones((n, n)) - eye) / (n * (n - 1))
    return np.block([[0 * eye, B / 2], [B / 2, 0 * eye]])


def _views(d: int, X: object, Xp: object, Xn: object, probe: object, loss: str | None):
    X = inputs(X, d, "X")
    Xp = inputs(Xp, d, "Xp")
    views = [X, Xp]
    if Xn is not None:
        views.append(inputs(Xn, d, "Xn"))
    for name, V in zip(("Xp", "Xn"), views[1:], strict=False):
        if V.shape != X.shape:
            raise ValueError(f"{name} must have the shape of X {X.shape}, got {V.shape}")
    if X.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 pairs, got n = {X.shape[0]}")
    default = "contrastive" if Xn is not None else "alignment"
    loss = default if loss is None else check_choice(loss, "loss", LOSSES)
    P = X if probe is None else inputs(probe, d, "probe")
    # a probe equal to the first view has its features among the rows of Z: computed once
    probe_is_x = P.shape == X.shape and bool(np.array_equal(P, X))
    return np.concatenate(views), P, sample_generator(X.shape[0], loss, Xn is not None), loss, probe_is_x


def _check_grassmann(net: object) -> TwoLayer:
    if not isinstance(net, TwoLayer):
        raise TypeError(f"net must be a grassdyn.width.TwoLayer, got {type(net).__name__}")
    if net.output != "grassmann":
        raise ValueError(
            "net must have output='grassmann' (the flow is Oja's flow of an orthonormal output layer), "
            f"got output={net.output!r}"
        )
    _, W = net.params()
    defect = float(np.max(np.abs(W.T @ W - np.eye(net.h))))
    if defect > 1e-8:
        raise ValueError(f"net.W must have orthonormal columns, orthogonality defect {defect:.3g}")
    return net


def _feature_moments(net: TwoLayer, Zin: np.ndarray, P: np.ndarray, probe_is_x: bool):
    """``K = Z Z^T``, ``K*z = phi(P) Z^T``, ``B0 = Z W0``, ``F0 = phi(P) W0`` in one chunked pass."""
    r = Zin.shape[0]
    rows = Zin if probe_is_x else np.concatenate([Zin, P])
    R = rows.shape[0]
    U, W = net.params()
    G = np.zeros((R, R))
    B = np.zeros((R, net.h))
    step = max(1, min(net.m, CHUNK_ELEMENTS // R))
    scale = 1.0 / np.sqrt(net.d)
    for start in range(0, net.m, step):
        s = slice(start, min(start + step, net.m))
        feats = net.sigma((U[s] @ rows.T) * scale)  # (chunk, R): the features of the chunk's units
        G += feats.T @ feats
        B += feats.T @ W[s]
    G /= net.m
    B /= np.sqrt(net.m)
    if probe_is_x:
        n = P.shape[0]
        return G, G[:n], B, B[:n]
    return G[:r, :r], G[r:, :r], B[:r], B[r:]


def _eigh(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending eigendecomposition of the symmetric part of ``A`` (divide and conquer: fast for r ~ 1000)."""
    return linalg.eigh(0.5 * (A + A.T), driver="evd")


def _solve(K, Kpz, A, B0, F0, t, h):
    """The sample-space flow (module docstring): returns F (T, n*, h), spectrum, stats and basis maps."""
    lam, V = _eigh(K)
    keep = lam > RANK_RTOL * max(float(lam[-1]), np.finfo(float).tiny)
    lam, V = lam[keep], V[:, keep]
    root = np.sqrt(lam)
    c0 = (V.T @ B0) / root[:, None]                   # L^+ B0
    M = (Kpz @ V) / root[None, :]                     # K*z L^{+T}
    S = root[:, None] * (V.T @ A @ V) * root[None, :]  # L^T A L
    s, Pm = _eigh(S)
    s, Pm = s[::-1], Pm[:, ::-1]
    d0 = Pm.T @ c0
    g, Vn = np.linalg.eigh(np.eye(h) - c0.T @ c0)
    keep_n = g > 1e-10
    g, Vn = g[keep_n], Vn[:, keep_n]
    Y0 = qr_positive(np.concatenate([np.sqrt(g)[:, None] * Vn.T, d0]))
    gen = np.diag(np.concatenate([np.zeros(g.size), s]))
    Y = flows.grassmann_closed_form(gen, Y0, t).W    # (T, h' + k, h)
    probe_map = np.concatenate([((F0 - M @ c0) @ Vn) / np.sqrt(g)[None, :], M @ Pm], axis=1)
    condition = float(lam[-1] / lam[0]) if lam.size else 1.0
    stats = {"rank": int(lam.size), "null_rank": int(g.size), "condition": condition}
    maps = {"V": V, "root": root, "c0": c0, "Pm": Pm, "Vn": Vn, "g": g}
    return probe_map @ Y, s, stats, maps, Y


def random_features_flow(
    net: TwoLayer,
    X: object,
    Xp: object,
    times: object,
    *,
    probe: object = None,
    Xn: object = None,
    loss: str | None = None,
    frames: bool = False,
) -> RepresentationFlow:
    """Exact Grassmannian flow of the output layer on fixed random features, in sample space.

    Parameters
    ----------
    net : TwoLayer
        With ``output="grassmann"``; ``net.U`` is held fixed and ``net.W`` is ``W0``.
    X, Xp : array_like, shape (n, d)
        Pairs of views; ``Xn`` (keyword) adds explicit negatives.
    times : array_like, shape (T,)
        Gradient-flow times.
    probe : array_like, shape (n_probe, d), optional
        Inputs whose representations are returned (default ``X``).
    loss : {"alignment", "contrastive"}, optional
        Default: ``"contrastive"`` with ``Xn``, else ``"alignment"``;
        ``"contrastive"`` without ``Xn`` uses in-batch negatives, as :mod:`grassdyn.ssl`.
    frames : bool
        Also return the frames ``W(t)``, shape ``(T, m, h)`` (refused if too large).

    Returns
    -------
    RepresentationFlow
        ``.t`` (T,), ``.F`` (T, n_probe, h), ``.spectrum``.

    Notes
    -----
    Derivation, cost and references in the module docstring.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 3)); Xp = X + 0.1 * rng.standard_normal((20, 3))
    >>> net = TwoLayer(3, 5000, 2, output="grassmann", rng=1)
    >>> flow = random_features_flow(net, X, Xp, [0.0, 1.0, 10.0])
    >>> flow.F.shape
    (3, 20, 2)
    """
    net = _check_grassmann(net)
    t = as_times(times, "times")
    Zin, P, A, loss, probe_is_x = _views(net.d, X, Xp, Xn, probe, loss)
    K, Kpz, B0, F0 = _feature_moments(net, Zin, P, probe_is_x)
    F, s, stats, maps, Y = _solve(K, Kpz, A, B0, F0, t, net.h)
    W = None
    if frames:
        check_allocation((t.size, net.m, net.h + Zin.shape[0]),
                         f"frames=True: W(t) of shape (T, m, h) = ({t.size}, {net.m}, {net.h})")
        U, W0 = net.params()
        Z = net.sigma(Zin @ U.T / np.sqrt(net.d)) / np.sqrt(net.m)      # (r, m)
        ZL = (Z.T @ maps["V"]) / maps["root"][None, :]                 # Z^T L^{+T}
        N = W0 - ZL @ maps["c0"]
        basis = np.concatenate([(N @ maps["Vn"]) / np.sqrt(maps["g"])[None, :], ZL @ maps["Pm"]], axis=1)
        W = basis @ Y
    stats.update(loss=loss, m=net.m)
    return RepresentationFlow(t=t, F=F, spectrum=s, method="random_features", W=W, stats=stats)


def infinite_width_flow(
    net: TwoLayer,
    X: object,
    Xp: object,
    times: object,
    *,
    probe: object = None,
    Xn: object = None,
    loss: str | None = None,
) -> RepresentationFlow:
    """The same sample-space flow with the feature Gram matrices replaced by NNGP kernel matrices.

    Started from the initial representation ``(B0, F0) = (phi(Z) W0, phi(probe) W0)``
    of ``net`` (output on the Grassmannian), with the kernel of ``net``'s
    activation (:func:`grassdyn.width.nngp`). Arguments and result as
    :func:`random_features_flow`; module docstring for the derivation.
    """
    net = _check_grassmann(net)
    t = as_times(times, "times")
    Zin, P, A, loss, probe_is_x = _views(net.d, X, Xp, Xn, probe, loss)
    n = P.shape[0]
    K = nngp(Zin, activation=net.activation)
    if probe_is_x:
        B0 = net(Zin)
        Kpz, F0 = K[:n], B0[:n]
    else:
        out = net(np.concatenate([Zin, P]))
        B0, F0 = out[: Zin.shape[0]], out[Zin.shape[0]:]
        Kpz = nngp(P, Zin, activation=net.activation)
    F, s, stats, _, _ = _solve(K, Kpz, A, B0, F0, t, net.h)
    stats.update(loss=loss, m=np.inf)
    return RepresentationFlow(t=t, F=F, spectrum=s, method="infinite_width", stats=stats)


def infinite_width_limit(
    X: object,
    Xp: object,
    h: int,
    *,
    probe: object = None,
    Xn: object = None,
    loss: str | None = None,
    activation: str = "relu",
) -> np.ndarray:
    """The ``t -> infinity`` limit of :func:`infinite_width_flow`: kernel PCA of the SSL generator.

    Returns an orthonormal basis, shape ``(n_probe, h)``, of
    ``span(K*z L^{+T} P_h)`` (module docstring). Raises if the generator has
    fewer than ``h`` positive eigenvalues (then the limit keeps part of the
    start) or no gap after the ``h``-th.
    """
    X0 = np.asarray(X)
    if X0.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got shape {X0.shape}")
    h = as_int(h, "h", minimum=1)
    get_activation(activation)
    Zin, P, A, _, probe_is_x = _views(X0.shape[1], X, Xp, Xn, probe, loss)
    K = nngp(Zin, activation=activation)
    Kpz = K[: P.shape[0]] if probe_is_x else nngp(P, Zin, activation=activation)
    lam, V = _eigh(K)
    keep = lam > RANK_RTOL * lam[-1]
    lam, V = lam[keep], V[:, keep]
    root = np.sqrt(lam)
    S = root[:, None] * (V.T @ A @ V) * root[None, :]
    s, Pm = _eigh(S)
    s, Pm = s[::-1], Pm[:, ::-1]
    if s.size < h or s[h - 1] <= 0:
        raise ValueError(f"h = {h}: the generator has only {int(np.sum(s > 0))} positive eigenvalues; "
                         "the limit is not determined by the data")
    if s.size > h and s[h - 1] - s[h] <= 1e-12 * abs(s[0]):
        raise ValueError(f"h = {h}: no spectral gap after the h-th eigenvalue ({s[h - 1]:.6g})")
    F = ((Kpz @ V) / root[None, :]) @ Pm[:, :h]
    return np.linalg.svd(F, full_matrices=False)[0]
