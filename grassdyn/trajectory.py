"""``Trajectory``: the one result type of closed forms, ODE solves and SGD runs.

A trajectory holds times ``t`` of shape ``(T,)`` (gradient-flow time; SGD step
``k`` with learning rate ``lr`` sits at ``t = k * lr``) and frames ``W`` of
shape ``(..., T, d, h)``: leading axes index initial frames or seeds, then
time. Subspaces are compared through principal angles, never raw frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grassdyn import grassmann
from grassdyn._validation import as_frame, as_times, check_choice
from grassdyn._validation import orthogonality_defect as _defect

__all__ = ["Trajectory"]

MANIFOLDS = ("grassmann", "euclidean")


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Frames along a flow or a training run.

    Parameters
    ----------
    t : ndarray, shape (T,)
        Non-decreasing times ``>= 0``.
    W : ndarray, shape (..., T, d, h)
        Frames at those times: orthonormal when ``manifold="grassmann"``, any
        full-rank matrices for the unconstrained (``"euclidean"``) flow.
    method : str
        What produced it, e.g. ``"closed_form"``, ``"rkmk4"``, ``"sgd"``.
    manifold : {"grassmann", "euclidean"}
    params : mapping
        Parameters of the producing call (learning rate, tolerances, ...).
    seeds : tuple or None
        Seeds (or seed-sequence entropy) that reproduce a random run.
    stats : mapping
        Solver statistics: steps, evaluations, maximal orthogonality defect,
        ``success`` and ``message`` where they apply.
    state : mapping of str to ndarray, optional
        Every component of a state that carries more than ``W`` (e.g. the
        predictor and target of :mod:`grassdyn.ssl.predictor`), each of shape
        ``(..., T, ...)`` on the same batch axes and times as ``W``; empty for
        gradient flows.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.broadcast_to(np.eye(3)[:, :1], (2, 3, 1))
    >>> traj = Trajectory(t=np.array([0.0, 1.0]), W=W, method="constant")
    >>> traj
    Trajectory(method='constant', manifold='grassmann', T=2, t=[0, 1], d=3, h=1)
    >>> traj.distance_to(np.eye(3)[:, 1:2]).round(6).tolist()
    [1.570796, 1.570796]
    """

    t: np.ndarray
    W: np.ndarray
    method: str
    manifold: str = "grassmann"
    params: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[Any, ...] | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = as_times(self.t, "t")
        check_choice(self.manifold, "manifold", MANIFOLDS)
        W = as_frame(self.W, "W", atol=1e-6, orthonormal=self.manifold == "grassmann")
        if W.ndim < 3 or W.shape[-3] != t.shape[0]:
            raise ValueError(
                f"W must have shape (..., T, d, h) with T = len(t) = {t.shape[0]}, got {W.shape}"
            )
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "W", W)
        if self.state:
            lead = W.shape[:-2]
            checked = {}
            for key, value in self.state.items():
                arr = np.asarray(value, dtype=np.float64)
                if arr.shape[: len(lead)] != lead:
                    raise ValueError(
                        f"state[{key!r}] must have shape (..., T, ...) starting with {lead} like W, "
                        f"got {arr.shape}"
                    )
                checked[key] = arr
            object.__setattr__(self, "state", checked)

    # -- shape ---------------------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """Leading axes before time (initial frames, seeds)."""
        return self.W.shape[:-3]

    @property
    def d(self) -> int:
        return self.W.shape[-2]

    @property
    def h(self) -> int:
        return self.W.shape[-1]

    @property
    def final(self) -> np.ndarray:
        """Frames at the last time, shape ``(..., d, h)``."""
        return self.W[..., -1, :, :]

    def __len__(self) -> int:
        return self.t.shape[0]

    def __repr__(self) -> str:
        t0, t1 = self.t[0], self.t[-1]
        batch = f", batch={self.batch_shape}" if self.batch_shape else ""
        return (
            f"Trajectory(method={self.method!r}, manifold={self.manifold!r}, T={len(self)}, "
            f"t=[{t0:.6g}, {t1:.6g}]{batch}, d={self.d}, h={self.h})"
        )

    # -- subspaces -----------------------------------------------------------------------
    def frames(self) -> np.ndarray:
        """Orthonormal frames spanning each ``W``, shape ``(..., T, d, h)``.

        For a Grassmannian trajectory these are ``W`` itself; for the
        unconstrained flow the left singular vectors of ``W`` (its span, which
        may be numerically rank-deficient after collapse).
        """
        if self.manifold == "grassmann":
            return self.W
        U, _, _ = np.linalg.svd(self.W, full_matrices=False)
        return U

    def projectors(self) -> np.ndarray:
        """Projectors onto ``span W(t)``, shape ``(..., T, d, d)``."""
        F = self.frames()
        return F @ np.swapaxes(F, -1, -2)

    def orthogonality_defect(self) -> np.ndarray:
        """``max|W^T W - I|`` at each time, shape ``(..., T)``."""
        return _defect(self.W)

    def principal_angles(self, other: Trajectory | np.ndarray) -> np.ndarray:
        """Principal angles to ``other`` at each time, shape ``(..., T, h)``.

        ``other`` is a trajectory on the same times (batch axes broadcast) or a
        fixed subspace, a frame of shape ``(d, h')`` or ``(..., d, h')``.
        """
        if isinstance(other, Trajectory):
            if other.t.shape != self.t.shape or not np.allclose(other.t, self.t, rtol=1e-12):
                raise ValueError("other must be a trajectory on the same times t")
            F_other = other.frames()
        else:
            F_other = as_frame(other, "other")
            if F_other.shape[-2] != self.d:
                raise ValueError(f"other must have d = {self.d} rows, got shape {F_other.shape}")
            F_other = np.expand_dims(F_other, -3)
        return grassmann.principal_angles(self.frames(), F_other, check=False)

    def distance_to(
        self, other: Trajectory | np.ndarray, metric: str = "geodesic"
    ) -> np.ndarray:
        """Distance of ``span W(t)`` to ``other`` at each time, shape ``(..., T)``.

        Parameters
        ----------
        other : Trajectory or array_like, shape (..., d, h)
            A trajectory on the same times, or a fixed subspace.
        metric : {"geodesic", "chordal"}
            ``||theta||_2`` or ``||sin theta||_2`` over the principal angles.
        """
        check_choice(metric, "metric", ("geodesic", "chordal"))
        theta = self.principal_angles(other)
        values = theta if metric == "geodesic" else np.sin(theta)
        return np.linalg.norm(values, axis=-1)

    def loss(self, objective: Any) -> np.ndarray:
        """``objective.value`` at each frame, shape ``(..., T)``."""
        if not callable(getattr(objective, "value", None)):
            raise TypeError(f"objective must have a value(W) method, got {type(objective).__name__}")
        flat = self.W.reshape(-1, self.d, self.h)
        values = np.array([float(objective.value(w)) for w in flat])
        return values.reshape(self.W.shape[:-2])
