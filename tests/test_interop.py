"""grassdyn against geomstats: same points, same geodesics, distances scaled by sqrt(2)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grassdyn import grassmann as gm
from grassdyn import interop
from grassdyn.strategies import dims, stiefel_frames, tangent_vectors

# geomstats computes exp and log through expm / logm of d x d matrices, accurate to ~1e-12
# on these sizes; grassdyn's SVD formulas are accurate to ~1e-15.
GEOMSTATS_ATOL = 1e-9


# geomstats rejects Gr(d, d), a single point: min_codim=1.
def point_pairs():
    return dims(min_d=2, max_d=5, min_codim=1).flatmap(
        lambda dh: st.tuples(stiefel_frames(*dh), stiefel_frames(*dh))
    )


def frames_with_tangent():
    return dims(min_d=2, max_d=5, min_codim=1).flatmap(
        lambda dh: stiefel_frames(*dh).flatmap(
            lambda W: st.tuples(st.just(W), tangent_vectors(W, max_norm=1.5))
        )
    )


def test_geomstats_is_not_imported_with_grassdyn():
    code = (
        "import sys, grassdyn, grassdyn.grassmann, grassdyn.interop, grassdyn.strategies;"
        "assert not any(m.split('.')[0] == 'geomstats' for m in sys.modules), 'geomstats imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_distance_scale_is_sqrt_two():
    assert interop.geomstats_distance_scale == np.sqrt(2.0)
    W, U = gm.random_point(6, 2, rng=0), gm.random_point(6, 2, rng=1)
    M = interop.grassmannian(6, 2)
    d_gs = M.metric.dist(interop.to_geomstats(W), interop.to_geomstats(U))
    assert abs(d_gs / gm.distance(W, U) - interop.geomstats_distance_scale) < 1e-10


def test_quarter_turn_toward_e3_in_geomstats():
    """span{e1, e2} moved by a quarter turn of e1 toward e3 is span{e2, e3}, in both libraries."""
    e = np.eye(3)
    W = e[:, :2]
    V = np.zeros((3, 2))
    V[:, 0] = np.pi / 2 * e[:, 2]
    target = interop.to_geomstats(e[:, 1:])
    P1 = interop.grassmannian(3, 2).metric.exp(interop.tangent_to_geomstats(W, V), interop.to_geomstats(W))
    assert np.max(np.abs(P1 - target)) < 1e-12
    assert np.max(np.abs(interop.to_geomstats(gm.exp(W, V)) - target)) < 1e-15
    assert gm.distance(interop.from_geomstats(P1), e[:, 1:]) < 1e-12


@settings(max_examples=10)
@given(point_pairs())
def test_distance_and_log_agree_with_geomstats(WU):
    W, U = WU
    # geomstats's log is a matrix logarithm of (2P' - I)(2P - I), whose eigenvalue -1 at the cut
    # locus (an angle of pi/2) makes it undefined (complex output); compare strictly inside.
    assume(gm.principal_angles(W, U)[-1] < np.pi / 2 - 1e-2)
    d, h = W.shape
    M = interop.grassmannian(d, h)
    P, Pu = interop.to_geomstats(W), interop.to_geomstats(U)
    assert abs(M.metric.dist(P, Pu) - interop.geomstats_distance_scale * gm.distance(W, U)) < GEOMSTATS_ATOL
    Delta = M.metric.log(Pu, P)
    assert np.max(np.abs(interop.tangent_from_geomstats(W, Delta) - gm.log(W, U))) < GEOMSTATS_ATOL


@settings(max_examples=10)
@given(frames_with_tangent())
def test_exp_and_norm_agree_with_geomstats(WV):
    W, V = WV
    d, h = W.shape
    M = interop.grassmannian(d, h)
    Delta = interop.tangent_to_geomstats(W, V)
    P = interop.to_geomstats(W)
    assert abs(M.metric.norm(Delta, P) - interop.geomstats_distance_scale * np.linalg.norm(V)) < 1e-12
    assert np.max(np.abs(M.metric.exp(Delta, P) - interop.to_geomstats(gm.exp(W, V)))) < GEOMSTATS_ATOL


@given(frames_with_tangent())
def test_conversions_round_trip(WV):
    W, V = WV
    P = interop.to_geomstats(W)
    assert np.array_equal(P, P.T)
    assert gm.distance(interop.from_geomstats(P), W) < 1e-12
    Delta = interop.tangent_to_geomstats(W, V)
    assert np.max(np.abs(interop.tangent_from_geomstats(W, Delta) - V)) < 1e-14
    # The representation change scales norms by exactly sqrt(2).
    assert abs(np.linalg.norm(Delta) - interop.geomstats_distance_scale * np.linalg.norm(V)) < 1e-13


def test_batched_conversions():
    W = gm.random_point(5, 2, rng=3, batch=4)
    P = interop.to_geomstats(W)
    assert P.shape == (4, 5, 5)
    assert np.all(gm.distance(interop.from_geomstats(P), W) < 1e-12)


@pytest.mark.parametrize(
    ("error", "match"),
    [
        pytest.param(ModuleNotFoundError("No module named 'geomstats'", name="geomstats"),
                     r"geomstats is not installed.*grassdyn\[geomstats\]", id="missing"),
        pytest.param(AttributeError("module 'numpy' has no attribute 'trapz'"),
                     r"removed numpy\.trapz.*grassdyn\[geomstats\]", id="numpy-2.4-attribute"),
        pytest.param(ImportError("cannot import name 'trapz' from 'numpy'"),
                     r"removed numpy\.trapz.*numpy below 2\.4", id="numpy-2.4-import"),
        pytest.param(ImportError("libfoo.so: cannot open shared object"),
                     r"geomstats failed to import.*libfoo", id="other-import-error"),
    ],
)
def test_import_failures_are_explained(monkeypatch, error, match):
    def fail(name):
        raise error

    monkeypatch.setattr(interop.importlib, "import_module", fail)
    with pytest.raises(ImportError, match=match):
        interop.grassmannian(4, 2)


def test_numpy_backend_is_selected_when_unset(monkeypatch):
    monkeypatch.delenv("GEOMSTATS_BACKEND", raising=False)
    monkeypatch.setattr(interop.importlib, "import_module", lambda name: None)
    interop._import_geomstats_grassmannian()
    assert os.environ["GEOMSTATS_BACKEND"] == "numpy"


def test_benchmark_runs_in_quick_mode():
    """benchmarks/geometry.py --quick: a smoke run (no timing is asserted)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, os.path.join(root, "benchmarks", "geometry.py"), "--quick"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Single pair" in out and "Batched" in out
    for op in ("distance", "exp", "log"):
        assert op in out
