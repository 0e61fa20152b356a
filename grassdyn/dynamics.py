r"""Dynamics that carry state beyond ``W``: SGD and ODE integration of vector fields that are no gradient.

:func:`grassdyn.sgd.simulate` and :func:`grassdyn.flows.integrate` hand a loss
with ``is_gradient = False`` (the predictor methods of
:mod:`grassdyn.ssl.predictor`: SimSiam, BYOL, DirectPred) to :func:`simulate`
and :func:`integrate` here. Such a loss exposes

- ``init_state(W0)``: the state, a dict of arrays (``"W"``, ``"predictor"``,
  ``"target"``, ...) with leading batch axes;
- ``dynamic_keys``: the components the ODE moves; ``complete(state)`` fills
  in the others (functions of these in the flow);
- ``field(state)``: the population (or full-data) vector field on the
  dynamic components; ``step(state, batch, lr)``: one SGD step on a minibatch
  (``batch=None``: the exact field); ``draw``/``take``: minibatches, as every
  SSL loss.

The result is a :class:`~grassdyn.trajectory.Trajectory` with ``W`` and, in
``traj.state``, every component on the same time axis, e.g.
``traj.state["predictor"]`` of shape ``(seeds, T, h, h)``.

**Time** (docs/conventions.md): gradient-flow time; SGD step ``k`` at
learning rate ``lr`` sits at ``t = k lr``. SGD is the explicit Euler scheme of
the ODE with the field replaced by its minibatch estimate, so at ``lr -> 0``
the SGD trajectory follows the integrated one (up to minibatch noise of
variance ``O(lr / B)``).

**Seeds.** As in :mod:`grassdyn.sgd`: seed ``i`` owns the generator
``Generator(SFC64(child_i))`` of the ``i``-th child of ``rng``
(:func:`grassdyn.sgd.streams`) and draws its minibatches ``chunk`` steps at a
time from it alone, so a seed's run does not depend on how many run beside
it, and the same ``rng`` reproduces a run bit for bit. All seeds advance
together as stacked arrays.

These dynamics are unconstrained (``manifold="euclidean"``): weight decay,
not an orthogonality constraint, is what sets the scale of ``W`` [TCG21]_.

References
----------
.. [TCG21] Y. Tian, X. Chen, S. Ganguli, "Understanding self-supervised
   learning dynamics without contrastive pairs", ICML 2021, arXiv 2102.06810.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp

from grassdyn._validation import as_int, as_real, as_times, check_choice
from grassdyn.integrators import MAX_STEPS
from grassdyn.trajectory import Trajectory

__all__ = ["integrate", "simulate"]

#: Components with entries beyond this count as diverged (their squares would overflow float64).
NORM_LIMIT = 1e150
#: Floats each seed draws per chunk of minibatches (as grassdyn.sgd: 512 KB).
_CHUNK_FLOATS = 1 << 16
SCIPY_METHODS = ("scipy-DOP853", "scipy-RK45", "scipy-RK23")


def _check_manifold(manifold: str, loss: Any) -> None:
    check_choice(manifold, "manifold", ("grassmann", "euclidean"))
    if manifold != "euclidean":
        raise ValueError(
            f"manifold must be 'euclidean' for {type(loss).__name__} {getattr(loss, 'name', '')!r}: its "
            "dynamics are unconstrained, with weight decay setting the scale of W (Tian, Chen & Ganguli 2021)"
        )


def _seeded_state(loss: Any, W0: ArrayLike | Mapping[str, ArrayLike], seeds: int) -> dict[str, np.ndarray]:
    state = loss.init_state(W0)
    lead = state["W"].shape[:-2]
    if lead not in ((), (seeds,)):
        raise ValueError(
            f"W0 must be one frame (d, h) or a batch (seeds, d, h) with seeds = {seeds}, "
            f"got shape {state['W'].shape}"
        )
    return {k: np.broadcast_to(v, (seeds, *v.shape[len(lead):])).copy() for k, v in state.items()}


class _Minibatches:
    """Every seed's minibatches, ``chunk`` steps at a time from its own generator."""

    def __init__(self, loss: Any, B: int, gens: list[np.random.Generator]) -> None:
        self.loss, self.B, self.gens = loss, B, gens
        self.n = loss.n
        per_step = B * (loss.d * 2 if self.n is None else 1)
        self.chunk = max(1, _CHUNK_FLOATS // per_step)
        self.pos = self.chunk
        self.buf: Any = None

    def next(self) -> tuple[np.ndarray, ...]:
        if self.pos == self.chunk:
            self._refill()
            self.pos = 0
        k = self.pos
        self.pos += 1
        if self.n is None:
            return tuple(b[k] for b in self.buf)
        return self.loss.take(self.buf[k])

    def _refill(self) -> None:
        K, B = self.chunk, self.B
        if self.n is None:
            draws = [self.loss.draw(B, g, batch=(K,)) for g in self.gens]
            self.buf = tuple(np.stack([d[v] for d in draws], axis=1) for v in range(2))
        else:
            self.buf = np.stack([g.integers(0, self.n, size=(K, B)) for g in self.gens], axis=1)


def _diverged(state: Mapping[str, np.ndarray]) -> tuple[str, int] | None:
    for key, arr in state.items():
        size = np.max(np.abs(arr.reshape(arr.shape[0], -1)), axis=1)
        bad = ~(size <= NORM_LIMIT)
        if np.any(bad):
            return key, int(np.argmax(bad))
    return None


def _run(
    loss: Any, state: dict[str, np.ndarray], batches: _Minibatches | None, lr: float, steps: int,
    recorded: np.ndarray, rec: dict[str, np.ndarray], bar: Any,
) -> None:
    """The step loop: advance ``state`` ``steps`` times, writing the recorded steps into ``rec``."""
    from grassdyn.sgd import DivergenceError

    j = 1
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught by _diverged, naming the step
        for k in range(1, steps + 1):
            state = loss.step(state, None if batches is None else batches.next(), lr)
            bad = _diverged(state)
            if bad is not None:
                key, s = bad
                raise DivergenceError(
                    f"SGD diverged at step {k} for seed {s} with lr = {lr:.6g}: state[{key!r}] became "
                    f"non-finite or exceeded {NORM_LIMIT:.0e}; reduce lr",
                    step=k, seed=s, lr=lr,
                )
            if k == recorded[j]:
                for key, v in state.items():
                    rec[key][:, j] = v
                j += 1
            if bar is not None and (k % 64 == 0 or k == steps):
                bar.update(k - bar.n)


def simulate(
    loss: Any,
    W0: ArrayLike | Mapping[str, ArrayLike],
    *,
    lr: float,
    steps: int,
    batch_size: int | None = None,
    seeds: int = 1,
    rng: Any = None,
    record_every: int = 1,
    manifold: str = "grassmann",
    retraction: str = "qr",
    optimizer: str = "sgd",
    momentum: float = 0.9,
    sampling: str = "replacement",
    progress: bool | None = None,
) -> Trajectory:
    """SGD on a state-carrying loss for ``seeds`` runs at once (called by :func:`grassdyn.sgd.simulate`).

    Parameters
    ----------
    loss : PredictorLoss
        A loss with ``is_gradient = False`` (see the module docstring).
    W0 : array_like (d, h) or (seeds, d, h), or mapping
        Initial ``W``, or a mapping of initial state components.
    lr, steps, batch_size, seeds, rng, record_every
        As in :func:`grassdyn.sgd.simulate`. ``batch_size=None``: the exact
        field (full-batch gradient descent on the population or data set).
    manifold : {"euclidean"}
        Must be ``"euclidean"`` (the default of ``sgd.simulate``,
        ``"grassmann"``, raises, naming the argument).
    retraction, momentum
        Unused: no retraction on the unconstrained model; momentum only with ``optimizer="momentum"``.
    optimizer : {"sgd"}
    sampling : {"replacement"}
        Fixed data sets are sampled with replacement.
    progress : bool or None
        Show a tqdm progress bar; None: only if stderr is a terminal.

    Returns
    -------
    Trajectory
        ``W`` of shape ``(seeds, T, d, h)``; ``state`` holds every component
        ``(seeds, T, ...)``; ``t = k lr``.

    Raises
    ------
    grassdyn.sgd.DivergenceError
        A component became non-finite or exceeded ``1e150``; names the step,
        the seed and the component.
    """
    from grassdyn.sgd import streams

    _check_manifold(manifold, loss)
    check_choice(optimizer, "optimizer", ("sgd", "momentum"))
    if optimizer != "sgd":
        raise ValueError("optimizer must be 'sgd' for a state-carrying loss (momentum is not implemented)")
    check_choice(sampling, "sampling", ("replacement", "epochs"))
    if sampling != "replacement":
        raise ValueError("sampling must be 'replacement' for a state-carrying loss")
    seeds = as_int(seeds, "seeds", minimum=1)
    lr = as_real(lr, "lr", low=0.0, low_open=True)
    steps = as_int(steps, "steps", minimum=1)
    record_every = as_int(record_every, "record_every", minimum=1)
    if record_every > steps:
        raise ValueError(f"record_every must be <= steps = {steps}, got {record_every}")
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    elif not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {type(progress).__name__}")
    loss.check_lr(lr)
    state = _seeded_state(loss, W0, seeds)
    seq = streams(rng, seeds)
    batches = None
    regime = "exact"
    if batch_size is not None:
        B = as_int(batch_size, "batch_size", minimum=1)
        if loss.n is not None and B > loss.n:
            raise ValueError(f"batch_size = {B} exceeds the data set size n = {loss.n}")
        gens = [np.random.Generator(np.random.SFC64(s)) for s in seq]
        batches = _Minibatches(loss, B, gens)
        regime = "online" if loss.n is None else "fixed-data"

    recorded = np.arange(0, steps + 1, record_every)
    if recorded[-1] != steps:
        recorded = np.append(recorded, steps)
    rec = {k: np.empty((seeds, recorded.size, *v.shape[1:])) for k, v in state.items()}
    for k, v in state.items():
        rec[k][:, 0] = v
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"sgd ({loss.name})", unit="step", mininterval=0.5)
    try:
        _run(loss, state, batches, lr, steps, recorded, rec, bar)
    finally:
        if bar is not None:
            bar.close()
    params = {
        "lr": lr, "steps": steps, "batch_size": batch_size, "regime": regime, "manifold": "euclidean",
        "optimizer": "sgd", "record_every": record_every, "time_per_step": lr,
        "chunk": None if batches is None else batches.chunk, "n": loss.n, "loss": repr(loss),
        "seed_entropy": seq[0].entropy,
    }
    stats = {
        "steps": steps, "samples_per_seed": steps * (batch_size or 0), "success": True,
        "message": f"{steps} steps completed",
    }
    return Trajectory(
        t=recorded * lr, W=rec["W"], method="sgd", manifold="euclidean", params=params, seeds=seq,
        stats=stats, state=rec,
    )


