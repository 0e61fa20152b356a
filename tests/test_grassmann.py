"""Theorems of Grassmannian geometry, checked as hypothesis properties and on exact hand-derived cases.

Conventions (docs/conventions.md): frames W (d, h) with W^T W = I; tangent vectors W^T V = 0; metric
tr(V1^T V2); geodesic distance ||theta||_2 over principal angles theta.
"""

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grassdyn import grassmann as gm
from grassdyn.strategies import dims, stiefel_frames, tangent_vectors

# Orthonormality that exact-arithmetic formulas keep up to rounding in float64.
ON_MANIFOLD = 1e-13


def _mT(A):
    return np.swapaxes(A, -1, -2)


def _defect(W):
    return float(np.max(np.abs(_mT(W) @ W - np.eye(W.shape[-1]))))


def point_pairs(max_d=7, **kw):
    return dims(max_d=max_d, **kw).flatmap(lambda dh: st.tuples(stiefel_frames(*dh), stiefel_frames(*dh)))


def point_triples(max_d=6):
    return dims(max_d=max_d).flatmap(lambda dh: st.tuples(*(stiefel_frames(*dh) for _ in range(3))))


def frames_with_tangent(max_norm=2.0, min_d=2, **kw):
    """(W, V): a frame and a tangent vector at it, ``||V||_F <= max_norm``."""
    return dims(min_d=min_d, max_d=7, **kw).flatmap(
        lambda dh: stiefel_frames(*dh).flatmap(
            lambda W: st.tuples(st.just(W), tangent_vectors(W, max_norm=max_norm))
        )
    )


def _rotation(h, rng):
    return gm.random_point(h, h, rng)


# ------------------------------------------------------------ on the manifold


def test_random_point_is_on_the_manifold_with_batch_and_seed():
    W = gm.random_point(7, 3, rng=5, batch=(4, 2))
    assert W.shape == (4, 2, 7, 3)
    assert _defect(W) < ON_MANIFOLD
    assert np.array_equal(W, gm.random_point(7, 3, rng=5, batch=(4, 2)))
    assert gm.random_point(7, 3, rng=0, batch=5).shape == (5, 7, 3)


def test_random_point_is_haar_uniform_in_second_moment():
    """For span(W) uniform on Gr(d, h), E[W W^T] = (h/d) I by rotation invariance.

    Entries of W W^T are bounded by 1, so the standard error of each mean is below
    1/sqrt(n); 5 standard errors is the tolerance.
    """
    n, d, h = 4000, 5, 2
    P = np.mean(gm.projector(gm.random_point(d, h, rng=1, batch=n)), axis=0)
    assert np.max(np.abs(P - h / d * np.eye(d))) < 5 / np.sqrt(n)


@given(frames_with_tangent(max_norm=10.0))
def test_exp_and_geodesic_stay_on_the_manifold(WV):
    # Norms up to 10 wrap around the cut locus several times: the frame must stay orthonormal.
    W, V = WV
    assert _defect(gm.exp(W, V)) < ON_MANIFOLD
    assert _defect(gm.geodesic(W, V, np.linspace(0.0, 3.0, 7))) < ON_MANIFOLD


@pytest.mark.parametrize("method", ["qr", "polar", "exp"])
@given(WV=frames_with_tangent(max_norm=10.0))
def test_retractions_stay_on_the_manifold(method, WV):
    W, V = WV
    assert _defect(gm.retract(W, V, method)) < ON_MANIFOLD


def test_qr_retraction_has_positive_diagonal():
    rng = np.random.default_rng(2)
    W = gm.random_point(6, 3, rng)
    V = gm.project_tangent(W, rng.standard_normal((6, 3)))
    W1 = gm.retract(W, V, "qr")
    R = _mT(W1) @ (W + V)
    assert np.allclose(np.tril(R, -1), 0.0, atol=1e-13)
    assert np.all(np.diag(R) > 0)


# -------------------------------------------------------------- exp and log


@given(point_pairs())
def test_exp_of_log_is_the_identity(UW):
    W, U = UW
    V = gm.log(W, U)
    assert np.max(np.abs(_mT(W) @ V)) < 1e-13
    assert gm.distance(gm.exp(W, V), U) < 1e-10


@given(frames_with_tangent(max_norm=1.55))
def test_log_of_exp_is_the_identity_inside_the_injectivity_radius(WV):
    # ||V||_F < pi/2 bounds the largest singular value (the largest angle) below pi/2.
    W, V = WV
    assert np.max(np.abs(gm.log(W, gm.exp(W, V)) - V)) < 1e-10


