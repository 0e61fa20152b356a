"""Integrators of gradient flows: manifold preservation, accuracy, order, statistics, validation.

References come from :mod:`grassdyn.flows` (the closed form of Oja's flow, exact for
every t) and from ``scipy.linalg.expm`` (the Euclidean flow ``e^{Ct} W0``).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from grassdyn import flows, grassmann
from grassdyn.data import AugmentationModel
from grassdyn.integrators import (
    SCIPY_METHODS,
    SOLVERS,
    DivergenceError,
    IntegrationError,
    integrate,
)
from grassdyn.objectives import Quadratic
from grassdyn.ssl import spectral_contrastive
from grassdyn.strategies import dims, spectra, stiefel_frames, symmetric_matrices

ROOT = Path(__file__).resolve().parents[1]
ADAPTIVE = ("dopri5", "bosh3")


@st.composite
def problems(draw, max_d=6):
    """``(C, W0)``: a generator with spectrum in [-1, 1] and an initial frame."""
    d, h = draw(dims(min_d=2, max_d=max_d))
    C = draw(symmetric_matrices(d, spectra(d, min_value=-1.0, max_value=1.0)))
    return C, draw(stiefel_frames(d, h))


def fixed_problem(d=6, h=2, seed=0, lam=None):
    rng = np.random.default_rng(seed)
    lam = np.linspace(1.0, -1.0, d) if lam is None else np.asarray(lam)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return Q @ np.diag(lam) @ Q.T, grassmann.random_point(d, h, rng=rng)


# -- the manifold is preserved; the loss decreases ------------------------------------------------
@settings(max_examples=15)
@given(problems(), st.sampled_from(ADAPTIVE))
def test_adaptive_frames_stay_orthonormal_without_reorthonormalisation(problem, method):
    C, W0 = problem
    traj = integrate(Quadratic(C), W0, np.linspace(0.0, 8.0, 9), method=method, rtol=1e-7)
    assert traj.stats["max_orthogonality_defect"] < 1e-13
    assert np.max(traj.orthogonality_defect()) < 1e-13


@settings(max_examples=10)
@given(problems(), st.sampled_from(tuple(SOLVERS)))
def test_fixed_step_frames_stay_orthonormal_even_with_large_steps(problem, method):
    # steps far too large for accuracy still land on the manifold: orthonormality is not an
    # accuracy property of these methods
    C, W0 = problem
    traj = integrate(Quadratic(C), W0, [0.0, 20.0], method=method, step=2.0)
    assert traj.stats["max_orthogonality_defect"] < 1e-13


@settings(max_examples=15)
@given(problems(), st.sampled_from(ADAPTIVE))
def test_quadratic_loss_is_non_increasing_along_the_integrated_flow(problem, method):
    C, W0 = problem
    L = Quadratic(C)
    loss = integrate(L, W0, np.linspace(0.0, 10.0, 41), method=method, rtol=1e-8).loss(L)
    # dL/dt = -||grad L||^2 <= 0: increases only at rounding level
    assert np.all(np.diff(loss) <= 1e-12 * (1.0 + np.abs(loss[:-1])))


# -- agreement with the closed form ---------------------------------------------------------------
@settings(max_examples=15)
@given(problems(), st.sampled_from(ADAPTIVE + tuple(SCIPY_METHODS)), st.sampled_from([1e-6, 1e-9]))
def test_integrators_agree_with_the_closed_form_at_the_subspace_level(problem, method, rtol):
    C, W0 = problem
    t = np.linspace(0.0, 10.0, 11)
    traj = integrate(Quadratic(C), W0, t, method=method, rtol=rtol, atol=1e-2 * rtol)
    # ||C||_2 <= 1 over t <= 10: the flow amplifies local errors by a bounded factor, so the
    # global error is a modest multiple of rtol (35 rtol at worst for bosh3 in 200 random trials)
    assert np.max(traj.distance_to(flows.grassmann_closed_form(C, W0, t))) < 100 * rtol


@settings(max_examples=10)
@given(problems(), st.integers(0, 2**32 - 1))
def test_integrated_subspace_is_invariant_under_a_change_of_frame(problem, seed):
    # the chart ODE depends on span W0 only: W0 -> W0 R gives the same subspaces
    C, W0 = problem
    R = np.linalg.qr(np.random.default_rng(seed).standard_normal((W0.shape[1],) * 2))[0]
    t = [0.0, 1.0, 5.0]
    a = integrate(Quadratic(C), W0, t, rtol=1e-10, atol=1e-12)
    b = integrate(Quadratic(C), W0 @ R, t, rtol=1e-10, atol=1e-12)
    assert np.max(a.distance_to(b)) < 1e-8


def test_flows_integrate_is_this_integrator():
    C, W0 = fixed_problem()
    a = flows.integrate(Quadratic(C), W0, [0.0, 1.0], method="bosh3")
    b = integrate(Quadratic(C), W0, [0.0, 1.0], method="bosh3")
    assert a.method == "bosh3" and np.array_equal(a.W, b.W)


def test_batch_of_initial_frames_matches_one_by_one_integration():
    C, _ = fixed_problem()
    W0 = grassmann.random_point(6, 2, rng=3, batch=(2, 3))
    t = [0.0, 0.5, 3.0]
    batch = integrate(Quadratic(C), W0, t, rtol=1e-10)
    assert batch.W.shape == (2, 3, 3, 6, 2)
    for idx in np.ndindex(2, 3):
        single = integrate(Quadratic(C), W0[idx], t, rtol=1e-10)
        assert np.array_equal(batch.W[idx], single.W)
    assert batch.stats["accepted_steps"] > 6 * single.stats["accepted_steps"] - 6


def test_dense_output_times_include_zero_repeats_and_points_between_steps():
    C, W0 = fixed_problem()
    t = [0.0, 0.0, 0.013, 0.013, 1.7, 5.0]
    traj = integrate(Quadratic(C), W0, t, rtol=1e-10, atol=1e-12)
    assert np.array_equal(traj.W[0], W0) and np.array_equal(traj.W[1], W0)
    assert np.array_equal(traj.W[2], traj.W[3])
    assert np.max(traj.distance_to(flows.grassmann_closed_form(C, W0, t))) < 1e-8


def test_start_at_a_fixed_point_stays_there():
    # W0 spanned by eigenvectors: the vector field vanishes exactly, the error estimate is 0
    # and the controller grows the step to the end
    C = np.diag([3.0, 2.0, 1.0, 0.0])
    W0 = np.eye(4)[:, [1, 3]]
    traj = integrate(Quadratic(C), W0, [0.0, 50.0])
    assert np.array_equal(traj.final, W0)


def test_solve_ivp_path_reports_and_removes_its_drift_off_the_manifold():
    C, W0 = fixed_problem(d=10, h=3)
    t = np.linspace(0.0, 10.0, 6)
    traj = integrate(Quadratic(C), W0, t, method="scipy-RK45", rtol=1e-5, atol=1e-8)
    before = traj.stats["max_orthogonality_defect_before_reorthonormalisation"]
    assert 1e-12 < before < 1e-3
    assert traj.stats["max_orthogonality_defect"] < 1e-14
    assert traj.stats["rejected_steps"] is None and traj.stats["accepted_steps"] > 0
    geometric = integrate(Quadratic(C), W0, t, method="dopri5", rtol=1e-5, atol=1e-8)
    assert geometric.stats["max_orthogonality_defect"] < 1e-14


# -- convergence order ----------------------------------------------------------------------------
def _fixed_step_errors(method, steps, *, T=2.0, t_eval=None):
    C, W0 = fixed_problem(d=8, h=3, lam=np.linspace(1.0, 0.0, 8))
    t = [T] if t_eval is None else t_eval
    ref = flows.grassmann_closed_form(C, W0, t)
    errors = [
        float(np.max(integrate(Quadratic(C), W0, t, method=method, step=h).distance_to(ref)))
        for h in steps
    ]
    return np.array(errors)


@pytest.mark.parametrize("method", tuple(SOLVERS))
def test_each_geometric_method_shows_its_order_against_the_closed_form(method):
    order = SOLVERS[method].tableau.order
    steps = 2.0 / np.array([4, 8, 16, 32])
    errors = _fixed_step_errors(method, steps)
    # asymptotic range: errors well above the closed form's 1e-12 accuracy, below O(1)
    assert np.all((errors > 1e-11) & (errors < 1e-2))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3


@pytest.mark.parametrize("method", tuple(SOLVERS))
def test_dense_output_between_steps_keeps_the_order(method):
    # a continuous extension of order >= p - 1 adds a local O(h^p) error to the global O(h^p)
    order = SOLVERS[method].tableau.order
    steps = 2.0 / np.array([4, 8, 16, 32])
    # 0.3 and 0.7 of the way through steps: only the continuous extension reaches them
    errors = _fixed_step_errors(method, steps, t_eval=[0.15, 1.85])
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3


def test_fsal_reuses_the_last_stage_gradient():
    C, W0 = fixed_problem()
    for method, new_per_step in (("dopri5", 6), ("bosh3", 3)):
        traj = integrate(Quadratic(C), W0, [0.0, 5.0], method=method)
        s = traj.stats
        # one gradient at W0, one probe for the starting step, then the new stages per attempt
        assert s["nfev"] == 2 + new_per_step * (s["accepted_steps"] + s["rejected_steps"])


def test_controller_respects_the_tolerance_by_taking_more_steps():
    C, W0 = fixed_problem()
    t = np.linspace(0.0, 10.0, 5)
    ref = flows.grassmann_closed_form(C, W0, t)
    runs = [integrate(Quadratic(C), W0, t, rtol=r, atol=1e-2 * r) for r in (1e-4, 1e-7, 1e-10)]
    errors = [float(np.max(r.distance_to(ref))) for r in runs]
    steps = [r.stats["accepted_steps"] for r in runs]
    assert errors[0] > errors[1] > errors[2] and steps[0] < steps[1] < steps[2]


# -- the Euclidean flow ---------------------------------------------------------------------------
@settings(max_examples=10)
@given(problems(max_d=5), st.sampled_from(("dopri5", "scipy-DOP853")))
def test_euclidean_flow_matches_the_matrix_exponential(problem, method):
    C, W0 = problem
    t = np.array([0.0, 1.0, 4.0])
    traj = integrate(Quadratic(C), W0, t, manifold="euclidean", method=method, rtol=1e-10, atol=1e-12)
    exact = np.stack([expm(C * s) @ W0 for s in t])
    scale = np.max(np.abs(exact), axis=(-2, -1), keepdims=True)
    assert np.max(np.abs(traj.W - exact) / scale) < 1e-7
    assert "max_orthogonality_defect" not in traj.stats


def test_euclidean_divergence_raises_naming_the_time():
    C = np.diag([10.0, 0.0])
    W0 = np.array([[1.0], [1.0]])
    # e^{10 t} passes 1e150 at t = ln(1e150) / 10 = 34.5
    # loose tolerances: the point is where it stops, not accuracy on the way
    with pytest.raises(DivergenceError, match=r"at t = 3[45]\.[0-9]"):
        integrate(Quadratic(C), W0, [0.0, 100.0], manifold="euclidean", rtol=1e-4)
    with pytest.raises(DivergenceError, match=r"at t = 3[45]\.[0-9]"):
        integrate(Quadratic(C), W0, [0.0, 100.0], manifold="euclidean", method="scipy-RK45", rtol=1e-4)


# -- a non-quadratic objective: spectral contrastive ----------------------------------------------
def test_spectral_contrastive_flow_descends_to_a_critical_point():
    model = AugmentationModel(8, content=[3.0, 2.0], style=[1.0, 0.5], rho=0.3, noise=0.2, rng=0)
    loss = spectral_contrastive(model)
    W0 = grassmann.random_point(8, 2, rng=1)
    t = np.linspace(0.0, 40.0, 81)
    traj = integrate(loss, W0, t, rtol=1e-10, atol=1e-12)
    values = traj.loss(loss)
    assert np.all(np.diff(values) <= 1e-12 * (1.0 + np.abs(values[:-1])))
    assert values[-1] < values[0] - 0.1
    grad0 = grassmann.riemannian_gradient(W0, loss.egrad(W0))
    grad = grassmann.riemannian_gradient(traj.final, loss.egrad(traj.final))
    assert np.linalg.norm(grad0) > 0.1 and np.linalg.norm(grad) < 1e-8
    assert traj.stats["max_orthogonality_defect"] < 1e-13
    # the geometric and the scipy integrators reach the same subspaces
    other = integrate(loss, W0, t, method="scipy-DOP853", rtol=1e-10, atol=1e-12)
    assert np.max(traj.distance_to(other)) < 1e-7


# -- records and limits ---------------------------------------------------------------------------
def test_record_steps_returns_the_accepted_step_points():
    C, W0 = fixed_problem()
    traj = integrate(Quadratic(C), W0, [0.0, 3.0], record="steps", rtol=1e-8)
    assert traj.t[0] == 0.0 and traj.t[-1] == 3.0 and np.all(np.diff(traj.t) > 0)
    assert len(traj) == traj.stats["accepted_steps"] + 1
    assert np.max(traj.distance_to(flows.grassmann_closed_form(C, W0, traj.t))) < 1e-6


def test_max_steps_raises_naming_the_time():
    C, W0 = fixed_problem()
    with pytest.raises(IntegrationError, match=r"max_steps = 3 .* at t = "):
        integrate(Quadratic(C), W0, [0.0, 10.0], max_steps=3)
    with pytest.raises(IntegrationError, match=r"max_steps = 3 .* at t = "):
        integrate(Quadratic(C), W0, [0.0, 10.0], method="scipy-RK45", max_steps=3)


class _NoGradient:
    def value(self, W):
        return 0.0


class _WrongShape:
    def value(self, W):
        return 0.0

    def egrad(self, W):
        return W[:, :1]


class _NaNGradient:
    def value(self, W):
        return 0.0

    def egrad(self, W):
        return np.full(W.shape, np.nan)


_C, _W0 = fixed_problem()
_Q = Quadratic(_C)
BAD = [
    ("unknown-method", dict(method="euler"), ValueError, "method"),
    ("rtol-zero", dict(rtol=0.0), ValueError, "rtol"),
    ("rtol-below-100-eps", dict(rtol=1e-15), ValueError, "rtol"),
    ("rtol-string", dict(rtol="1e-8"), TypeError, "rtol"),
    ("atol-negative", dict(atol=-1.0), ValueError, "atol"),
    ("step-negative", dict(step=-0.1), ValueError, "step"),
    ("step-with-scipy", dict(step=0.1, method="scipy-RK45"), ValueError, "step"),
    ("step-and-first-step", dict(step=0.1, first_step=0.1), ValueError, "first_step"),
    ("rk4-without-step", dict(method="rk4"), ValueError, "step"),
    ("first-step-zero", dict(first_step=0.0), ValueError, "first_step"),
    ("max-steps-zero", dict(max_steps=0), ValueError, "max_steps"),
    ("max-steps-float", dict(max_steps=10.0), TypeError, "max_steps"),
    ("record-unknown", dict(record="all"), ValueError, "record"),
    ("record-steps-batch", dict(record="steps", W0=np.stack([_W0, _W0])), ValueError, "record"),
    ("manifold-unknown", dict(manifold="stiefel"), ValueError, "manifold"),
    ("W0-not-orthonormal", dict(W0=2.0 * _W0), ValueError, "W0"),
    ("W0-nan", dict(W0=np.full_like(_W0, np.nan)), ValueError, "W0"),
    ("W0-rank-deficient", dict(W0=np.ones((6, 2)), manifold="euclidean"), ValueError, "W0"),
    ("t-decreasing", dict(t=[0.0, 2.0, 1.0]), ValueError, "t"),
    ("t-negative", dict(t=[-1.0, 1.0]), ValueError, "t"),
    ("t-2d", dict(t=[[0.0, 1.0]]), ValueError, "t"),
    ("objective-without-egrad", dict(objective=_NoGradient()), TypeError, "objective"),
    ("egrad-wrong-shape", dict(objective=_WrongShape()), ValueError, "objective.egrad"),
    ("egrad-nan", dict(objective=_NaNGradient()), DivergenceError, "objective.egrad"),
    ("unknown-keyword", dict(tol=1e-3), TypeError, "tol"),
]


@pytest.mark.parametrize(("kwargs", "error", "name"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_naming_the_argument(kwargs, error, name):
    args = dict(objective=_Q, W0=_W0, t=[0.0, 1.0]) | kwargs
    with pytest.raises(error, match=name):
        integrate(**args)


# -- the benchmark script runs ---------------------------------------------------------------------
def test_benchmark_quick_smoke():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "flows.py"), "--quick"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "closed form vs scipy-DOP853" in result.stdout
