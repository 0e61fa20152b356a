"""TwoLayer: closed-form NTK against finite differences over every parameter; bad input, size guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import grassdyn as gd
from grassdyn.width import TwoLayer, network

ACTS = ("relu", "erf", "tanh", "linear")


def naive_ntk(net, X, Y, layers):
    """(1/h) sum_a <df_a(x)/dtheta, df_a(y)/dtheta> from central differences, one parameter at a time."""
    eps = 1e-6

    def jac(Z, which):
        P = getattr(net, which)
        J = np.zeros((Z.shape[0], net.h, P.size))
        for k in range(P.size):
            i = np.unravel_index(k, P.shape)
            old = P[i]
            P[i] = old + eps
            up = net(Z)
            P[i] = old - eps
            down = net(Z)
            P[i] = old
            J[:, :, k] = (up - down) / (2 * eps)
        if which == "W" and net.output == "grassmann":
            # tangent (horizontal) space at W: project the gradient dW by I - W W^T
            G = J.reshape(Z.shape[0], net.h, *P.shape)
            G = G - np.einsum("ik,nakj->naij", net.W @ net.W.T, G)
            J = G.reshape(J.shape)
        return J

    names = {"both": ("U", "W"), "input": ("U",), "output": ("W",)}[layers]
    total = np.zeros((X.shape[0], Y.shape[0]))
    for which in names:
        Jx, Jy = jac(X, which), jac(Y, which)
        total += np.einsum("iap,jap->ij", Jx, Jy) / net.h
    return total


@pytest.mark.parametrize("output", ["free", "grassmann"])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("layers", ["both", "input", "output"])
def test_ntk_matches_finite_differences_over_every_parameter(activation, output, layers):
    rng = np.random.default_rng(3)
    net = TwoLayer(3, 7, 2, activation=activation, output=output, rng=rng)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    assert np.allclose(net.ntk(X, Y, layers=layers), naive_ntk(net, X, Y, layers), rtol=1e-6, atol=1e-8)


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 40), h=st.integers(1, 4), d=st.integers(1, 5),
       activation=st.sampled_from(ACTS), output=st.sampled_from(["free", "grassmann"]))
def test_ntk_is_symmetric_psd_and_splits_into_layers(seed, m, h, d, activation, output):
    h = min(h, m)
    rng = np.random.default_rng(seed)
    net = TwoLayer(d, m, h, activation=activation, output=output, rng=rng)
    X = rng.standard_normal((5, d))
    K = net.ntk(X)
    assert np.allclose(K, K.T, atol=1e-12)
    assert np.linalg.eigvalsh(K).min() >= -1e-10 * max(1.0, np.abs(K).max())
    assert np.allclose(K, net.ntk(X, layers="input") + net.ntk(X, layers="output"), atol=1e-12)
    assert np.allclose(net.ntk(X, X[:2]), K[:, :2], atol=1e-12)


def test_outputs_features_and_chunking_agree(monkeypatch):
    rng = np.random.default_rng(0)
    net = TwoLayer(4, 50, 3, activation="tanh", rng=rng)
    X = rng.standard_normal((6, 4))
    expected = net.features(X) @ net.W
    whole = net.ntk(X)
    monkeypatch.setattr(network, "CHUNK_ELEMENTS", 13)  # many small chunks of hidden units
    assert np.allclose(net(X), expected, atol=1e-13)
    assert np.allclose(net.ntk(X), whole, atol=1e-13)


def test_grassmann_output_layer_is_a_frame_and_its_output_kernel_is_tangent():
    net = TwoLayer(3, 30, 2, output="grassmann", rng=1)
    assert np.max(np.abs(net.W.T @ net.W - np.eye(2))) < 1e-12
    X = np.random.default_rng(2).standard_normal((4, 3))
    Phi = net.features(X)
    assert np.allclose(net.ntk(X, layers="output"), Phi @ (np.eye(30) - net.W @ net.W.T) @ Phi.T, atol=1e-13)


BAD = [
    (dict(d=3, m=4, h=2, activation="gelu"), ValueError, "activation"),
    (dict(d=3, m=4, h=2, output="sphere"), ValueError, "output"),
    (dict(d=3, m=0, h=1), ValueError, "m must be >= 1"),
    (dict(d=3, m=2, h=3), ValueError, "h must be <= m"),
    (dict(d=3, m=2.5, h=1), TypeError, "m must be an integer"),
    (dict(d=0, m=2, h=1), ValueError, "d must be >= 1"),
    (dict(d=3, m=4, h=2, rng="x"), TypeError, "rng"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD, ids=[b[2] for b in BAD])
def test_bad_construction_names_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TwoLayer(**kwargs)


@pytest.mark.parametrize(
    "X, match",
    [(np.ones((3, 2)), r"X must have shape \(n, d\) = \(n, 3\)"),
     (np.full((2, 3), np.nan), "X contains non-finite"),
     (np.ones(3), "X must have shape"), ("abc", "X must be an array")],
    ids=["wrong-d", "nan", "1-d", "string"],
)
def test_bad_inputs_name_the_argument(X, match):
    net = TwoLayer(3, 4, 2, rng=0)
    with pytest.raises((ValueError, TypeError), match=match):
        net(X)
    with pytest.raises((ValueError, TypeError), match=match):
        net.ntk(X)


def test_bad_layers_and_replaced_parameters():
    net = TwoLayer(3, 4, 2, rng=0)
    with pytest.raises(ValueError, match="layers"):
        net.ntk(np.ones((2, 3)), layers="hidden")
    with pytest.raises(ValueError, match="Y must have shape"):
        net.ntk(np.ones((2, 3)), np.ones((2, 4)))
    net.U = np.ones((5, 3))
    with pytest.raises(ValueError, match=r"net\.U must have shape"):
        net(np.ones((2, 3)))


def test_huge_requests_are_refused_with_the_size(small_machine):
    with pytest.raises(ValueError, match=r"TwoLayer\(d, m, h\) = \(16, 10+, 1\): parameters U and W"):
        TwoLayer(16, 10**12, 1)
    net = TwoLayer(3, 1000, 1, rng=0)
    small_machine(10**5)
    with pytest.raises(ValueError, match=r"features\(X\) of shape \(n, m\) = \(100, 1000\): needs 781 KiB"):
        net.features(np.ones((100, 3)))
    assert net(np.ones((100, 3))).shape == (100, 1)  # chunked: needs no n x m array


def test_reachable_as_gd_width():
    assert gd.width.TwoLayer is TwoLayer
