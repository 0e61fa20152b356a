r"""Finite-width, finite-sample SGD simulations of gradient flows, all seeds at once.

:func:`simulate` runs gradient descent on an objective ``L(W)`` over frames
``W`` of shape ``(d, h)``, for ``seeds`` independent runs advanced together as
stacked arrays ``(seeds, d, h)`` (batched matmul, batched QR/SVD).

**Geometry** (docs/conventions.md). ``manifold="grassmann"``: Riemannian SGD
[Bon13]_, [AMS08]_ with the quotient metric of [EAS98]_,

.. math:: W_{k+1} = R_{W_k}(-\eta\, g_k), \qquad g_k = (I - W_k W_k^\top)\, G_k,

where ``G_k`` is the Euclidean (mini-batch) gradient and ``R`` a retraction
from :func:`grassdyn.grassmann.retract` (``"qr"``, ``"polar"`` or ``"exp"``).
With the exact gradient this is the explicit Euler scheme of the flow
``dW/dt = -grad L`` composed with a retraction: first order in ``eta``
[AMS08, §4]. ``manifold="euclidean"``: the unconstrained ("naive") model
``W_{k+1} = W_k - eta G_k``, the Euler scheme of ``dW/dt = -egrad L``; for a
quadratic loss ``L = -1/2 tr(W^T C W)`` its columns collapse onto the top
eigenvector of ``C``.

**Time.** A run with plain SGD records ``t = k * lr`` after ``k`` steps
(docs/conventions.md). Heavy-ball momentum with coefficient ``beta``
[Pol64]_ (``M_{k+1} = beta M_k + g_k``, step ``-lr M_{k+1}``) moves, once its
velocity has settled, ``lr / (1 - beta)`` times as far per step as plain SGD:
to first order in ``lr`` it follows the same gradient flow with time
``lr / (1 - beta)`` per step [KS21]_. Momentum runs therefore record
``t = k * lr / (1 - beta)``; ``params["time_per_step"]`` holds the factor in
either case, so the trajectory compares directly with the flow at ``t``.
On the Grassmannian the velocity, a tangent vector at ``W_k``, is moved to
``W_{k+1}`` by the projection vector transport
``M <- (I - W_{k+1} W_{k+1}^T) M`` [AMS08, §8.1.3] (first-order consistent
with parallel transport, and two matrix products instead of an SVD).

**Regimes** (set by ``loss`` and ``batch_size``):

- *exact*: ``batch_size=None``, any objective with ``egrad`` (gradient
  descent on the objective itself: the flow's Euler discretisation);
- *online* (population): an SSL loss of :mod:`grassdyn.ssl` built on a data
  model; every step draws fresh minibatches with ``loss.draw``;
- *fixed data* (empirical): an SSL loss built on arrays of ``n`` pairs.
  ``sampling="replacement"``: each minibatch is ``B`` rows drawn uniformly
  with replacement (the law of ``loss.draw(B, replace=True)``);
  ``sampling="epochs"``: every epoch is a fresh random permutation of the
  ``n`` rows cut into ``n // B`` minibatches (the last ``n mod B`` rows of a
  permutation are skipped, as with ``drop_last`` in deep-learning loaders),
  read through ``loss.take(indices)``. SGD then targets the empirical
  generator ``loss.C``, not the population one (see :mod:`grassdyn.compare`).

**Random streams.** Each seed owns a ``numpy.random.Generator`` built from its
own child ``SeedSequence`` [NumPy]_: ``rng`` (an int, a ``SeedSequence``, a
``Generator`` or None) is the root, whose first ``seeds`` children
(``spawn``) are the streams; a list of ``seeds`` child ``SeedSequence`` objects
may be given instead, e.g. ``traj.seeds[i:i + 1]`` to re-run seed ``i`` alone.
Each stream drives a ``numpy.random.Generator(SFC64(child))``: SFC64 passes
the same statistical test batteries as numpy's default PCG64 and draws
normals faster, which matters because online SGD spends most of its time
drawing fresh views. A seed's draws depend on its stream only, never on how many seeds run beside
it, so a seed-vectorised run and one-seed-at-a-time runs on the same streams
agree. To keep the per-seed Python work off the step loop, every seed draws
its minibatches ``chunk`` steps at a time (``params["chunk"]``, fixed by
``B``, and online also by ``d`` and the number of views: about 512 KB of
draws per seed), which is also
part of the stream's definition: the same ``rng`` gives the same run, and a
longer run extends a shorter one.

References
----------
.. [Pol64] B. T. Polyak, "Some methods of speeding up the convergence of
   iteration methods", USSR Comput. Math. Math. Phys. 4 (1964).
.. [Bon13] S. Bonnabel, "Stochastic gradient descent on Riemannian
   manifolds", IEEE Trans. Automat. Control 58 (2013).
.. [AMS08] P.-A. Absil, R. Mahony, R. Sepulchre, *Optimization Algorithms on
   Matrix Manifolds*, Princeton University Press (2008).
.. [EAS98] A. Edelman, T. A. Arias, S. T. Smith, "The geometry of algorithms
   with orthogonality constraints", SIAM J. Matrix Anal. Appl. 20 (1998).
.. [KB15] D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization",
   ICLR (2015).
.. [BG19] G. Becigneul, O.-E. Ganea, "Riemannian adaptive optimization
   methods", ICLR (2019).
.. [KS21] N. B. Kovachki, A. M. Stuart, "Continuous time analysis of momentum
   methods", J. Mach. Learn. Res. 22 (2021).
.. [NumPy] NumPy documentation, "Parallel random number generation"
   (``SeedSequence.spawn``).
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from grassdyn import grassmann
from grassdyn._array import cholqr
from grassdyn._array import mT as _mT
from grassdyn._validation import (
    as_frame,
    as_int,
    as_real,
    as_rng,
    check_allocation,
    check_choice,
    check_steps,
)
from grassdyn._validation import orthogonality_defect as _defect
from grassdyn.objectives import Quadratic
from grassdyn.trajectory import Trajectory

__all__ = ["DivergenceError", "init_frames", "simulate", "streams"]

MANIFOLDS = ("grassmann", "euclidean")
OPTIMIZERS = ("sgd", "momentum", "adam")
SAMPLINGS = ("replacement", "epochs")
SAMPLERS = ("exact", "naive")
INIT_KINDS = ("haar", "gaussian", "given")

#: Euclidean iterates with ``||W||_F`` above this count as diverged: the next
#: few products would overflow float64 (max ~1.8e308).
NORM_LIMIT = 1e150
#: Grassmannian iterates whose orthogonality defect ``max|W^T W - I|`` exceeds
#: this have left the manifold (a retraction keeps it at rounding level).
DEFECT_LIMIT = 1e-6
#: Floats each seed draws per chunk of minibatches (512 KB).
_CHUNK_FLOATS = 1 << 16
#: Floats of minibatch data per block of seeds whose gradients are computed together (1 MB).
_BLOCK_FLOATS = 1 << 17

RngLike = np.random.Generator | np.random.SeedSequence | int | None


class DivergenceError(FloatingPointError):
    """SGD iterates became non-finite, exploded or left the manifold.

    Attributes ``step``, ``seed`` and ``lr`` say where and with which
    learning rate.
    """

    def __init__(self, message: str, *, step: int, seed: int, lr: float) -> None:
        super().__init__(message)
        self.step = step
        self.seed = seed
        self.lr = lr



# -- random streams -----------------------------------------------------------------------
def streams(
    rng: RngLike | Sequence[np.random.SeedSequence], seeds: int
) -> tuple[np.random.SeedSequence, ...]:
    """The per-seed ``SeedSequence`` streams of a run.

    Parameters
    ----------
    rng : int, SeedSequence, Generator, None, or sequence of SeedSequence
        Root of the streams: its first ``seeds`` children. An int or a
        ``SeedSequence`` always gives the same children (the object is not
        mutated); a ``Generator`` gives children seeded by 128 bits drawn
        from it; None uses fresh OS entropy. A sequence of ``seeds``
        ``SeedSequence`` objects is taken as the streams themselves.
    seeds : int
        Number of independent runs.

    Returns
    -------
    tuple of SeedSequence, length ``seeds``

    Examples
    --------
    >>> s = streams(7, 3)
    >>> [c.spawn_key for c in s]
    [(0,), (1,), (2,)]
    >>> streams(s[1:2], 1)[0] is s[1]
    True
    """
    seeds = as_int(seeds, "seeds", minimum=1)
    # a SeedSequence object takes a few hundred bytes
    check_allocation(512 * seeds, f"seeds = {seeds}: one SeedSequence per seed")
    if isinstance(rng, (list, tuple)):
        if len(rng) != seeds or not all(isinstance(s, np.random.SeedSequence) for s in rng):
            raise ValueError(
                f"rng given as a sequence must hold exactly seeds = {seeds} numpy.random.SeedSequence "
                f"objects, got {len(rng)} item(s)"
            )
        return tuple(rng)
    if isinstance(rng, np.random.SeedSequence):
        root = np.random.SeedSequence(rng.entropy, spawn_key=rng.spawn_key, pool_size=rng.pool_size)
    elif isinstance(rng, np.random.Generator):
        root = np.random.SeedSequence(rng.integers(0, 2**63, size=2).tolist())
    else:
        as_rng(rng, "rng")  # type and sign checks
        root = np.random.SeedSequence(None if rng is None else int(rng))
    return tuple(root.spawn(seeds))


# -- initial frames -----------------------------------------------------------------------
def init_frames(
    d: int,
    h: int,
    seeds: int = 1,
    rng: np.random.Generator | int | None = None,
    *,
    kind: Literal["haar", "gaussian", "given"] = "haar",
    scale: float = 1e-2,
    frame: ArrayLike | None = None,
) -> np.ndarray:
    r"""Initial frames for ``seeds`` runs, shape ``(seeds, d, h)``.

    Parameters
    ----------
    d, h : int
        Ambient and subspace dimension, ``d >= h >= 1``.
    seeds : int
        Number of frames.
    rng : Generator, int or None
    kind : {"haar", "gaussian", "given"}
        ``"haar"``: independent Haar-uniform points of Gr(d, h)
        (:func:`grassdyn.grassmann.random_point`), for the Grassmannian
        model. ``"gaussian"``: i.i.d. entries ``N(0, scale^2 / d)``, so every
        column has norm about ``scale``: the small initialisation of the
        unconstrained model, whose early dynamics are then linear (Saxe,
        McClelland & Ganguli, ICLR 2014; Simon et al., "On the stepwise
        nature of self-supervised learning", ICML 2023). ``"given"``:
        ``frame`` copied ``seeds`` times.
    scale : float > 0
        Column norm of the Gaussian initialisation.
    frame : array_like, shape (d, h), optional
        The frame for ``kind="given"`` (any full-rank matrix).

    Returns
    -------
    ndarray, shape (seeds, d, h)

    Examples
    --------
    >>> W0 = init_frames(8, 2, seeds=3, rng=0)
    >>> W0.shape, bool(np.allclose(W0[1].T @ W0[1], np.eye(2)))
    ((3, 8, 2), True)
    >>> float(np.linalg.norm(init_frames(4000, 1, rng=0, kind="gaussian", scale=1e-3))).__round__(4)
    0.001
    """
    d = as_int(d, "d", minimum=1)
    h = as_int(h, "h", minimum=1)
    if h > d:
        raise ValueError(f"h must be <= d, got h = {h} > d = {d}")
    seeds = as_int(seeds, "seeds", minimum=1)
    check_choice(kind, "kind", INIT_KINDS)
    check_allocation((3, seeds, d, h), f"seeds = {seeds}, d = {d}, h = {h}: the initial frames")
    # validated even where unused, so that a bad scale never passes silently
    scale = as_real(scale, "scale", low=0.0, low_open=True)
    if kind == "given":
        if frame is None:
            raise ValueError('frame must be given when kind="given"')
        F = as_frame(frame, "frame", orthonormal=False)
        if F.shape != (d, h):
            raise ValueError(f"frame must have shape ({d}, {h}), got {F.shape}")
        return np.repeat(F[None], seeds, axis=0)
    if frame is not None:
        raise ValueError(f'frame is only used with kind="given", got kind={kind!r}')
    if kind == "haar":
        return grassmann.random_point(d, h, rng, batch=(seeds,))
    return as_rng(rng).standard_normal((seeds, d, h)) * (scale / np.sqrt(d))


# -- minibatch samplers -------------------------------------------------------------------
class _Sampler:
    """The minibatches of every seed, step by step: ``k = advance()``, then ``batch(k, s0, s1)``.

    Each seed fills ``chunk`` steps of its buffer from its own generator, so
    a seed's minibatches depend on its stream alone. ``batch`` returns arrays
    ``(s1 - s0, B, d)`` for seeds ``s0:s1``; it must be called once per step
    for each block of seeds, in order. A block's buffer is refilled when the
    block is first asked for in a new chunk, just before its gradient uses it
    (still in cache when a chunk is a single step of a large minibatch).
    """

    def __init__(self, gens: list[np.random.Generator], chunk: int) -> None:
        self.gens = gens
        self.chunk = chunk
        self.pos = chunk

    def advance(self) -> int:
        """Position of the next step's minibatches in the buffer."""
        self.pos = self.pos + 1 if self.pos < self.chunk else 1
        return self.pos - 1

    def batch(self, k: int, s0: int, s1: int) -> tuple[np.ndarray, ...]:
        if k == 0:
            for s in range(s0, s1):
                self._refill(s)
        return self._view(k, s0, s1)

    def _refill(self, s: int) -> None:
        raise NotImplementedError

    def _view(self, k: int, s0: int, s1: int) -> tuple[np.ndarray, ...]:
        raise NotImplementedError


class _OnlineSampler(_Sampler):
    """Fresh draws from the data model: ``loss.draw(B, gen, batch=(chunk,))`` per seed."""

    def __init__(self, loss: Any, B: int, gens: list[np.random.Generator], chunk: int, views: int) -> None:
        super().__init__(gens, chunk)
        self.loss, self.B = loss, B
        self.buf = [np.empty((chunk, len(gens), B, loss.d)) for _ in range(views)]

    def _refill(self, s: int) -> None:
        for buf, arr in zip(self.buf, self.loss.draw(self.B, self.gens[s], batch=(self.chunk,)), strict=True):
            buf[:, s] = arr

    def _view(self, k: int, s0: int, s1: int) -> tuple[np.ndarray, ...]:
        return tuple(buf[k, s0:s1] for buf in self.buf)


class _ExactOnlineSampler(_Sampler):
    """Exact online gradients without the minibatch: per seed, ``noise.draw(gen, chunk)``.

    ``noise`` is an :class:`grassdyn.ssl._online.ExactOnlineNoise`; the "batch"
    handed to the gradient is its draws ``(S, N)`` (a Gram matrix of the
    latents and a ``d x h`` normal matrix per step), from which
    ``noise.egrad`` forms a gradient with exactly the minibatch gradient's law.
    """

    def __init__(self, noise: Any, gens: list[np.random.Generator], chunk: int) -> None:
        super().__init__(gens, chunk)
        self.noise = noise
        q, d, h = noise.q, noise.d, noise.h
        self.S = np.empty((chunk, len(gens), q, q))
        self.N = np.empty((chunk, len(gens), d, h))

    def _refill(self, s: int) -> None:
        self.S[:, s], self.N[:, s] = self.noise.draw(self.gens[s], self.chunk)

    def _view(self, k: int, s0: int, s1: int) -> tuple[np.ndarray, ...]:
        return self.S[k, s0:s1], self.N[k, s0:s1]


class _IndexSampler(_Sampler):
    """Rows of a finite data set: indices per seed, gathered with ``loss.take``."""

    def __init__(
        self,
        loss: Any,
        B: int,
        gens: list[np.random.Generator],
        chunk: int,
        epochs: bool,
        take: Callable[[np.ndarray], tuple[np.ndarray, ...]] | None = None,
    ) -> None:
        super().__init__(gens, chunk)
        self.loss, self.B, self.n, self.epochs = loss, B, loss.n, epochs
        self.take = loss.take if take is None else take
        self.idx = np.empty((chunk, len(gens), B), dtype=np.intp)
        # per seed: minibatches left in the current epoch, shape (m, B)
        self.pending = [np.empty((0, B), dtype=np.intp) for _ in gens]

    def _refill(self, s: int) -> None:
        n, B, K, gen = self.n, self.B, self.chunk, self.gens[s]
        if not self.epochs:
            self.idx[:, s] = gen.integers(0, n, size=(K, B))
            return
        per_epoch = n // B
        parts = [self.pending[s]]
        have = parts[0].shape[0]
        while have < K:
            parts.append(gen.permutation(n)[: per_epoch * B].reshape(per_epoch, B))
            have += per_epoch
        block = np.concatenate(parts)
        self.idx[:, s] = block[:K]
        self.pending[s] = block[K:]

    def _view(self, k: int, s0: int, s1: int) -> tuple[np.ndarray, ...]:
        return self.take(self.idx[k, s0:s1])


# -- argument checks ----------------------------------------------------------------------
def _initial_frames(W0: ArrayLike, seeds: int, manifold: str, d_loss: int | None) -> np.ndarray:
    W0 = as_frame(W0, "W0", orthonormal=manifold == "grassmann")
    if W0.ndim == 2:
        W0 = np.repeat(W0[None], seeds, axis=0)
    elif W0.ndim != 3 or W0.shape[0] != seeds:
        raise ValueError(
            f"W0 must be one frame (d, h) or a batch (seeds, d, h) with seeds = {seeds}, got shape {W0.shape}"
        )
    else:
        W0 = W0.copy()
    if d_loss is not None and W0.shape[-2] != d_loss:
        raise ValueError(f"W0 must have d = {d_loss} rows to match loss, got shape {W0.shape}")
    if manifold == "euclidean":
        rank = np.linalg.matrix_rank(W0)
        if np.any(rank < W0.shape[-1]):
            s = int(np.argmax(rank < W0.shape[-1]))
            raise ValueError(f"W0 must have full column rank h = {W0.shape[-1]}; seed {s} has rank {rank[s]}")
    return W0


def _loss_dimension(loss: Any) -> int | None:
    d = getattr(loss, "d", None)
    return d if isinstance(d, numbers.Integral) else None


def _exact_gradient(loss: Any) -> Callable[[np.ndarray], np.ndarray]:
    if not callable(getattr(loss, "egrad", None)):
        raise TypeError(f"loss must be an objective with an egrad(W) method, got {type(loss).__name__}")
    if isinstance(loss, Quadratic) and type(loss).egrad is Quadratic.egrad:
        C = loss.C
        # -C W without the per-call validation of Quadratic.egrad: the loop holds valid frames
        return lambda W: -np.matmul(C, W)
    return loss.egrad


def _check_progress(progress: object) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {type(progress).__name__}")
    return progress


# -- the simulation -----------------------------------------------------------------------
def simulate(
    loss: Any,
    W0: ArrayLike,
    *,
    lr: float,
    steps: int,
    batch_size: int | None = None,
    seeds: int = 1,
    rng: RngLike | Sequence[np.random.SeedSequence] = None,
    record_every: int = 1,
    manifold: Literal["grassmann", "euclidean"] = "grassmann",
    retraction: Literal["qr", "polar", "exp"] = "qr",
    optimizer: Literal["sgd", "momentum", "adam"] = "sgd",
    momentum: float | None = None,
    betas: tuple[float, float] | None = None,
    eps: float | None = None,
    weight_decay: float = 0.0,
    sampling: Literal["replacement", "epochs"] = "replacement",
    progress: bool | None = None,
    sampler: Literal["exact", "naive"] | None = None,
) -> Trajectory:
    r"""Run (stochastic) gradient descent for ``seeds`` independent runs at once.

    Parameters
    ----------
    loss : objective or SSL loss
        With ``batch_size=None``: any objective with ``egrad`` accepting a
        batch ``(seeds, d, h)`` (exact gradient descent). With a batch size:
        a loss with ``draw`` and ``batch_egrad`` (:mod:`grassdyn.ssl`), on a
        data model (online: fresh minibatches) or on arrays (fixed data set).
    W0 : array_like, shape (d, h) or (seeds, d, h)
        Initial frame(s), shared by all seeds when 2-D. Orthonormal for
        ``manifold="grassmann"``; any full-rank matrices for ``"euclidean"``.
        See :func:`init_frames`.
    lr : float > 0
        Learning rate ``eta``.
    steps : int >= 1
        Number of steps.
    batch_size : int, optional
        Minibatch size ``B`` (at most the data set size ``loss.n``).
    seeds : int >= 1
        Number of independent runs, advanced together.
    rng : int, SeedSequence, Generator, None, or sequence of SeedSequence
        Root of the per-seed random streams (see :func:`streams`).
    record_every : int >= 1
        Record steps ``0, record_every, 2 record_every, ...`` and ``steps``.
    manifold : {"grassmann", "euclidean"}
        Riemannian SGD on Gr(d, h), or the unconstrained model.
    retraction : {"qr", "polar", "exp"}
        Retraction of the Grassmannian step (:func:`grassdyn.grassmann.retract`);
        any other than the default is refused with ``manifold="euclidean"``.
    optimizer : {"sgd", "momentum", "adam"}
        Plain SGD, heavy-ball momentum with coefficient ``momentum``, or Adam
        (Riemannian Adam on the Grassmannian; see *Adam* below).
    momentum : float in [0, 1), optional
        Heavy-ball coefficient ``beta`` of ``optimizer="momentum"`` (default
        0.9). Refused with plain SGD, where it would have no effect.
    betas : (float, float), each in [0, 1), optional
        Adam's decay rates ``(beta1, beta2)`` of the first and second moments
        (default ``(0.9, 0.999)``). Refused with another optimiser.
    eps : float > 0, optional
        Adam's ``epsilon``, added to ``sqrt(v_hat)`` (default ``1e-8``).
        Refused with another optimiser.
    weight_decay : float >= 0
        Unconstrained model only: the gradient of ``L + weight_decay/2 ||W||_F^2``
        is used, ``G + weight_decay * W``, by every optimiser (for Adam this is
        the L2-coupled form of Kingma & Ba, not AdamW's decoupled decay). On
        the Grassmannian ``||W||_F^2 = h`` is constant, its gradient ``W`` is
        normal to the manifold and projects to zero: weight decay would do
        nothing there, so a non-zero value is refused.
    sampling : {"replacement", "epochs"}
        How a fixed data set is sampled (see the module docstring); options
        with no effect (``momentum`` without ``optimizer="momentum"``,
        ``sampling="epochs"`` without ``batch_size``) are refused.
    progress : bool or None
        Show a tqdm progress bar; None: only if stderr is a terminal.
    sampler : {"exact", "naive"} or None
        Online regime only. ``"naive"``: draw every minibatch ``(B, d)``
        with ``loss.draw``. ``"exact"``: draw only what the gradient depends
        on, with exactly the same law (the quadratic SSL losses on an
        :class:`~grassdyn.data.AugmentationModel`, through
        ``loss.online_noise``; see ``grassdyn.ssl._online``), from
        ``O(q^2 + d h)`` random numbers per step instead of ``O(B d)``.
        None: ``"exact"`` where the loss offers it, else ``"naive"``. The
        two give different draws (same law), so a run is reproducible for a
        given sampler only.

    Returns
    -------
    Trajectory
        ``W`` of shape ``(seeds, T, d, h)``, ``t = steps * time_per_step``
        (``lr``, or ``lr / (1 - momentum)`` for momentum; ``lr`` for Adam), method ``"sgd"``;
        ``params`` records every setting and the regime, ``seeds`` the
        per-seed ``SeedSequence`` streams, ``stats`` the step and sample
        counts and (Grassmannian) the largest orthogonality defect.

    Raises
    ------
    DivergenceError
        If an iterate becomes non-finite, exceeds ``||W||_F = 1e150``
        (euclidean) or leaves the manifold; names the step, seed and ``lr``.
    ValueError, TypeError
        On invalid arguments, naming the argument; also, up front, when
        ``steps`` exceeds ``grassdyn._validation.MAX_STEPS`` (1e8) or the
        recorded trajectory ``(seeds, T, d, h)`` or the minibatch buffers
        (``seeds * chunk * batch_size * d`` per view) would take more than
        half the available memory (``grassdyn._validation.check_allocation``).

    Notes
    -----
    The step and the time mapping are in the module docstring.

    *Adam* [KB15]_: ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``,
    step ``-lr m_hat / (sqrt(v_hat) + eps)`` with the bias corrections
    ``m_hat = m / (1 - beta1^k)``, ``v_hat = v / (1 - beta2^k)`` at step ``k``,
    entrywise on the unconstrained model. On the Grassmannian, Riemannian Adam
    [BG19]_: ``g`` is the Riemannian gradient, the step is retracted, and the
    first moment (a tangent vector) is transported to the new point by the
    projection ``m <- (I - W_{k+1} W_{k+1}^T) m``, as for momentum. Gr(d, h) is
    one manifold, not a product, and an entrywise second moment would depend
    on the frame's basis (it is not invariant under ``W -> W Q``), so, as
    [BG19]_ prescribe for each factor of a product, the second moment is one
    scalar per seed, ``v <- beta2 v + (1 - beta2) ||g||_F^2``. With the polar
    retraction (``polar((W + V) Q) = polar(W + V) Q``) the run from ``W0 Q`` is
    then the run from ``W0`` times ``Q``: the subspaces do not depend on the
    frame chosen. The QR retraction changes the frame's gauge by ``O(lr^2)``
    per step, which the first moment (held in the old frame's basis) does not
    follow, so the subspaces agree to ``O(lr)`` only.

    *Which flow Adam follows.* Adam has no gradient flow at ``t = k lr``. As
    ``lr -> 0`` with fixed betas its moments settle (``m_hat -> g``,
    ``v_hat -> g^2``) and, for ``eps -> 0``, the unconstrained iterates follow
    the sign-gradient flow ``dW/dt = -sign(grad L)`` at ``t = k lr``
    (entrywise; Ma et al. 2022, "A qualitative study of the dynamics of
    adaptive methods"); Riemannian Adam with its scalar second moment follows
    the normalised flow ``dW/dt = -grad L / ||grad L||_F``, which traces the
    same path of subspaces as the gradient flow (Oja's flow for a quadratic
    loss) on another clock, ``dt_flow = dt / ||grad L||``. Adam runs record
    ``t = k lr``, the time of these normalised flows, which is not
    gradient-flow time: compare them with a flow through the subspaces they
    reach (principal angles), not at equal ``t``. Per step the
    cost is one minibatch gradient (``O(B d h)`` per seed for the quadratic
    SSL losses), the projection ``G - W (W^T G)`` and the retraction, all
    batched over seeds. Minibatch gradients are computed for blocks of seeds
    whose minibatches fit in about 1 MB (all seeds at once for small
    problems, one at a time for large ones, where stacking only spills the
    cache); ``retraction="qr"`` uses Cholesky-QR for small steps (same
    ``Q``, see ``_retract_qr``). Iterates are checked for divergence every
    step through one dot product ``<W, W>`` over all seeds. Speed against a
    naive loop and the BLAS rate: ``benchmarks/sgd.py``.

    Examples
    --------
    Exact gradient descent on ``L = -1/2 tr(W^T C W)`` reaches the top
    eigenvector:

    >>> from grassdyn.objectives import Quadratic
    >>> loss = Quadratic(np.diag([2.0, 1.0, 0.5]))
    >>> W0 = np.ones((3, 1)) / np.sqrt(3)
    >>> traj = simulate(loss, W0, lr=0.1, steps=300, record_every=100)
    >>> traj.W.shape, traj.t.tolist()
    ((1, 4, 3, 1), [0.0, 10.0, 20.0, 30.0])
    >>> bool(traj.distance_to(np.eye(3)[:, :1])[0, -1] < 1e-6)
    True
    """
    if getattr(loss, "is_gradient", True) is False:
        # a loss that carries state beyond W (SimSiam, BYOL): grassdyn.dynamics advances all of it
        from grassdyn.dynamics import simulate as _simulate_state

        return _simulate_state(
            loss, W0, lr=lr, steps=steps, batch_size=batch_size, seeds=seeds, rng=rng,
            record_every=record_every, manifold=manifold, retraction=retraction, optimizer=optimizer,
            momentum=momentum, sampling=sampling, progress=progress,
        )
    seeds = as_int(seeds, "seeds", minimum=1)
    lr = as_real(lr, "lr", low=0.0, low_open=True)
    steps = check_steps(as_int(steps, "steps", minimum=1), f"steps = {steps}")
    record_every = as_int(record_every, "record_every", minimum=1)
    if record_every > steps:
        raise ValueError(f"record_every must be <= steps = {steps}, got {record_every}")
    check_choice(manifold, "manifold", MANIFOLDS)
    if manifold == "grassmann" and getattr(loss, "grassmann_invariant", True) is False:
        raise ValueError(
            f"manifold='grassmann' needs a loss invariant under W -> W Q; {type(loss).__name__} is not "
            "(grassmann_invariant is False): use manifold='euclidean'"
        )
    check_choice(retraction, "retraction", grassmann.RETRACTIONS)
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    check_choice(sampling, "sampling", SAMPLINGS)
    if optimizer != "momentum" and momentum is not None:
        raise ValueError(
            f'momentum = {momentum!r} has no effect with optimizer = {optimizer!r}: pass '
            'optimizer="momentum" to use heavy-ball momentum, or leave momentum out'
        )
    beta = as_real(0.9 if momentum is None else momentum, "momentum", low=0.0, high=1.0)
    if beta == 1.0:
        raise ValueError("momentum must be < 1 (beta = 1 never forgets a gradient)")
    if manifold == "euclidean" and retraction != "qr":
        raise ValueError(
            f"retraction = {retraction!r} has no effect with manifold = 'euclidean' (the step is "
            "W - lr G, with no retraction)"
        )
    if sampling != "replacement" and batch_size is None:
        raise ValueError(f"sampling = {sampling!r} has no effect without batch_size (exact gradient)")
    for name, value in (("betas", betas), ("eps", eps)):
        if optimizer != "adam" and value is not None:
            raise ValueError(f"{name} = {value!r} has no effect with optimizer = {optimizer!r} (Adam only)")
    betas = _check_betas((0.9, 0.999) if betas is None else betas)
    eps = as_real(1e-8 if eps is None else eps, "eps", low=0.0, low_open=True)
    weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
    if weight_decay and manifold == "grassmann":
        raise ValueError(
            "weight_decay must be 0 on the Grassmannian: ||W||_F^2 = h is constant there, so its gradient "
            "is normal to the manifold and the decay does nothing; use manifold='euclidean'"
        )
    show = _check_progress(progress)
    # Refused before anything is allocated: the recorded trajectory (seeds, T, d, h) is the largest
    # array (the shape is read without converting W0, which is validated just below).
    dh = np.shape(W0)[-2:] if np.ndim(W0) >= 2 else (1, 1)
    check_allocation(
        (seeds, steps // record_every + 2, *dh),
        f"seeds = {seeds}, steps = {steps}, record_every = {record_every}: the recorded trajectory "
        f"of shape (seeds, steps // record_every + 1, d, h)",
    )
    if sampler is not None:
        check_choice(sampler, "sampler", SAMPLERS)
    W = _initial_frames(W0, seeds, manifold, _loss_dimension(loss))
    d, h = W.shape[-2:]
    seq = streams(rng, seeds)

    regime, chunk = "exact", None
    if batch_size is None:
        if sampler is not None:
            raise ValueError("sampler needs a batch_size (it chooses how online minibatches are drawn)")
        grad_at = _exact_gradient(loss)
        # one trial evaluation: an egrad that ignores the seed axis would otherwise broadcast silently
        shape = np.shape(grad_at(W))
        if shape != W.shape:
            raise TypeError(
                f"loss.egrad must map a batch of frames of shape {W.shape} to gradients of the same "
                f"shape, got {shape}"
            )
    else:
        B = as_int(batch_size, "batch_size", minimum=1)
        check_allocation(
            (3, seeds, B, d),
            f"batch_size = {B}, seeds = {seeds}: one step's minibatches, up to 3 views of shape "
            "(seeds, batch_size, d)",
        )
        if not (callable(getattr(loss, "draw", None)) and callable(getattr(loss, "batch_egrad", None))):
            raise TypeError(
                f"loss must support minibatches (draw and batch_egrad, as the losses of grassdyn.ssl do) "
                f"when batch_size is given; got {type(loss).__name__}. Pass batch_size=None for exact "
                "gradient descent"
            )
        n = getattr(loss, "n", None)
        data = getattr(loss, "data", None)
        in_batch_negatives = getattr(loss, "needs_negatives", False) and data is not None and len(data) == 2
        if in_batch_negatives and B < 2:
            raise ValueError(f"batch_size must be >= 2 for in-batch negatives, got {B}")
        gens = [np.random.Generator(np.random.SFC64(s)) for s in seq]
        grad_at = None
        views = 3 if getattr(loss, "needs_negatives", False) else 2
        if n is None:
            if sampling == "epochs":
                raise ValueError(
                    'sampling="epochs" needs a finite data set (a loss built on arrays); '
                    "a loss on a data model draws fresh samples every step"
                )
            regime = "online"
            noise_of = getattr(loss, "online_noise", None)
            if sampler == "exact" and not callable(noise_of):
                raise ValueError(
                    f'sampler="exact" needs a quadratic SSL loss on a data model (online_noise), got '
                    f'{type(loss).__name__}; use sampler="naive"'
                )
            sampler = "exact" if sampler is None and callable(noise_of) else sampler or "naive"
            if sampler == "exact":
                noise = noise_of(B, h)
                chunk = max(1, _CHUNK_FLOATS // (noise.q**2 + d * h))  # floats buffered per step
                draws = _ExactOnlineSampler(noise, gens, chunk)
                frames = manifold == "grassmann"  # W^T W = I to rounding: no Gram solves
                grad_at = _blocked_gradient(
                    lambda W, batch: noise.egrad(W, *batch, orthonormal=frames), draws, seeds,
                    noise.q**2 + d * h,
                )
            else:
                chunk = max(1, _CHUNK_FLOATS // (B * d * views))
                check_allocation((views, chunk, seeds, B, d),
                                 f"seeds = {seeds}, batch_size = {B}: the minibatch buffers of all seeds")
                draws = _OnlineSampler(loss, B, gens, chunk, views)
        else:
            if sampler is not None:
                raise ValueError("sampler applies to the online regime (a loss on a data model) only")
            if B > n:
                raise ValueError(f"batch_size = {B} exceeds the data set size n = {n}")
            if not callable(getattr(loss, "take", None)):
                raise TypeError(
                    f"loss must have take(indices) to sample its data set, got {type(loss).__name__}"
                )
            regime = "fixed-data"
            views = len(data) if isinstance(data, tuple) else 2
            chunk = max(1, _CHUNK_FLOATS // B)
            check_allocation((chunk, seeds, B),
                             f"seeds = {seeds}, batch_size = {B}: the minibatch indices of all seeds")
            stacked = getattr(loss, "stacked_pairs", None)
            if callable(stacked):  # the quadratic losses: one gather, two products per step
                pairs = stacked()
                draws = _IndexSampler(loss, B, gens, chunk, epochs=sampling == "epochs",
                                      take=lambda idx: (pairs.take(idx),))
                grad_at = _blocked_gradient(lambda W, batch: pairs.egrad(W, batch[0]), draws, seeds,
                                            B * d * 2)
            else:
                draws = _IndexSampler(loss, B, gens, chunk, epochs=sampling == "epochs")
        if grad_at is None:  # minibatches as arrays, through the loss's own batch_egrad
            grad_at = _blocked_gradient(loss.batch_egrad, draws, seeds, B * d * views)

    time_per_step = lr / (1.0 - beta) if optimizer == "momentum" else lr
    recorded = np.arange(0, steps + 1, record_every)
    if recorded[-1] != steps:
        recorded = np.append(recorded, steps)
    Wrec = np.empty((seeds, recorded.size, d, h))
    Wrec[:, 0] = W

    step = _make_step(grad_at, manifold, retraction, optimizer, lr, beta, betas, eps, weight_decay)
    check = _make_check(manifold, lr, seeds, h)
    state = [W, np.zeros_like(W) if optimizer == "momentum" else None]
    bar = _progress_bar(steps, show)
    j = 1
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for k in range(1, steps + 1):
                try:
                    step(state)
                except np.linalg.LinAlgError:
                    state[0] = np.full_like(state[0], np.nan)
                check(state[0], k)
                if k == recorded[j]:
                    Wrec[:, j] = state[0]
                    j += 1
                if bar is not None and k % 64 == 0:
                    bar.update(64)
        if bar is not None:
            bar.update(steps % 64)
    finally:
        if bar is not None:
            bar.close()

    params: dict[str, Any] = {
        "lr": lr,
        "steps": steps,
        "batch_size": batch_size,
        "regime": regime,
        "manifold": manifold,
        "optimizer": optimizer,
        "momentum": beta if optimizer == "momentum" else None,
        "transport": "projection" if optimizer != "sgd" and manifold == "grassmann" else None,
        "betas": betas if optimizer == "adam" else None,
        "eps": eps if optimizer == "adam" else None,
        "weight_decay": weight_decay,
        "retraction": retraction if manifold == "grassmann" else None,
        "sampling": sampling if regime == "fixed-data" else None,
        "sampler": sampler if regime == "online" else None,
        "record_every": record_every,
        "time_per_step": time_per_step,
        "chunk": chunk,
        "n": getattr(loss, "n", None) if regime == "fixed-data" else None,
        "seed_entropy": seq[0].entropy,
    }
    B_eff = 0 if batch_size is None else batch_size
    stats: dict[str, Any] = {
        "steps": steps,
        "gradient_evaluations": steps + (batch_size is None),
        "samples_per_seed": steps * B_eff,
        "success": True,
        "message": f"{steps} steps completed",
    }
    if manifold == "grassmann":
        stats["max_orthogonality_defect"] = float(np.max(_defect(Wrec)))
    return Trajectory(
        t=recorded * time_per_step,
        W=Wrec,
        method="sgd",
        manifold=manifold,
        params=params,
        seeds=seq,
        stats=stats,
    )


def _blocked_gradient(
    batch_egrad: Callable, sampler: _Sampler, seeds: int, floats_per_seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Minibatch gradients of all seeds, computed in blocks of seeds whose minibatches fit in cache.

    Stacking seeds saves Python and call overhead while the per-seed work is
    small; once one seed's minibatch is large, a stack of them no longer fits
    in cache and the gradient's matrix products become memory-bound, so the
    seeds are then taken a few (or one) at a time. Every seed's arithmetic is
    the same either way.
    """
    per_block = max(1, _BLOCK_FLOATS // floats_per_seed)
    if per_block >= seeds:
        return lambda W: batch_egrad(W, sampler.batch(sampler.advance(), 0, seeds))
    bounds = [(s0, min(seeds, s0 + per_block)) for s0 in range(0, seeds, per_block)]

    def grad_at(W: np.ndarray) -> np.ndarray:
        k = sampler.advance()
        G = np.empty_like(W)
        for s0, s1 in bounds:
            G[s0:s1] = batch_egrad(W[s0:s1], sampler.batch(k, s0, s1))
        return G

    return grad_at


def _retract_qr(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    r"""The QR retraction ``qf(W + V)`` (R with positive diagonal), by Cholesky-QR when that is exact.

    For a tangent step (``W^T V = 0``), ``A = W + V`` has Gram matrix
    ``A^T A = I + V^T V``, so ``cond(A)^2 <= 1 + ||V||_F^2``. Cholesky-QR,
    ``A^T A = L L^T``, ``Q = A L^{-T}``, returns the same ``Q`` as Householder
    QR with a positive-diagonal ``R`` and loses orthogonality only as
    ``eps cond(A)^2`` [YNYF15]_; it needs one Gram product and one
    ``(d, h) x (h, h)`` product, all matrix-matrix work, instead of a
    Householder factorisation (measured 2-3x faster at the sizes of
    ``benchmarks/sgd.py``). It is used for the seeds with ``||V||_F^2 <= 1``
    (``cond(A)^2 <= 2``: agreement with :func:`grassdyn.grassmann.retract`
    to rounding); larger steps go to Householder QR. The test is made per
    seed, so each seed's result is the same whatever the number of seeds.

    References
    ----------
    .. [YNYF15] Y. Yamamoto, Y. Nakatsukasa, Y. Yanagisawa, T. Fukaya,
       "Roundoff error analysis of the CholeskyQR2 algorithm", Electron.
       Trans. Numer. Anal. 44 (2015).
    """
    # Decided per seed, so that a seed's arithmetic never depends on the other seeds of the run
    # (a test on the sum over seeds sent a seed to Householder QR in a large run and to Cholesky-QR
    # in a small one: the same seed then differed in the last bits). A sum <= 1 over all seeds
    # means every seed is small: one dot product decides the common case.
    flat = V.reshape(-1)
    if flat @ flat <= 1.0:
        small = np.ones(V.shape[0], dtype=bool)
    else:
        small = np.einsum("sij,sij->s", V, V) <= 1.0
    return _retract_qr_seeds(W, V, small)


def _retract_qr_seeds(W: np.ndarray, V: np.ndarray, small: np.ndarray) -> np.ndarray:
    """:func:`_retract_qr` for a stack ``(seeds, d, h)``: Cholesky-QR where ``small``, else Householder.

    Each subset is one batched call; numpy's stacked QR, Cholesky and matmul
    act matrix by matrix, so a seed's result does not depend on which other
    seeds share the call. A Cholesky failure (a seed whose ``A^T A`` is not
    positive definite to working precision) is resolved seed by seed.
    """
    if np.all(small):
        try:
            return cholqr(W + V)
        except np.linalg.LinAlgError:
            return _retract_qr_each(W, V)
    out = np.empty_like(W)
    out[~small] = grassmann.retract(W[~small], V[~small], "qr", check=False)
    if np.any(small):
        try:
            out[small] = cholqr(W[small] + V[small])
        except np.linalg.LinAlgError:
            out[small] = _retract_qr_each(W[small], V[small])
    return out


def _retract_qr_each(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Cholesky-QR seed by seed, Householder QR for the seeds where it fails."""
    out = np.empty_like(W)
    for s in range(W.shape[0]):
        try:
            out[s] = cholqr(W[s] + V[s])
        except np.linalg.LinAlgError:
            out[s] = grassmann.retract(W[s], V[s], "qr", check=False)
    return out


def _check_betas(betas: Any) -> tuple[float, float]:
    """Adam's ``(beta1, beta2)``, each in ``[0, 1)``."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    out = tuple(as_real(b, f"betas[{i}]", low=0.0, high=1.0) for i, b in enumerate(betas))
    for i, b in enumerate(out):
        if b == 1.0:
            raise ValueError(f"betas[{i}] must be < 1 (a moment with decay 1 never forgets), got {b}")
    return out


def _make_step(
    grad_at: Callable[[np.ndarray], np.ndarray],
    manifold: str,
    retraction: str,
    optimizer: str,
    lr: float,
    beta: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> Callable[[list], None]:
    """The update ``state = [W, M]`` -> next state, in place on the list.

    Adam keeps its moments and step count in this closure (``M`` is unused):
    every array operation is per seed (entrywise, or a sum over one seed's
    frame), so a seed's iterates do not depend on the seeds beside it.
    """
    if retraction == "qr":
        retract = _retract_qr
    else:

        def retract(W: np.ndarray, V: np.ndarray) -> np.ndarray:
            return grassmann.retract(W, V, retraction, check=False)

    b1, b2 = betas
    adam = {"k": 0, "m": 0.0, "v": 0.0}

    def adam_direction(g: np.ndarray, sq: np.ndarray) -> np.ndarray:
        """``m_hat / (sqrt(v_hat) + eps)`` after updating the moments with ``g`` and ``sq``."""
        adam["k"] += 1
        k = adam["k"]
        adam["m"] = b1 * adam["m"] + (1.0 - b1) * g
        adam["v"] = b2 * adam["v"] + (1.0 - b2) * sq
        return (adam["m"] / (1.0 - b1**k)) / (np.sqrt(adam["v"] / (1.0 - b2**k)) + eps)

    if manifold == "euclidean":
        if weight_decay:

            def egrad(W: np.ndarray) -> np.ndarray:
                return grad_at(W) + weight_decay * W

        else:
            egrad = grad_at
        if optimizer == "sgd":

            def step(state: list) -> None:
                state[0] = state[0] - lr * egrad(state[0])

        elif optimizer == "momentum":

            def step(state: list) -> None:
                M = beta * state[1] + egrad(state[0])
                state[0] = state[0] - lr * M
                state[1] = M

        else:

            def step(state: list) -> None:
                g = egrad(state[0])
                state[0] = state[0] - lr * adam_direction(g, g * g)

        return step

    def riemannian(W: np.ndarray) -> np.ndarray:
        G = grad_at(W)
        return G - W @ (_mT(W) @ G)

    if optimizer == "sgd":

        def step(state: list) -> None:
            state[0] = retract(state[0], riemannian(state[0]) * -lr)

    elif optimizer == "momentum":

        def step(state: list) -> None:
            M = beta * state[1] + riemannian(state[0])
            W1 = retract(state[0], M * -lr)
            state[0] = W1
            state[1] = M - W1 @ (_mT(W1) @ M)

    else:

        def step(state: list) -> None:
            g = riemannian(state[0])
            W1 = retract(state[0], adam_direction(g, np.sum(g * g, axis=(-2, -1), keepdims=True)) * -lr)
            state[0] = W1
            m = adam["m"]
            adam["m"] = m - W1 @ (_mT(W1) @ m)

    return step


def _make_check(manifold: str, lr: float, seeds: int, h: int) -> Callable[[np.ndarray, int], None]:
    """Divergence test after every step: one dot product, a diagnosis only when it trips.

    ``<W, W>`` summed over seeds is ``seeds * h`` for orthonormal frames and
    NaN/inf as soon as any entry is; comparisons are written so that NaN trips.
    """
    expected = float(seeds * h)

    def diagnose(W: np.ndarray, k: int) -> None:
        finite = np.all(np.isfinite(W), axis=(-2, -1))
        if manifold == "euclidean":
            size = np.where(finite, np.linalg.norm(np.where(np.isfinite(W), W, 0.0), axis=(-2, -1)), np.inf)
            bad = ~finite | (size > NORM_LIMIT)
            what = f"||W||_F exceeded {NORM_LIMIT:.0e} or became non-finite"
        else:
            defect = np.where(finite, _defect(np.where(np.isfinite(W), W, 0.0)), np.inf)
            bad = ~finite | (defect > DEFECT_LIMIT)
            what = f"the iterate became non-finite or left the manifold (defect > {DEFECT_LIMIT:.0e})"
        if np.any(bad):
            s = int(np.argmax(bad))
            raise DivergenceError(
                f"SGD diverged at step {k} for seed {s} with lr = {lr:.6g}: {what} "
                f"({int(np.sum(bad))} of {seeds} seed(s) affected); reduce lr",
                step=k,
                seed=s,
                lr=lr,
            )

    if manifold == "euclidean":
        limit_sq = NORM_LIMIT**2

        def check(W: np.ndarray, k: int) -> None:
            flat = W.reshape(-1)
            if not flat @ flat <= limit_sq:
                diagnose(W, k)

    else:
        tol = DEFECT_LIMIT * expected

        def check(W: np.ndarray, k: int) -> None:
            flat = W.reshape(-1)
            if not abs(flat @ flat - expected) <= tol:
                diagnose(W, k)

    return check


def _progress_bar(steps: int, show: bool) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc="sgd", unit="step", mininterval=0.5)