@given(point_pairs())
def test_distance_equals_norm_of_log(UW):
    W, U = UW
    assert abs(gm.norm(W, gm.log(W, U)) - gm.distance(W, U)) < 1e-12


@given(frames_with_tangent(max_norm=1.5))
def test_geodesic_matches_exp_and_has_constant_speed(WV):
    W, V = WV
    t = np.array([0.0, 0.25, 0.5, 1.0])
    G = gm.geodesic(W, V, t)
    for i, ti in enumerate(t):
        assert np.max(np.abs(G[i] - gm.exp(W, ti * V))) < 1e-13
        # Inside the injectivity radius the geodesic is minimising: d(W, exp(tV)) = t ||V||.
        assert abs(gm.distance(W, G[i]) - ti * np.linalg.norm(V)) < 1e-10


def _exp_reference(W, V):
    """[EAS98, Thm 2.3] through a thin SVD: W Z cos(S) Z^T + Q sin(S) Z^T."""
    Q, s, Zt = np.linalg.svd(V, full_matrices=False)
    return (W @ Zt.T * np.cos(s)) @ Zt + (Q * np.sin(s)) @ Zt


@given(frames_with_tangent(max_norm=6.0))
def test_exp_matches_the_svd_formula_on_both_paths(WV):
    """exp uses a Gram-matrix formula up to ||V||_2 = GRAM_MAX_ANGLE and the SVD beyond; both agree
    with the textbook formula, and geodesic (which picks one path for all t) agrees with exp."""
    W, V = WV
    assert np.max(np.abs(gm.exp(W, V) - _exp_reference(W, V))) < 1e-13
    t = np.array([0.2, 0.7, 1.0])
    G = gm.geodesic(W, V, t)
    for i, ti in enumerate(t):
        assert np.max(np.abs(G[i] - gm.exp(W, ti * V))) < 1e-13


def test_exp_is_continuous_across_the_gram_threshold():
    rng = np.random.default_rng(9)
    W = gm.random_point(6, 2, rng)
    V = gm.project_tangent(W, rng.standard_normal((6, 2)))
    V /= np.linalg.norm(V, 2)
    below, above = gm.exp(W, (gm.GRAM_MAX_ANGLE - 1e-9) * V), gm.exp(W, (gm.GRAM_MAX_ANGLE + 1e-9) * V)
    assert np.max(np.abs(below - above)) < 1e-8


def test_exp_of_a_tiny_vector_is_first_order_exact():
    rng = np.random.default_rng(10)
    W = gm.random_point(7, 3, rng)
    V = gm.project_tangent(W, rng.standard_normal((7, 3)))
    eps = 1e-8
    # exp(W, eps V) = W + eps V + O(eps^2); rounding of W's O(1) entries limits this to ~1e-16 / eps.
    assert np.max(np.abs((gm.exp(W, eps * V) - W) / eps - V)) < 1e-6


def test_quarter_turn_toward_e3():
    """span{e1, e2} moved by a quarter turn of e1 toward e3 is span{e2, e3}."""
    e = np.eye(3)
    V = np.zeros((3, 2))
    V[:, 0] = np.pi / 2 * e[:, 2]
    W1 = gm.exp(e[:, :2], V)
    assert gm.distance(W1, e[:, 1:]) < 1e-15
    assert np.allclose(W1, e[:, [2, 1]], atol=1e-15)


def test_log_at_the_cut_locus_points_to_the_aligned_columns():
    """At an angle of exactly pi/2 the log is not unique; documented choice: the aligned columns of U."""
    e = np.eye(3)
    for sign in (1.0, -1.0):
        U = sign * e[:, 1:2]
        V = gm.log(e[:, :1], U)
        assert np.allclose(V, np.pi / 2 * U, atol=1e-15)
    # Mixed case: one angle pi/2 and one 0.3; exp(log) still reaches span(U) at distance ||theta||.
    e = np.eye(4)
    W = e[:, :2]
    U = np.stack([e[:, 2], np.cos(0.3) * e[:, 1] + np.sin(0.3) * e[:, 3]], axis=1)
    V = gm.log(W, U)
    assert abs(gm.norm(W, V) - np.hypot(np.pi / 2, 0.3)) < 1e-14
    assert gm.distance(gm.exp(W, V), U) < 1e-14