def integrate(
    loss: Any,
    W0: ArrayLike | Mapping[str, ArrayLike],
    t: ArrayLike,
    manifold: str = "grassmann",
    method: str | None = None,
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    step: float | None = None,
    first_step: float | None = None,
    max_steps: int = MAX_STEPS,
    record: str = "t",
) -> Trajectory:
    """Integrate the ODE of a state-carrying loss (called by :func:`grassdyn.flows.integrate`).

    Parameters
    ----------
    loss : PredictorLoss
    W0 : array_like (..., d, h), or mapping
        Initial ``W`` (leading axes a batch, each member integrated with its
        own steps), or a mapping of initial state components.
    t : array_like (T,)
        Output times (gradient-flow time).
    manifold : {"euclidean"}
        Must be ``"euclidean"``.
    method : {"scipy-DOP853", "scipy-RK45", "scipy-RK23"}, optional
        :func:`scipy.integrate.solve_ivp` on the dynamic components
        (default DOP853, order 8).
    rtol, atol, first_step, max_steps
        Passed to ``solve_ivp``; ``max_steps`` bounds the steps of each member
        (through the number of field evaluations).
    step, record
        Only ``step=None`` and ``record="t"``.

    Returns
    -------
    Trajectory
        ``W`` of shape ``(..., T, d, h)``; ``state`` holds every component,
        the derived ones computed from the integrated ones (``complete``).

    Raises
    ------
    grassdyn.integrators.IntegrationError, grassdyn.integrators.DivergenceError
    """
    from grassdyn.integrators import DivergenceError, IntegrationError

    _check_manifold(manifold, loss)
    method = "scipy-DOP853" if method is None else check_choice(method, "method", SCIPY_METHODS)
    if step is not None:
        raise ValueError("step: fixed steps are not available for a state-carrying loss; pass step=None")
    if record != "t":
        raise ValueError("record must be 't' for a state-carrying loss")
    t_out = as_times(t, "t")
    rtol = as_real(rtol, "rtol", low=100 * np.finfo(float).eps)
    atol = as_real(atol, "atol", low=0.0)
    max_steps = as_int(max_steps, "max_steps", minimum=1)
    if first_step is not None:
        first_step = as_real(first_step, "first_step", low=0.0, low_open=True)
    state0 = loss.init_state(W0)
    keys = loss.dynamic_keys
    batch = state0["W"].shape[:-2]
    shapes = {k: state0[k].shape[len(batch):] for k in keys}
    sizes = [int(np.prod(shapes[k])) for k in keys]
    splits = np.cumsum(sizes)[:-1]

    def unpack(y: np.ndarray) -> dict[str, np.ndarray]:
        return {k: part.reshape(shapes[k]) for k, part in zip(keys, np.split(y, splits), strict=True)}

    # evaluations per accepted step of each method, to turn max_steps into an evaluation budget
    max_evals = max_steps * {"scipy-DOP853": 12, "scipy-RK45": 6, "scipy-RK23": 3}[method]
    nfev = [0, 0]  # total, current member

    def fun(time: float, y: np.ndarray) -> np.ndarray:
        nfev[0] += 1
        nfev[1] += 1
        if nfev[1] > max_evals:
            raise IntegrationError(
                f"max_steps = {max_steps} reached at t = {time:.6g} before t = {t_end:.6g}"
            )
        if not np.max(np.abs(y)) <= NORM_LIMIT:
            raise DivergenceError(f"the solution diverged (max entry > {NORM_LIMIT:.0e}) at t = {time:.6g}")
        v = loss.field(loss.complete(unpack(y)))
        dy = np.concatenate([v[k].ravel() for k in keys])
        if not np.all(np.isfinite(dy)):
            raise DivergenceError(f"the vector field became non-finite at t = {time:.6g}")
        return dy

    out = {k: np.empty((*batch, t_out.size, *shapes[k])) for k in keys}
    t_end = float(t_out[-1])
    for idx in np.ndindex(*batch):
        nfev[1] = 0
        y0 = np.concatenate([state0[k][idx].ravel() for k in keys])
        if t_end == 0.0:
            Y = np.repeat(y0[None], t_out.size, axis=0)
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # fun raises on non-finite values, naming t
                sol = solve_ivp(
                    fun, (0.0, t_end), y0, method=method.removeprefix("scipy-"), t_eval=t_out, rtol=rtol,
                    atol=atol, first_step=first_step,
                )
            if not sol.success:
                raise IntegrationError(f"solve_ivp ({method}) failed at t = {sol.t[-1]:.6g}: {sol.message}")
            Y = sol.y.T
        for i in range(t_out.size):
            for k, v in unpack(Y[i]).items():
                out[k][(*idx, i)] = v
    full = loss.complete(out)
    stats = {"nfev": nfev[0], "success": True, "message": f"reached t = {t_end:.6g}"}
    params = {
        "rtol": rtol, "atol": atol, "first_step": first_step, "max_steps": max_steps, "loss": repr(loss),
    }
    return Trajectory(
        t=t_out, W=full["W"], method=method, manifold="euclidean", params=params, stats=stats, state=full,
    )
