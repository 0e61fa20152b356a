"""Random features on the Grassmannian: the sample-space flow against the explicit m-dim closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import grassdyn as gd
from grassdyn.strategies import stiefel_frames
from grassdyn.width import TwoLayer
from grassdyn.width import random_features as rf

TIMES = [0.0, 0.3, 1.0, 4.0, 30.0, 1e3]


def explicit(net, X, Xp, Xn, loss, times):
    """The m-dimensional closed form of grassdyn.flows on the generator of grassdyn.ssl on the features."""
    feats = tuple(net.features(V) for V in (X, Xp, Xn) if V is not None)
    make = gd.ssl.alignment if loss == "alignment" else gd.ssl.contrastive
    return gd.flows.grassmann_closed_form(make(feats).C, net.W, times)


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(2, 40), h=st.integers(1, 3), n=st.integers(2, 7),
       case=st.sampled_from(["alignment", "contrastive-in-batch", "contrastive-negatives"]),
       activation=st.sampled_from(["relu", "erf", "tanh", "linear"]), data=st.data())
def test_sample_space_flow_is_the_m_dimensional_closed_form(seed, m, h, n, case, activation, data):
    h = min(h, m)
    rng = np.random.default_rng(seed)
    d = 3
    X = rng.standard_normal((n, d))
    Xp = X + 0.5 * rng.standard_normal((n, d))
    Xn = rng.standard_normal((n, d)) if case == "contrastive-negatives" else None
    loss = "alignment" if case == "alignment" else "contrastive"
    net = TwoLayer(d, m, h, activation=activation, output="grassmann", rng=rng)
    net.W = data.draw(stiefel_frames(m, h))  # any initial point of Gr(m, h)
    probe = rng.standard_normal((5, d))
    flow = rf.random_features_flow(net, X, Xp, TIMES, Xn=Xn, loss=loss, probe=probe, frames=True)
    exact = explicit(net, X, Xp, Xn, loss, TIMES)
    assert flow.W.shape == exact.W.shape
    # the documented accuracy: 1e-10, or eps * cond(K) for ill-conditioned features (tanh at m ~ r)
    tol = max(1e-10, 1e-14 * flow.stats["condition"])
    assert np.max(np.abs(np.swapaxes(flow.W, 1, 2) @ flow.W - np.eye(h))) < tol
    assert gd.grassmann.principal_angles(flow.W, exact.W).max() < tol
    assert np.allclose(flow.F, net.features(probe) @ flow.W, atol=1e-12)


@pytest.mark.parametrize("m", [5, 12, 200])  # fewer units than samples, about as many, more
def test_probe_representations_match_the_closed_form_at_small_width(m):
    rng = np.random.default_rng(m)
    X = rng.standard_normal((6, 4))
    Xp = X + 0.3 * rng.standard_normal((6, 4))
    net = TwoLayer(4, m, 2, output="grassmann", rng=rng)
    flow = rf.random_features_flow(net, X, Xp, TIMES)  # probe defaults to X
    exact = explicit(net, X, Xp, None, "alignment", TIMES)
    F_exact = net.features(X) @ exact.W
    theirs = rf.RepresentationFlow(t=exact.t, F=F_exact, spectrum=flow.spectrum, method="explicit")
    assert flow.distance_to(theirs).max() < 1e-10
    # the sample-space spectrum is the non-zero spectrum of the m x m generator
    C = gd.ssl.alignment((net.features(X), net.features(Xp))).C
    lam = np.linalg.eigvalsh(C)
    big = np.sort(lam[np.abs(lam) > 1e-12 * np.abs(lam).max()])[::-1]
    assert np.allclose(np.sort(flow.spectrum[np.abs(flow.spectrum) > 1e-12 * np.abs(lam).max()])[::-1], big,
                       atol=1e-12)


def test_infinite_width_flow_converges_to_kernel_pca_and_finite_width_approaches_it():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((12, 5))
    Xp = X + 0.3 * rng.standard_normal((12, 5))
    t = [0.0, 1.0, 3000.0]
    distances = []
    for m in (400, 40_000):
        net = TwoLayer(5, m, 2, output="grassmann", rng=m)
        finite = rf.random_features_flow(net, X, Xp, t, loss="contrastive")
        infinite = rf.infinite_width_flow(net, X, Xp, t, loss="contrastive")
        assert infinite.distance_to(finite)[0] < 1e-12  # the same initial representation
        limit = rf.infinite_width_limit(X, Xp, 2, loss="contrastive")
        assert infinite.distance_to(limit)[-1] < 1e-8
        distances.append(finite.distance_to(infinite)[1:])
    ratio = distances[0] / distances[1]  # 100 times the width: Monte Carlo error / 10
    assert np.all((ratio > 3) & (ratio < 30)), ratio


def test_chunking_over_hidden_units_changes_nothing(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    net = TwoLayer(3, 5000, 2, output="grassmann", rng=0)
    whole = rf.random_features_flow(net, X, X + 0.1, [0.0, 1.0, 10.0])
    monkeypatch.setattr(rf, "CHUNK_ELEMENTS", 97)  # chunks of 9 units
    chunked = rf.random_features_flow(net, X, X + 0.1, [0.0, 1.0, 10.0])
    assert chunked.distance_to(whole).max() < 1e-12


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda net, X: rf.random_features_flow(TwoLayer(3, 10, 2, rng=0), X, X, [1.0]), ValueError,
         "output='grassmann'"),
        (lambda net, X: rf.infinite_width_flow(TwoLayer(3, 10, 2, rng=0), X, X, [1.0]), ValueError,
         "output='grassmann'"),
        (lambda net, X: rf.random_features_flow("net", X, X, [1.0]), TypeError, "net must be"),
        (lambda net, X: rf.random_features_flow(net, X, X, [1.0], probe=np.ones((3, 4))), ValueError,
         "probe must have shape"),
        (lambda net, X: rf.random_features_flow(net, X, X[:3], [1.0]), ValueError, "Xp must have the shape"),
        (lambda net, X: rf.random_features_flow(net, X, X, [1.0], loss="infonce"), ValueError, "loss"),
        (lambda net, X: rf.random_features_flow(net, X, X, [-1.0]), ValueError, "times must be >= 0"),
        (lambda net, X: rf.random_features_flow(net, X * np.nan, X, [1.0]), ValueError,
         "X contains non-finite"),
        (lambda net, X: rf.infinite_width_limit(X, X, 0), ValueError, "h must be >= 1"),
    ],
    ids=["free-output", "free-output-infinite", "not-a-net", "probe-d", "Xp-shape", "loss", "times", "nan",
         "h"],
)
def test_bad_input_names_the_argument(call, exc, match):
    net = TwoLayer(3, 10, 2, output="grassmann", rng=0)
    X = np.random.default_rng(1).standard_normal((4, 3))
    with pytest.raises(exc, match=match):
        call(net, X)


def test_a_non_orthonormal_output_layer_is_refused():
    net = TwoLayer(3, 10, 2, output="grassmann", rng=0)
    net.W = 2 * net.W
    X = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"net\.W must have orthonormal columns"):
        rf.random_features_flow(net, X, X, [0.0])


def test_frames_too_large_are_refused(small_machine):
    net = TwoLayer(3, 1000, 2, output="grassmann", rng=0)
    X = np.random.default_rng(1).standard_normal((4, 3))
    small_machine(10**4)
    with pytest.raises(ValueError, match="frames=True"):
        rf.random_features_flow(net, X, X, [0.0, 1.0], frames=True)