# ------------------------------------------------------------------- metric


@given(point_pairs())
def test_distance_is_symmetric_and_invariant(UW):
    U, W = UW
    d, h = U.shape
    rng = np.random.default_rng(0)
    R = _rotation(h, rng)
    Q = _rotation(d, rng)
    dist = gm.distance(U, W)
    assert abs(gm.distance(W, U) - dist) < 1e-13
    assert abs(gm.distance(U @ R, W) - dist) < 1e-13
    assert abs(gm.distance(Q @ U, Q @ W) - dist) < 1e-13


@given(dims(max_d=7, max_h=3).flatmap(lambda dh: stiefel_frames(*dh)))
def test_distance_identity(W):
    R = _rotation(W.shape[1], np.random.default_rng(1))
    assert gm.distance(W, W @ R) < 1e-14
    assert np.all(gm.principal_angles(W, W @ R) < 1e-14)


@given(point_triples())
def test_triangle_inequality(ABC):
    A, B, C = ABC
    for metric in ("geodesic", "chordal", "projector"):
        dist = lambda X, Y, m=metric: float(gm.distance(X, Y, m))  # noqa: E731
        assert dist(A, C) <= dist(A, B) + dist(B, C) + 1e-12


@given(point_pairs())
def test_chordal_and_projector_distances(UW):
    U, W = UW
    theta = gm.principal_angles(U, W)
    assert abs(gm.distance(U, W, "chordal") - np.linalg.norm(np.sin(theta))) < 1e-14
    direct = np.linalg.norm(gm.projector(U) - gm.projector(W))
    assert abs(gm.distance(U, W, "projector") - direct) < 1e-13


def test_distances_of_a_rotated_line():
    a = 0.7
    U = np.array([[1.0], [0.0]])
    W = np.array([[np.cos(a)], [np.sin(a)]])
    assert abs(gm.distance(U, W) - a) < 1e-15
    assert abs(gm.distance(U, W, "chordal") - np.sin(a)) < 1e-15
    assert abs(gm.distance(U, W, "projector") - np.sqrt(2) * np.sin(a)) < 1e-15


# --------------------------------------------------------- principal angles


@given(dims(max_d=7).flatmap(lambda dh: st.tuples(stiefel_frames(dh[0], dh[1]), stiefel_frames(*dh))))
def test_principal_angles_ascending_in_range(UW):
    theta = gm.principal_angles(*UW)
    assert np.all(np.diff(theta) >= 0)
    assert np.all((theta >= 0) & (theta <= np.pi / 2))


def _mp_angles(U, V):
    """Principal angles of the subspaces spanned by the float64 inputs, in 40-digit arithmetic."""
    mpmath.mp.dps = 40
    bases = []
    for A in (U, V):
        Qm, _ = mpmath.qr(mpmath.matrix(A.tolist()))
        bases.append(Qm[:, : A.shape[1]])
    s = mpmath.svd_r(bases[0].T * bases[1], compute_uv=False)
    return np.sort([float(mpmath.acos(min(si, 1))) for si in s])


@settings(max_examples=10)
@given(
    st.tuples(st.integers(2, 5), st.integers(1, 3), st.integers(1, 3))
    .filter(lambda t: t[1] <= t[0] and t[2] <= t[0])
    .flatmap(lambda t: st.tuples(stiefel_frames(t[0], t[1]), stiefel_frames(t[0], t[2])))
)
def test_principal_angles_match_mpmath(UV):
    U, V = UV
    theta = gm.principal_angles(U, V)
    assert theta.shape == (min(U.shape[1], V.shape[1]),)
    assert np.max(np.abs(theta - _mp_angles(U, V))) < 1e-14


def test_tiny_principal_angle_in_general_position_matches_mpmath():
    """An angle of 1e-9 between randomly rotated frames keeps ~eps/1e-9 relative accuracy."""
    rng = np.random.default_rng(4)
    d, h = 6, 3
    angles = np.array([1e-9, 0.3, 1.2])
    for _ in range(5):
        Q = gm.random_point(d, d, rng)
        U = Q[:, :h]
        V = U * np.cos(angles) + Q[:, h:] * np.sin(angles)
        theta = gm.principal_angles(U, V)
        ref = _mp_angles(U, V)
        assert abs(theta[0] - ref[0]) / ref[0] < 1e-6
        assert abs(theta[0] - 1e-9) / 1e-9 < 1e-6
        assert np.max(np.abs(theta[1:] - angles[1:])) < 1e-14


