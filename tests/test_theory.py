"""Predicted rates, times to accuracy and collapse diagnostics (grassdyn.theory).

Distance convention: the largest principal angle theta_max between span W(t)
and the top-h eigenspace of C, along Oja's flow dW/dt = (I - W W^T) C W.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grassdyn as gd
from grassdyn import flows, theory
from grassdyn.strategies import dims, spectra, symmetric_matrices


@st.composite
def gapped_problems(draw, *, min_gap=0.2, max_d=6):
    """(C, W0, lam) with h < d, consecutive eigenvalue gaps >= min_gap and a Haar-random start."""
    d, h = draw(dims(min_d=2, max_d=max_d).filter(lambda dh: dh[1] < dh[0]))
    lam = draw(spectra(d, min_gap=min_gap, min_value=-3.0, max_value=3.0))
    C = draw(symmetric_matrices(d, eigenvalues=lam))
    W0 = gd.grassmann.random_point(d, h, rng=draw(st.integers(0, 2**32 - 1)))
    return C, W0, lam


# -- rate ---------------------------------------------------------------------------------------
@given(gapped_problems(min_gap=0.0))
def test_rate_is_the_spectral_gap_at_h(problem):
    C, W0, lam = problem
    h = W0.shape[1]
    assert theory.rate(C, h) == pytest.approx(lam[h - 1] - lam[h], abs=1e-12)


def test_rate_hand_example_and_bad_h():
    C = np.diag([1.0, 5.0, 2.0, 2.0])
    assert theory.rate(C, 1) == 3.0
    assert theory.rate(C, 2) == 0.0  # a tie: no exponential convergence
    with pytest.raises(ValueError, match="h must be < d"):
        theory.rate(C, 4)


# -- the largest angle along the flow ------------------------------------------------------------
@given(gapped_problems())
@settings(max_examples=20)
def test_largest_angle_matches_the_closed_form(problem):
    C, W0, _ = problem
    h = W0.shape[1]
    t = np.linspace(0.0, 3.0, 7)
    from_closed_form = flows.grassmann_closed_form(C, W0, t).principal_angles(flows.limit(C, h))[..., -1]
    np.testing.assert_allclose(theory.largest_angle(C, W0, t), from_closed_form, atol=1e-10)


@given(gapped_problems(min_gap=0.05))
def test_largest_angle_is_non_increasing_and_obeys_the_exponential_bound(problem):
    C, W0, lam = problem
    h = W0.shape[1]
    t = np.linspace(0.0, 20.0, 41)
    tan = np.tan(theory.largest_angle(C, W0, t))
    assert np.all(np.diff(tan) <= 1e-12 * tan[:-1])
    bound = tan[0] * np.exp(-(lam[h - 1] - lam[h]) * t)
    assert np.all(tan <= bound * (1 + 1e-12))


def test_largest_angle_is_right_angle_without_a_top_component():
    C = np.diag([3.0, 2.0, 1.0])
    W0 = np.array([[0.0], [0.6], [0.8]])
    np.testing.assert_array_equal(theory.largest_angle(C, W0, [0.0, 1e3]), np.pi / 2)


# -- time to epsilon ---------------------------------------------------------------------------
@given(gapped_problems(), st.floats(1e-8, 0.5))
@settings(max_examples=25)
def test_time_to_epsilon_is_exact_and_below_the_bound(problem, eps):
    C, W0, _ = problem
    t_eps = theory.time_to_epsilon(C, W0, eps)
    bound = theory.time_to_epsilon_bound(C, W0, eps)
    assert 0.0 <= t_eps <= bound * (1 + 1e-12)
    theta0 = float(theory.largest_angle(C, W0, [0.0])[0])
    if theta0 <= eps:
        assert t_eps == 0.0
    else:
        assert float(theory.largest_angle(C, W0, [t_eps])[0]) == pytest.approx(eps, rel=1e-10)
        # and the closed form agrees that this is when the flow gets there
        final = flows.grassmann_closed_form(C, W0, [t_eps]).W[0]
        angle = gd.grassmann.principal_angles(final, flows.limit(C, W0.shape[1]))[-1]
        assert angle == pytest.approx(eps, rel=1e-6, abs=1e-13)


@given(st.floats(0.1, 3.0), st.floats(0.01, 1.5), st.floats(1e-12, 1e-2))
def test_gr12_time_to_epsilon_is_the_bound(gap, theta0, eps):
    # on Gr(1, 2): tan theta(t) = tan theta0 e^{-gap t}, so the bound is attained
    C = np.diag([gap, 0.0])
    W0 = np.array([[np.cos(theta0)], [np.sin(theta0)]])
    exact = math.log(math.tan(theta0) / math.tan(eps)) / gap
    assert theory.time_to_epsilon(C, W0, eps) == pytest.approx(exact, rel=1e-12)
    assert theory.time_to_epsilon_bound(C, W0, eps) == pytest.approx(exact, rel=1e-12)


def test_time_to_epsilon_limits():
    C = np.diag([3.0, 2.0, 1.0])
    assert theory.time_to_epsilon(C, np.array([[0.0], [0.6], [0.8]]), 1e-3) == math.inf
    assert theory.time_to_epsilon_bound(C, np.array([[0.0], [0.6], [0.8]]), 1e-3) == math.inf
    assert theory.time_to_epsilon(C, np.eye(3)[:, :1], 1e-3) == 0.0


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        pytest.param((np.diag([2.0, 1.0]), np.eye(2)[:, :1], 0.0), ValueError, "eps", id="eps-zero"),
        pytest.param((np.diag([2.0, 1.0]), np.eye(2)[:, :1], 2.0), ValueError, "eps", id="eps-too-big"),
        pytest.param((np.diag([2.0, 1.0]), np.eye(2)[:, :1], "x"), TypeError, "eps", id="eps-str"),
        pytest.param((np.diag([1.0, 1.0]), np.eye(2)[:, :1], 0.1), ValueError, "not unique", id="no-gap"),
        pytest.param((np.diag([2.0, 1.0]), np.ones((2, 1)), 0.1), ValueError, "W0", id="W0-not-orthonormal"),
        pytest.param((np.diag([2.0, 1.0]), np.eye(2)[None, :, :1], 0.1), ValueError, "W0", id="W0-batch"),
        pytest.param((np.diag([2.0, 1.0]), np.eye(2), 0.1), ValueError, "h < d", id="h-equals-d"),
        pytest.param((np.diag([2.0, 1.0, 0.0]), np.eye(2)[:, :1], 0.1), ValueError, "d", id="size-mismatch"),
    ],
)
def test_time_to_epsilon_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        theory.time_to_epsilon(*args)


# -- collapse diagnostics ----------------------------------------------------------------------------
def test_effective_rank_hand_values():
    assert theory.effective_rank(np.eye(4)[:, :3]) == pytest.approx(3.0, rel=1e-15)
    p = np.array([0.75, 0.25])  # singular values 3 and 1
    assert theory.effective_rank(np.diag([3.0, 1.0])) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert theory.effective_rank(np.array([[1.0, 0.0], [0.0, 0.0]])) == 1.0
    with pytest.raises(ValueError, match="zero"):
        theory.effective_rank(np.zeros((3, 2)))


@given(dims(min_d=1, max_d=6), st.integers(0, 2**32 - 1), st.floats(1e-3, 1e3))
def test_effective_rank_is_between_one_and_h_and_scale_invariant(dh, seed, scale):
    d, h = dh
    W = np.random.default_rng(seed).standard_normal((d, h))
    r = float(theory.effective_rank(W))
    assert 1.0 - 1e-12 <= r <= min(d, h) + 1e-12
    assert float(theory.effective_rank(scale * W)) == pytest.approx(r, rel=1e-12)


def test_top_alignment_hand_values_and_tie():
    C = np.diag([1.0, 3.0, 2.0])
    W = np.array([[1.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(theory.top_alignment(W, C), [1 / np.sqrt(2), 1.0])
    with pytest.raises(ValueError, match="not unique"):
        theory.top_alignment(W, np.diag([3.0, 3.0, 1.0]))
    with pytest.raises(ValueError, match="non-zero columns"):
        theory.top_alignment(np.zeros((3, 1)), C)
