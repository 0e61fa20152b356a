"""Infinite-width kernels: Monte Carlo within standard errors, exact cases, symmetry, PSD, homogeneity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassdyn.width import TwoLayer, kernels, nngp, ntk_limit, tanh_quadrature_error

ACTS = ("relu", "erf", "tanh", "linear")


@pytest.mark.parametrize("activation", ACTS)
def test_kernels_match_monte_carlo_within_standard_errors(activation):
    # the per-unit terms of the empirical kernels are i.i.d. over units: their mean is the
    # limit, their standard error the Monte Carlo error; 4.5 standard errors over 36 entries
    rng = np.random.default_rng(11)
    d, m = 4, 200_000
    X = rng.standard_normal((6, d)) * np.array([[0.5], [1.0], [2.0], [1.0], [0.3], [1.5]])
    net = TwoLayer(d, m, 2, activation=activation, rng=rng)
    Z = X @ net.U.T / np.sqrt(d)
    act, der = net.sigma(Z), net.sigma.derivative(Z)
    w = np.sum(net.W**2, axis=1) / net.h
    g_terms = act[:, None, :] * act[None, :, :]
    n_terms = g_terms + (X @ X.T / d)[:, :, None] * der[:, None, :] * der[None, :, :] * w
    limits = (nngp(X, activation=activation), ntk_limit(X, activation=activation))
    for terms, exact in zip((g_terms, n_terms), limits, strict=True):
        mean, se = terms.mean(axis=-1), terms.std(axis=-1) / np.sqrt(m)
        z = np.abs(mean - exact) / np.maximum(se, 1e-300)
        assert np.all(z < 4.5), z.max()
    # and the network's own methods agree with the per-unit means
    assert np.allclose(net.ntk(X), n_terms.mean(axis=-1), atol=1e-12)


def test_exact_values_at_x_equal_and_opposite():
    x = np.array([[3.0, 4.0]])  # |x|^2 / d = 12.5
    both = np.concatenate([x, -x])
    K = nngp(both)
    assert K[0, 0] == pytest.approx(12.5 / 2, rel=1e-15)   # E[relu(a)^2] = s^2 / 2
    assert K[0, 1] == 0.0                                   # relu(a) relu(-a) = 0
    N = ntk_limit(both)
    assert N[0, 0] == pytest.approx(12.5, rel=1e-15)        # s^2 / 2 + s^2 / 2
    assert N[0, 1] == 0.0                                   # 0 + (-s^2) (pi - pi) / (2 pi)
    s2 = 12.5
    williams = 2 / np.pi * np.arcsin(2 * s2 / (1 + 2 * s2))
    assert nngp(x, activation="erf")[0, 0] == pytest.approx(williams, rel=1e-14)
    assert nngp(both, activation="linear")[0, 1] == pytest.approx(-12.5, rel=1e-15)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), d=st.integers(1, 5),
       activation=st.sampled_from(("relu", "erf", "linear")), log_scale=st.floats(-3, 3))
def test_kernels_are_symmetric_and_psd(seed, n, d, activation, log_scale):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 10.0**log_scale
    for K in (nngp(X, activation=activation), ntk_limit(X, activation=activation)):
        assert np.all(np.isfinite(K))
        assert np.array_equal(K, K.T)
        assert np.linalg.eigvalsh(K).min() >= -1e-12 * np.abs(K).max()


@given(seed=st.integers(0, 2**32 - 1), c=st.floats(1e-6, 1e6))
def test_relu_kernels_are_homogeneous_of_degree_one(seed, c):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    for f in (nngp, ntk_limit):
        assert np.allclose(f(c * X, Y), c * f(X, Y), rtol=1e-12, atol=0)


def test_tanh_kernels_are_symmetric_psd_and_within_their_error_bound():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 3))
    K, N = nngp(X, activation="tanh"), ntk_limit(X, activation="tanh")
    assert np.allclose(K, K.T, atol=1e-15) and np.linalg.eigvalsh(K).min() > -1e-12
    bound = tanh_quadrature_error(X)
    assert bound < 1e-10
    sx, sy, _, cos, sin = kernels._geometry(X, X)
    reference = kernels._quadrature(np.tanh, sx, sy, cos, sin, 400)  # many more nodes
    assert np.abs(K - reference).max() <= bound
    assert tanh_quadrature_error(X, kernel="ntk") < 1e-9
    assert np.allclose(N, N.T, atol=1e-14)


def test_kernel_matrices_too_large_are_refused_with_the_size(small_machine):
    small_machine(10**5)
    with pytest.raises(ValueError, match=r"kernel matrix of shape \(n1, n2\) = \(200, 200\): needs 312 KiB"):
        nngp(np.ones((200, 2)))
    with pytest.raises(ValueError, match=r"ntk: the kernel matrix"):
        TwoLayer(2, 3, 1, rng=0).ntk(np.ones((200, 2)))


def test_extreme_norms_give_finite_kernels_or_a_clear_error():
    tiny, huge, zero = np.array([[1e-300, 0.0]]), np.array([[1e300, 1e300]]), np.zeros((1, 2))
    assert nngp(tiny)[0, 0] == 0.0  # 1e-600 underflows: an honest zero
    assert nngp(huge, activation="erf")[0, 0] == pytest.approx(1.0)  # arcsin(1): sign * sign
    assert ntk_limit(huge, activation="erf")[0, 0] == pytest.approx(1.0)
    for act in ACTS:
        assert np.all(ntk_limit(np.concatenate([zero, tiny]), activation=act) == 0.0)
    with pytest.raises(ValueError, match="float64 range"):
        nngp(huge)
    # nearby inputs: the angle is exact, no arccos of a rounded cosine
    x = np.array([[1.0, 0.0], [1.0, 1e-12]])
    # s^2 = 1/2: nngp = s^2 J1(theta) / (2 pi) = 1/4 + O(theta^2), input part 1/4 (1 - theta / pi)
    assert ntk_limit(x)[0, 1] == pytest.approx(0.25 + 0.25 * (1 - 1e-12 / np.pi), rel=1e-15, abs=0)


@pytest.mark.parametrize(
    "call, exc, match",
    [(lambda: nngp(np.ones((2, 2)), activation="gelu"), ValueError, "activation"),
     (lambda: nngp(np.ones((2, 2)), np.ones((2, 3))), ValueError, r"Y must have shape \(n, d\) = \(n, 2\)"),
     (lambda: ntk_limit(np.array([[np.inf, 0.0]])), ValueError, "X contains non-finite"),
     (lambda: nngp(np.ones(3)), ValueError, "X must have shape"),
     (lambda: tanh_quadrature_error(np.ones((2, 2)), kernel="x"), ValueError, "kernel")],
    ids=["activation", "Y-d", "inf", "1-d", "kernel"],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