@pytest.mark.parametrize("angle", [1e-9, 1e-12, 1e-14])
def test_tiny_principal_angles_keep_relative_accuracy(angle):
    """Frames whose columns are exactly representable: arccos of cosines would give 0 here.

    U = [I; 0]; V = U cos(theta) + N sin(theta) with N an orthonormal frame of the complement,
    rotated by a random orthogonal matrix inside the complement, so the sines come from dense
    columns. The relative error then stays at rounding level even for theta = 1e-14.
    """
    d, h = 7, 3
    rng = np.random.default_rng(5)
    theta = angle * np.array([1.0, 3.0, 10.0])
    U = np.eye(d, h)
    N = np.zeros((d, h))
    N[h:] = gm.random_point(d - h, h, rng)
    V = U * np.cos(theta) + N * np.sin(theta)
    got = gm.principal_angles(U, V)
    assert np.max(np.abs(got - theta) / theta) < 1e-6
    assert gm.distance(U, V) > 0


# --------------------------------------------------------------- retractions


@pytest.mark.parametrize("method", ["qr", "polar"])
@settings(max_examples=15)
@given(WV=frames_with_tangent(max_norm=2.0))
def test_retractions_agree_with_exp_to_second_order(method, WV):
    """Both retractions span span(W + V), while exp spans span(W + Q tan(S) Z^T) for V = Q S Z^T,
    so d(retract(W, sV), exp(W, sV)) = s^3 ||S^3||_F / 3 + O(s^5): a fitted log-log slope of 3
    (>= 2 is what a retraction needs) and that leading constant.
    """
    W, V = WV
    sigma = np.linalg.svd(V, compute_uv=False)
    c = np.linalg.norm(sigma**3) / 3
    if c < 1e-3:  # the tangent vector is (nearly) zero: nothing to fit
        assert gm.distance(gm.retract(W, V, method), gm.exp(W, V)) < 1e-9
        return
    s = np.logspace(-3, -1.5, 6) / np.max(sigma)
    err = np.array([gm.distance(gm.retract(W, si * V, method), gm.exp(W, si * V)) for si in s])
    slope = np.polyfit(np.log(s), np.log(err), 1)[0]
    assert slope > 2.9
    assert abs(err[0] / (c * s[0] ** 3) - 1) < 1e-3


def test_exp_retraction_is_exp():
    rng = np.random.default_rng(6)
    W = gm.random_point(5, 2, rng)
    V = gm.project_tangent(W, rng.standard_normal((5, 2)))
    assert np.array_equal(gm.retract(W, V, "exp"), gm.exp(W, V))


# ----------------------------------------------------------------- transport


def tangent_triples(max_norm=2.0):
    return dims(min_d=2, max_d=6).flatmap(
        lambda dh: stiefel_frames(*dh).flatmap(
            lambda W: st.tuples(
                st.just(W),
                tangent_vectors(W, max_norm=max_norm),
                tangent_vectors(W, max_norm=1.0),
                tangent_vectors(W, max_norm=1.0),
            )
        )
    )


@given(tangent_triples())
def test_parallel_transport_is_an_isometry_horizontal_at_the_target(WVXY):
    W, V, X, Y = WVXY
    W1 = gm.exp(W, V)
    TX, TY = gm.transport(W, V, X), gm.transport(W, V, Y)
    assert np.max(np.abs(_mT(W1) @ TX)) < 1e-13
    assert abs(gm.inner(W1, TX, TY) - gm.inner(W, X, Y)) < 1e-13
    assert abs(gm.norm(W1, TX) - gm.norm(W, X)) < 1e-13


@settings(max_examples=15)
@given(frames_with_tangent(max_norm=2.0))
def test_parallel_transport_carries_the_velocity_of_the_geodesic(WV):
    """A geodesic's velocity is parallel: transport(W, V, V) = d/dt exp(W, tV) at t = 1."""
    W, V = WV
    eps = 1e-5
    G = gm.geodesic(W, V, np.array([1.0 - eps, 1.0 + eps]))
    velocity = (G[1] - G[0]) / (2 * eps)
    assert np.max(np.abs(gm.transport(W, V, V) - velocity)) < 1e-8


@given(tangent_triples())
def test_transport_along_zero_is_the_identity(WVXY):
    W, _, X, _ = WVXY
    Z = np.zeros_like(W)
    assert np.max(np.abs(gm.transport(W, Z, X) - X)) < 1e-15
    assert np.max(np.abs(gm.transport(W, Z, X, method="projection") - X)) < 1e-15


