"""The closed form at any t: exact charts, bounded chart changes, known eigenbases (issue 10).

Conventions (docs/conventions.md): Oja's subspace flow dW/dt = (I - W W^T) C W,
span W(t) = span(e^{Ct} W0); subspaces compared through projectors or principal angles.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grassdyn import _chart, flows, theory
from grassdyn.grassmann import principal_angles, random_point
from grassdyn.strategies import spectra

NEAR_DEGENERATE = np.array([3.0, 2.5, 2.0, 2.0 - 1e-8, 1.0, 0.5, 0.2, 0.1])
TIMES = np.array([0.0, 1e-3, 1.0, 1e1, 1e3, 1e6, 1e9, 1e15, 1e100, 1e300, np.finfo(np.float64).max])


def mp_echelon_projectors(lam, Q, W0, times, dps=60):
    """Projectors onto span(e^{Ct} W0), C = Q diag(lam) Q^T, in mpmath at ``dps`` digits, any t.

    Independent of the chart algorithm under test: one chart only, the echelon
    chart of the limit (pivots chosen greedily in descending eigenvalue order among
    rows of Y0 = Q^T W0 independent of those above), in which every non-zero entry
    has factor e^{(lam_i - lam_p) t} <= 1. Exact zero rows of Y0 (degenerate starts)
    stay exact zeros in mpmath. Starts with non-zero rows dependent on rows above
    are not supported (their echelon entries are exact zeros only symbolically).
    """
    lam = [mp.mpf(float(x)) for x in lam]
    with mp.workdps(dps):
        Qm = mp.matrix(Q.tolist())
        Y0 = Qm.T * mp.matrix(W0.tolist())
        d, h = Y0.rows, Y0.cols
        order = sorted(range(d), key=lambda i: (-lam[i], i))
        piv = []
        for i in order:
            rows = [*piv, i]
            A = mp.matrix([[Y0[r, c] for c in range(h)] for r in rows])
            if len(rows) <= h and mp.sqrt(mp.det(A * A.T)) > mp.mpf(10) ** (-dps // 2):
                piv.append(i)
            if len(piv) == h:
                break
        assert len(piv) == h
        YS = mp.matrix([[Y0[r, c] for c in range(h)] for r in piv])
        X = Y0 * mp.inverse(YS)
        for i in range(d):
            for j in range(h):
                ok = X[i, j] == 0 or lam[i] <= lam[piv[j]] or mp.fabs(X[i, j]) < mp.mpf(10) ** (-dps // 2)
                assert ok, "start not supported by the reference"
        out = []
        for t in times:
            tt = mp.mpf(float(t))
            Z = mp.matrix(d, h)
            for i in range(d):
                for j in range(h):
                    if X[i, j] != 0 and lam[i] <= lam[piv[j]]:
                        Z[i, j] = X[i, j] * mp.exp((lam[i] - lam[piv[j]]) * tt)
            P = Qm * Z * mp.inverse(Z.T * Z) * Z.T * Qm.T
            out.append(np.array(P.tolist(), dtype=float))
    return np.array(out)


def _frame(rng, d, h, zero_rows=()):
    keep = [i for i in range(d) if i not in zero_rows]
    W = np.zeros((d, h))
    W[keep] = np.linalg.qr(rng.standard_normal((len(keep), h)))[0]
    return W


def _cases():
    rng = np.random.default_rng(20261201)
    tie = np.array([3.0, 2.0, 2.0, 2.0, 1.0, 0.5, 0.0, -1.0])
    R = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    return [
        pytest.param(NEAR_DEGENERATE, None, _frame(rng, 8, 3), id="near-degenerate-generic"),
        pytest.param(NEAR_DEGENERATE, None, _frame(rng, 8, 3, zero_rows=(0, 2)), id="near-deg-no-top"),
        pytest.param(NEAR_DEGENERATE, None, _frame(rng, 8, 3, zero_rows=(0, 1, 2)), id="near-deg-at-h"),
        pytest.param(tie, None, _frame(rng, 8, 3), id="exact-tie-across-h"),
        pytest.param(tie, None, _frame(rng, 8, 2, zero_rows=(0,)), id="exact-tie-no-top"),
        pytest.param(NEAR_DEGENERATE, R, _frame(rng, 8, 3), id="rotated-with-eig"),
    ]


@pytest.mark.parametrize(("lam", "R", "W0"), _cases())
def test_projector_error_below_1e12_for_every_t_up_to_1e300(lam, R, W0):
    Q = np.eye(lam.size) if R is None else R
    C = (Q * lam) @ Q.T
    eig = None if R is None else (lam, Q)
    W0 = Q @ W0
    P = flows.projector_closed_form(None if R is not None else np.diag(lam), W0, TIMES, eig=eig)
    ref = mp_echelon_projectors(lam, Q, W0, TIMES)
    err = np.max(np.abs(P - ref), axis=(-2, -1))
    assert np.all(err <= 1e-12), dict(zip(TIMES.tolist(), err.tolist(), strict=True))
    if R is not None:  # the same with C given too: the decomposition is checked, not recomputed
        P2 = flows.projector_closed_form((C + C.T) / 2, W0, TIMES, eig=eig)
        assert np.max(np.abs(P2 - ref)) <= 1e-12


def test_echelon_reference_agrees_with_the_direct_high_precision_reference():
    # the reference above against e^{Lambda t} Y0 orthonormalised at enough digits
    rng = np.random.default_rng(3)
    lam = np.array([2.0, 1.5, 1.0, -0.5, -1.0])
    W0 = _frame(rng, 5, 2)
    times = [0.0, 0.7, 20.0]
    with mp.workdps(80):
        direct = []
        for t in times:
            Z = mp.diag([mp.exp(mp.mpf(x) * t) for x in lam]) * mp.matrix(W0.tolist())
            Qz, _ = mp.qr(Z, mode="skinny")
            direct.append(np.array((Qz * Qz.T).tolist(), dtype=float))
    np.testing.assert_allclose(mp_echelon_projectors(lam, np.eye(5), W0, times), direct, atol=1e-15)


def test_cost_and_chart_changes_do_not_grow_with_t():
    W0 = _frame(np.random.default_rng(0), 8, 3)
    C = np.diag(NEAR_DEGENERATE)
    counts = {t: flows.grassmann_closed_form(C, W0, [0.0, t]).stats["chart_changes"] for t in TIMES[1:]}
    # events happen at finite times set by the spectrum; past the last one nothing changes
    assert counts[1e300] == counts[1e9] <= math.comb(8, 3) - 1


def test_inf_time_is_rejected_naming_t():
    with pytest.raises(ValueError, match="t"):
        flows.grassmann_closed_form(np.diag([1.0, 0.0]), np.eye(2)[:, :1], [0.0, math.inf])


@st.composite
def chart_problems(draw):
    d = draw(st.integers(2, 7))
    h = draw(st.integers(1, d - 1))
    repeated = draw(st.booleans())
    lam = draw(spectra(d, repeated=repeated and d >= 2, min_value=-3.0, max_value=3.0))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # graded rows make the dominant chart change often: components of size 10^-k
    W = rng.standard_normal((d, h)) * 10.0 ** -rng.integers(0, 8, size=(d, 1))
    W0 = np.linalg.qr(W)[0]
    return lam, W0


@given(chart_problems())
@settings(max_examples=40)
def test_pivot_eigenvalue_sum_strictly_increases_at_every_chart_change(problem):
    # the theorem behind the t-independent bound (grassdyn/_chart.py)
    lam, W0 = problem
    charts, _ = _chart.charts(lam, W0, math.inf)
    sums = [float(np.sum(lam[c.piv])) for c in charts]
    assert all(b > a for a, b in itertools.pairwise(sums))
    assert len(charts) - 1 <= math.comb(*W0.shape) - 1
    assert math.isinf(charts[-1].end)
    for c in charts:  # every chart starts dominant: entries at most 1 + DELTA
        assert np.max(np.abs(c.Z)) <= 1.0 + _chart.DELTA + 1e-12


@given(chart_problems(), st.floats(0.0, 5.0))
@settings(max_examples=30)
def test_charts_span_the_flow(problem, t1):
    # every chart at every time spans e^{Lambda t} W0 (checked where that is computable)
    lam, W0 = problem
    t = np.array([0.0, t1 / 4, t1 / 2, t1])
    traj = flows.grassmann_closed_form(np.diag(lam), W0, t)
    Y = np.exp(lam[None, :, None] * (t[:, None, None] / 8)) * W0  # a shorter horizon, same rows
    ref = flows.grassmann_closed_form(np.diag(lam), np.linalg.qr(Y[-1])[0], t * 7 / 8)
    # span(e^{L t} W0) = span(e^{L 7t/8} e^{L t/8} W0)
    assert np.max(principal_angles(traj.W[-1], ref.W[-1], check=False)) < 1e-8


# -- exact eigenbasis input ----------------------------------------------------------------------
def test_eig_keeps_degeneracies_exact_in_a_rotated_basis():
    # a Hadamard basis is exactly orthogonal in float64, so R^T W0 is exact
    R = 0.5 * np.array([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    lam = np.array([3.0, 2.0, 2.0, 1.0])
    C = (R * lam) @ R.T
    W0 = R[:, [1, 3]]  # inside an invariant subspace: a saddle, exactly in the eig basis
    t = [0.0, 1e3, 1e300]
    traj = flows.grassmann_closed_form(C, W0, t, eig=(lam, R))
    assert np.max(principal_angles(traj.W, W0, check=False)) < 1e-14
    # a fresh eigh rounds the basis: the start is then only near the saddle and leaves it
    fresh = flows.grassmann_closed_form(C, W0, t)
    assert np.max(principal_angles(fresh.W[-1], W0, check=False)) > 1.0
    # the eigenspace of the repeated eigenvalue 2 is exact too
    L = flows.limit(None, 3, eig=(lam, R))
    assert np.max(principal_angles(L, R[:, :3], check=False)) < 1e-15
    assert theory.rate(None, 1, eig=(lam, R)) == 1.0
    assert theory.rate(C, 2, eig=(lam, R)) == 0.0


BAD_EIG = [
    pytest.param((np.array([1.0, 2.0]), np.eye(2)), None, "descending", id="ascending"),
    pytest.param((np.array([2.0, 1.0]), np.ones((2, 2))), None, "orthonormal", id="Q-not-orthonormal"),
    pytest.param((np.array([2.0, 1.0, 0.0]), np.eye(2)), None, "shape", id="Q-wrong-shape"),
    pytest.param((np.array([2.0, 1.0]), np.eye(2)), np.diag([1.0, 2.0]), "does not decompose", id="not-C"),
    pytest.param((np.array([2.0, np.nan]), np.eye(2)), None, "non-finite", id="nan"),
    pytest.param(np.eye(2), None, "pair", id="not-a-pair"),
]


@pytest.mark.parametrize(("eig", "C", "match"), BAD_EIG)
def test_bad_eig_raises_naming_eig(eig, C, match):
    W0 = np.eye(2)[:, :1]
    for call in (
        lambda: flows.grassmann_closed_form(C, W0, [1.0], eig=eig),
        lambda: flows.projector_closed_form(C, W0, [1.0], eig=eig),
        lambda: flows.euclidean_closed_form(C, W0, [1.0], eig=eig),
        lambda: flows.limit(C, 1, eig=eig),
        lambda: theory.rate(C, 1, eig=eig),
        lambda: theory.largest_angle(C, W0, [1.0], eig=eig),
    ):
        with pytest.raises((ValueError, TypeError), match="eig") as info:
            call()
        assert match in str(info.value)


def test_no_c_and_no_eig_raises():
    with pytest.raises(ValueError, match="C must be given"):
        flows.grassmann_closed_form(None, np.eye(2)[:, :1], [1.0])


def test_batch_with_different_events_equals_separate_calls():
    C = np.diag(NEAR_DEGENERATE)
    W0 = random_point(8, 3, rng=4, batch=3)
    W0[1] = _frame(np.random.default_rng(5), 8, 3, zero_rows=(0, 1))
    t = np.array([0.0, 2.0, 1e9])
    batch = flows.grassmann_closed_form(C, W0, t, frame="horizontal")
    for b in range(3):
        one = flows.grassmann_closed_form(C, W0[b], t, frame="horizontal")
        np.testing.assert_allclose(batch.W[b], one.W, atol=1e-14)


def test_horizontal_frame_of_one_column_is_the_normalised_flow():
    # h = 1: W(t) = e^{Ct} w0 / ||e^{Ct} w0||, a positive multiple (no sign flip at any chart change)
    C = np.diag([2.0, 1.0, 0.0])
    w0 = -np.array([[1.0], [1e-3], [1.0]]) / np.sqrt(2.000001)
    t = np.array([0.0, 1.0, 5.0, 50.0, 1e300])
    traj = flows.grassmann_closed_form(C, w0, t, frame="horizontal")
    for k, s in enumerate(t[:-1]):
        v = np.exp(np.diag(C) * s)[:, None] * w0
        np.testing.assert_allclose(traj.W[k], v / np.linalg.norm(v), atol=1e-14)
    np.testing.assert_allclose(traj.W[-1], [[-1.0], [0.0], [0.0]], atol=1e-15)


def test_horizontal_frame_is_t_independent_and_settles():
    C = np.diag(NEAR_DEGENERATE)
    W0 = _frame(np.random.default_rng(6), 8, 3)
    a = flows.grassmann_closed_form(C, W0, [0.0, 1e12], frame="horizontal")
    b = flows.grassmann_closed_form(C, W0, [0.0, 1e300], frame="horizontal")
    assert b.stats["rotation_steps"] == a.stats["rotation_steps"]  # M frozen past the last motion
    np.testing.assert_allclose(a.W[1], b.W[1], atol=1e-13)
    P = flows.projector_closed_form(C, W0, [1e300])[0]
    np.testing.assert_allclose(b.W[1] @ b.W[1].T, P, atol=1e-13)
    np.testing.assert_allclose(b.W[0], W0, atol=1e-15)
