"""The objective protocol, Quadratic, and the Taylor-slope gradient check, on every SSL loss."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassdyn import ssl
from grassdyn.data import AugmentationModel
from grassdyn.objectives import Objective, Quadratic, check_gradient
from grassdyn.strategies import dims, symmetric_matrices


def _model(mean=True):
    d = 6
    mu = np.linspace(-1.0, 1.0, d) if mean else None
    return AugmentationModel(d, content=[3.0, 2.0], style=[1.5, 0.5], rho=0.4, noise=0.3, mean=mu, rng=1)


def _sources():
    model = _model()
    X, Xp, Xn = model.sample_triplets(40, rng=2)
    return [
        pytest.param(model, id="population"),
        pytest.param((X, Xp), id="pairs"),
        pytest.param((X, Xp, Xn), id="triplets"),
    ]


LOSSES = [ssl.alignment, ssl.contrastive, ssl.spectral_contrastive]


class _WrongGradient:
    """A quadratic objective whose egrad is off by a factor: the check must catch it."""

    def __init__(self, C, factor):
        self.inner = Quadratic(C)
        self.factor = factor

    def value(self, W):
        return self.inner.value(W)

    def egrad(self, W):
        return self.factor * self.inner.egrad(W)


@given(symmetric_matrices(st.integers(2, 6)), st.integers(0, 2**32 - 1))
def test_quadratic_value_and_gradient(C, seed):
    d = C.shape[0]
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, 2))
    L = Quadratic(C, const=1.5)
    assert L.value(W) == pytest.approx(-0.5 * np.trace(W.T @ C @ W) + 1.5, abs=1e-12)
    np.testing.assert_allclose(L.egrad(W), -C @ W, atol=1e-12)
    assert check_gradient(L, W, rng=rng).passed


@pytest.mark.parametrize("make", LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("source", _sources())
def test_every_ssl_loss_passes_the_gradient_check(make, source):
    loss = make(source)
    assert isinstance(loss, Objective)
    W = np.random.default_rng(3).standard_normal((loss.d, 3))
    result = check_gradient(loss, W, rng=4)
    # the remainder is above round-off (not the linear-function branch) and O(s^2)
    assert result.passed, result
    assert result.slope == pytest.approx(2.0, abs=0.1)


@given(symmetric_matrices(st.integers(2, 6)).filter(lambda C: np.max(np.abs(C)) > 0.1),
       st.sampled_from([0.5, -1.0, 2.0]), st.integers(0, 2**32 - 1))
def test_a_wrong_gradient_fails_with_slope_one(C, factor, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((C.shape[0], 2))
    G = -C @ W  # the true gradient: the perturbation is along it so the error term is not zero
    result = check_gradient(_WrongGradient(C, factor), W, direction=G + 1e-3 * rng.standard_normal(G.shape))
    assert not result.passed
    assert result.slope == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("curvature", [1e-6, 1e-3, 1.0, 1e3])
def test_gradient_check_resolves_small_and_large_curvature(curvature):
    # a correct gradient passes whatever the scale of the curvature against the constant
    L = Quadratic(curvature * np.diag([2.0, 1.0, -1.0]), const=1.5)
    result = check_gradient(L, np.eye(3)[:, :2], rng=0)
    assert result.status == "passed" and result.slope == pytest.approx(2.0, abs=0.1)


def test_gradient_check_is_inconclusive_when_the_remainder_barely_shows():
    # the remainder 2e-12 s^2 rises above the round-off level 1e3 eps |f| ~ 2.2e-13 only at the
    # two largest steps (s = 1 and 10^(-1/3)), too few to fit a slope
    L = Quadratic(np.diag([4e-12, 0.0]), const=1.0)
    result = check_gradient(L, np.eye(2)[:, :1], direction=np.array([[1.0], [0.0]]))
    assert result.status == "inconclusive" and not result.passed


def test_gradient_check_on_a_linear_function_sees_only_round_off():
    class Linear:
        def value(self, W):
            return float(np.sum(W))

        def egrad(self, W):
            return np.ones_like(W)

    result = check_gradient(Linear(), np.ones((3, 2)), rng=0)
    assert result.passed and np.isnan(result.slope)


def test_quadratic_batches_and_validates():
    C = np.diag([2.0, 1.0, 0.0])
    W = np.stack([np.eye(3)[:, :2], np.eye(3)[:, 1:]])
    np.testing.assert_allclose(Quadratic(C).value(W), [-1.5, -0.5])
    with pytest.raises(ValueError, match="W must have d = 3"):
        Quadratic(C).egrad(np.ones((4, 1)))
    with pytest.raises(ValueError, match="C must be symmetric"):
        Quadratic([[1.0, 2.0], [0.0, 1.0]])


@given(dims(min_d=2, max_d=5))
def test_gradient_check_rejects_bad_arguments(dh):
    d, h = dh
    L = Quadratic(np.eye(d))
    with pytest.raises(ValueError, match="direction"):
        check_gradient(L, np.ones((d, h)), direction=np.ones((d + 1, h)))
    with pytest.raises(ValueError, match="single frame"):
        check_gradient(L, np.ones((2, d, h)))