@pytest.mark.parametrize("retraction", ["qr", "polar", "exp"])
@given(WVXY=tangent_triples())
def test_projection_transport_is_horizontal_at_the_retraction(retraction, WVXY):
    W, V, X, _ = WVXY
    W1 = gm.retract(W, V, retraction)
    T = gm.transport(W, V, X, method="projection", retraction=retraction)
    assert np.max(np.abs(_mT(W1) @ T)) < 1e-13
    assert np.linalg.norm(T) <= np.linalg.norm(X) + 1e-13


# --------------------------------------------------- tangent space, projectors


@given(frames_with_tangent(max_norm=1.0))
def test_project_tangent_is_an_orthogonal_projection(WV):
    W, V = WV
    G = V + W @ np.arange(W.shape[1] ** 2, dtype=float).reshape(W.shape[1], -1)
    P1 = gm.project_tangent(W, G)
    assert np.max(np.abs(P1 - V)) < 1e-13
    # Idempotent up to rounding of the O(10) entries of W^T G.
    assert np.max(np.abs(gm.project_tangent(W, P1) - P1)) < 1e-13
    assert np.array_equal(gm.riemannian_gradient(W, G), P1)


@given(point_pairs())
def test_from_projector_inverts_projector(UW):
    U, _ = UW
    W = gm.from_projector(gm.projector(U))
    assert _defect(W) < ON_MANIFOLD
    assert gm.distance(W, U) < 1e-12


def test_check_point_and_defect():
    W = gm.random_point(5, 2, rng=0)
    assert gm.check_point(W) is not None
    assert gm.orthogonality_defect(W) < ON_MANIFOLD
    assert abs(gm.orthogonality_defect(2 * W) - 3.0) < 1e-13
    assert gm.check_point(W * (1 + 1e-3), atol=1e-2).shape == (5, 2)


# ------------------------------------------------------------------- batches


def test_batches_broadcast_to_per_element_results():
    rng = np.random.default_rng(7)
    d, h = 6, 2
    W = gm.random_point(d, h, rng, batch=(2, 3))
    U = gm.random_point(d, h, rng, batch=(3,))  # broadcasts against (2, 3)
    V = gm.project_tangent(W, rng.standard_normal((2, 3, d, h)))
    X = gm.project_tangent(W, rng.standard_normal((2, 3, d, h)))
    t = np.array([0.0, 0.5, 1.0])
    results = {
        "angles": gm.principal_angles(W, U),
        "dist": gm.distance(W, U),
        "chordal": gm.distance(W, U, "chordal"),
        "log": gm.log(W, U),
        "exp": gm.exp(W, V),
        "qr": gm.retract(W, V, "qr"),
        "polar": gm.retract(W, V, "polar"),
        "transport": gm.transport(W, V, X),
        "projection": gm.transport(W, V, X, method="projection"),
        "geodesic": gm.geodesic(W, V, t),
        "projector": gm.projector(W),
        "inner": gm.inner(W, V, X),
    }
    for i in range(2):
        for j in range(3):
            w, u, v, x = W[i, j], U[j], V[i, j], X[i, j]
            single = {
                "angles": gm.principal_angles(w, u),
                "dist": gm.distance(w, u),
                "chordal": gm.distance(w, u, "chordal"),
                "log": gm.log(w, u),
                "exp": gm.exp(w, v),
                "qr": gm.retract(w, v, "qr"),
                "polar": gm.retract(w, v, "polar"),
                "transport": gm.transport(w, v, x),
                "projection": gm.transport(w, v, x, method="projection"),
                "geodesic": gm.geodesic(w, v, t),
                "projector": gm.projector(w),
                "inner": gm.inner(w, v, x),
            }
            for key, value in single.items():
                assert np.allclose(results[key][i, j], value, rtol=0, atol=1e-13), key


def test_unchecked_fast_path_gives_the_same_results():
    rng = np.random.default_rng(8)
    W, U = gm.random_point(5, 2, rng), gm.random_point(5, 2, rng)
    V = gm.log(W, U)
    assert np.array_equal(gm.log(W, U, check=False), V)
    assert np.array_equal(gm.exp(W, V, check=False), gm.exp(W, V))
    assert np.array_equal(gm.distance(W, U, check=False), gm.distance(W, U))
