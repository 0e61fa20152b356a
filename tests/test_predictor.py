"""SimSiam / BYOL with a linear predictor: vector fields, state-carrying SGD and ODEs, eigenmode theory."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grassdyn as gd
from grassdyn import theory_predictor as tp
from grassdyn.data import AugmentationModel
from grassdyn.ssl import byol, simsiam
from grassdyn.ssl.predictor import direct_predictor
from grassdyn.strategies import spectra
from grassdyn.trajectory import Trajectory


def _model(content=(2.0, 1.5, 1.0), style=(0.8,), rho=0.0, noise=0.5, d=7, rng=0):
    return AugmentationModel(d, list(content), list(style), rho=rho, noise=noise, rng=rng)


def _loss(method, model, *, ema=0.9, lr=0.01, **kw):
    if method == "byol":
        return byol(model, ema=ema, lr=lr, **kw)
    return simsiam(model, **kw)


# -- bad input ---------------------------------------------------------------------------------
BAD = [
    ("predictor-not-square", lambda m: simsiam(m, predictor=np.ones((2, 3))), ValueError, "predictor"),
    ("predictor-bad-string", lambda m: simsiam(m, predictor="diagonal"), ValueError, "predictor"),
    ("predictor-wrong-h", lambda m: simsiam(m, predictor=np.eye(3)).init_state(np.ones((7, 2))),
     ValueError, "predictor"),
    ("ema-one", lambda m: byol(m, ema=1.0, lr=0.1), ValueError, "ema"),
    ("ema-negative", lambda m: byol(m, ema=-0.1, lr=0.1), ValueError, "ema"),
    ("ema-without-lr", lambda m: byol(m, ema=0.9), ValueError, "lr"),
    ("weight-decay-negative", lambda m: simsiam(m, weight_decay=-1e-3), ValueError, "weight_decay"),
    ("predictor-lr-zero", lambda m: simsiam(m, predictor_lr=0.0), ValueError, "predictor_lr"),
    ("check-gradient", lambda m: gd.objectives.check_gradient(simsiam(m), np.eye(7)[:, :2]),
     TypeError, "objective"),
    ("closed-form", lambda m: gd.flows.grassmann_closed_form(simsiam(m), np.eye(7)[:, :2], [0.0, 1.0]),
     TypeError, "C"),
    ("grassmann-sgd", lambda m: gd.sgd.simulate(simsiam(m), np.eye(7)[:, :2], lr=0.1, steps=2),
     ValueError, "manifold"),
    ("grassmann-flow", lambda m: gd.flows.integrate(simsiam(m), np.eye(7)[:, :2], [0.0, 1.0]),
     ValueError, "manifold"),
    ("ema-lr-too-large", lambda m: gd.sgd.simulate(byol(m, ema=0.5, lr=0.01), np.eye(7)[:, :2], lr=0.1,
                                                   steps=2, manifold="euclidean"), ValueError, "lr"),
    ("W0-wrong-d", lambda m: simsiam(m).init_state(np.ones((5, 2))), ValueError, "W0"),
]


@pytest.mark.parametrize("make, exc, name", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_names_the_argument(make, exc, name):
    with pytest.raises(exc, match=name):
        make(_model())


def test_trajectory_state_must_share_the_time_axis():
    W = np.ones((2, 3, 4, 1))
    with pytest.raises(ValueError, match="state"):
        Trajectory(t=np.arange(3.0), W=W, method="x", manifold="euclidean",
                   state={"predictor": np.ones((2, 4, 1, 1))})


# -- the vector field -------------------------------------------------------------------------
def _fd_gradient(f, X, h=1e-6):
    G = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        G[idx] = (f(X + E) - f(X - E)) / (2 * h)
    return G


@given(st.integers(0, 2**31 - 1), st.sampled_from(["simsiam", "byol"]))
@settings(max_examples=10)
def test_stop_gradient_finite_differences(seed, method):
    """The online parts of the field are -dJ/d(online) - eta * weights with the target held fixed; the
    target slot's gradient is real (non-zero) but reaches no update."""
    rng = np.random.default_rng(seed)
    loss = _loss(method, _model(rng=seed), weight_decay=0.03, predictor_lr=1.7)
    W, P = rng.standard_normal((7, 2)), rng.standard_normal((2, 2))
    state = loss.init_state({"W": W, "predictor": P, **({"target": rng.standard_normal((7, 2))}
                                                         if loss.has_target else {})})
    Wa = state.get("target", W)
    v = loss.field(state)
    gW = _fd_gradient(lambda X: loss.objective(X, P, Wa), W)
    gP = _fd_gradient(lambda X: loss.objective(W, X, Wa), P)
    gA = _fd_gradient(lambda X: loss.objective(W, P, X), Wa)
    np.testing.assert_allclose(v["W"], -gW - loss.weight_decay * W, atol=1e-7)
    np.testing.assert_allclose(v["predictor"], -loss.predictor_lr * gP - loss.weight_decay * P, atol=1e-7)
    assert np.linalg.norm(gA) > 1e-3  # the target branch has a gradient ...
    if loss.has_target:  # ... which the EMA target never receives
        np.testing.assert_array_equal(v["target"], loss.ema_rate * (W - Wa))
    else:  # ... and SimSiam's update is not the gradient through both branches
        full = _fd_gradient(lambda X: loss.objective(X, P, X), W)
        np.testing.assert_allclose(-full - loss.weight_decay * W, v["W"] - gA, atol=1e-6)
        assert np.linalg.norm(gA) > 1e-3


def test_population_covariances_of_the_augmentation_model():
    """X = E[xbar xbar^T] and X' = E[Var(x | xbar)] for the content/style model (zero mean):
    content is shared, a fraction rho of the style variance is shared, the rest and the noise are not."""
    model = AugmentationModel(5, [2.0], [1.5], rho=0.4, noise=0.3, mixing=np.eye(5)[:, :2])
    loss = simsiam(model)
    np.testing.assert_allclose(loss.augmentation_averaged_covariance, np.diag([2.0, 0.4 * 1.5, 0, 0, 0]))
    expected = np.diag([0.09, 0.6 * 1.5 + 0.09, 0.09, 0.09, 0.09])
    np.testing.assert_allclose(loss.augmentation_covariance, expected)


def test_minibatch_field_on_the_whole_data_set_is_the_empirical_field():
    X, Xp = _model().sample_pairs(50, rng=1)
    for method in ("simsiam", "byol"):
        loss = _loss(method, (X, Xp), weight_decay=0.01)
        state = loss.init_state(np.random.default_rng(2).standard_normal((3, 7, 2)))
        full, batch = loss.field(state), loss.batch_field(state, (X, Xp))
        for k in loss.dynamic_keys:
            np.testing.assert_allclose(batch[k], full[k], rtol=1e-12, atol=1e-13)


def test_minibatch_field_is_unbiased_for_the_population():
    model = _model()
    loss = simsiam(model, weight_decay=0.01)
    state = loss.init_state(np.random.default_rng(0).standard_normal((7, 2)))
    X, Xp = model.sample_pairs(200_000, rng=3)
    est, exact = loss.batch_field(state, (X, Xp))["W"], loss.field(state)["W"]
    # per entry the standard error at n = 2e5 is below 1e-2 of the field's scale
    assert np.max(np.abs(est - exact)) < 0.02 * np.max(np.abs(exact))


# -- state-carrying SGD and ODE -----------------------------------------------------------------
def test_sgd_records_every_state_component_and_is_bit_reproducible_per_seed():
    loss = byol(_model(), ema=0.8, lr=0.02, weight_decay=0.02)
    W0 = gd.sgd.init_frames(7, 2, seeds=3, rng=0, kind="gaussian", scale=0.5)
    traj = gd.sgd.simulate(loss, W0, lr=0.02, steps=60, batch_size=16, seeds=3, rng=5, record_every=20,
                           manifold="euclidean")
    assert traj.W.shape == (3, 4, 7, 2)
    assert traj.state["predictor"].shape == (3, 4, 2, 2) and traj.state["target"].shape == (3, 4, 7, 2)
    np.testing.assert_array_equal(traj.state["W"], traj.W)
    np.testing.assert_allclose(traj.t, [0.0, 0.4, 0.8, 1.2])
    again = gd.sgd.simulate(loss, W0, lr=0.02, steps=60, batch_size=16, seeds=3, rng=5, record_every=20,
                            manifold="euclidean")
    alone = gd.sgd.simulate(loss, W0[1], lr=0.02, steps=60, batch_size=16, seeds=1, rng=traj.seeds[1:2],
                            record_every=20, manifold="euclidean")
    for k in traj.state:
        np.testing.assert_array_equal(again.state[k], traj.state[k])
        np.testing.assert_array_equal(alone.state[k][0], traj.state[k][1])
    assert not np.array_equal(traj.W[0], traj.W[1])


def test_target_follows_the_ema_rule_at_the_loss_learning_rate():
    loss = byol(_model(), ema=0.9, lr=0.05)
    traj = gd.sgd.simulate(loss, np.eye(7)[:, :2], lr=0.05, steps=2, manifold="euclidean")
    W, Wa = traj.state["W"][0], traj.state["target"][0]
    np.testing.assert_allclose(Wa[1], 0.9 * Wa[0] + 0.1 * W[1], rtol=1e-14)
    np.testing.assert_allclose(Wa[2], 0.9 * Wa[1] + 0.1 * W[2], rtol=1e-14)


@pytest.mark.parametrize("batch_size", [None, 8])
def test_ema_zero_is_simsiam(batch_size):
    model = _model()
    W0 = gd.sgd.init_frames(7, 2, seeds=2, rng=1, kind="gaussian", scale=0.7)
    kw = dict(weight_decay=0.02, predictor_lr=1.5, predictor=np.array([[0.5, 0.1], [0.0, 0.4]]))
    runs = [gd.sgd.simulate(loss, W0, lr=0.02, steps=40, batch_size=batch_size, seeds=2, rng=3,
                            record_every=10, manifold="euclidean")
            for loss in (simsiam(model, **kw), byol(model, ema=0.0, **kw))]
    np.testing.assert_array_equal(runs[0].W, runs[1].W)
    np.testing.assert_array_equal(runs[0].state["predictor"], runs[1].state["predictor"])
    flows = [gd.flows.integrate(loss, W0, [0.0, 1.0, 2.0], manifold="euclidean")
             for loss in (simsiam(model, **kw), byol(model, ema=0.0, **kw))]
    np.testing.assert_array_equal(flows[0].state["predictor"], flows[1].state["predictor"])


def test_small_ema_rate_approaches_simsiam():
    """beta -> infinity (ema -> 0 at fixed lr) is SimSiam; the BYOL flow converges to it."""
    model = _model()
    W0 = gd.sgd.init_frames(7, 2, rng=1, kind="gaussian", scale=0.7)
    t = [0.0, 2.0]
    ref = gd.flows.integrate(simsiam(model), W0, t, manifold="euclidean", rtol=1e-10, atol=1e-12)
    errs = []
    for beta in (10.0, 100.0):
        loss = byol(model, ema=1.0 - beta * 0.001, lr=0.001)
        errs.append(np.max(np.abs(gd.flows.integrate(loss, W0, t, manifold="euclidean").W - ref.W)))
    assert errs[1] < errs[0] / 5


def test_sgd_follows_the_flow_as_lr_shrinks():
    loss = simsiam(_model(), weight_decay=0.02)
    W0 = gd.sgd.init_frames(7, 2, rng=4, kind="gaussian", scale=0.8)
    flow = gd.flows.integrate(loss, W0, [0.0, 2.0], manifold="euclidean", rtol=1e-10, atol=1e-12)
    errs = []
    for lr in (0.02, 0.01):
        steps = round(2.0 / lr)
        sgd = gd.sgd.simulate(loss, W0, lr=lr, steps=steps, record_every=steps, manifold="euclidean")
        errs.append(np.max(np.abs(sgd.W[0, -1] - flow.W[0, -1])))
    assert 1.7 < errs[0] / errs[1] < 2.3  # Euler: first order in lr


def test_divergence_names_the_step():
    loss = simsiam(_model(), weight_decay=0.0)
    with pytest.raises(gd.sgd.DivergenceError, match="step"):
        gd.sgd.simulate(loss, 50 * np.eye(7)[:, :2], lr=0.5, steps=200, manifold="euclidean")


def test_direct_pred_sets_the_predictor_from_the_correlation():
    loss = simsiam(_model(), predictor="direct", weight_decay=0.01)
    W0 = gd.sgd.init_frames(7, 2, seeds=2, rng=0, kind="gaussian", scale=0.7)
    traj = gd.sgd.simulate(loss, W0, lr=0.02, steps=30, batch_size=16, seeds=2, rng=1, record_every=10,
                           manifold="euclidean")
    np.testing.assert_allclose(traj.state["predictor"], direct_predictor(traj.state["correlation"], 0.1),
                               atol=1e-12)
    flow = gd.flows.integrate(loss, W0, [0.0, 0.5], manifold="euclidean")
    F = np.swapaxes(flow.W, -1, -2) @ loss.Sigma @ flow.W
    np.testing.assert_allclose(flow.state["correlation"], F, atol=1e-12)
    p = np.linalg.eigvalsh(flow.state["predictor"])
    assert np.all(p >= 0.1 - 1e-12) and np.allclose(p.max(axis=-1), 1.1)


def test_gradient_losses_are_unaffected():
    loss = gd.ssl.alignment(_model())
    traj = gd.sgd.simulate(loss, np.eye(7)[:, :2], lr=0.05, steps=5)
    assert traj.state == {} and traj.manifold == "grassmann"


# -- eigenmode theory ----------------------------------------------------------------------------
@given(
    spectra(st.integers(1, 3), min_gap=0.1, min_value=0.5, max_value=3.0),
    st.floats(0.0, 0.9), st.floats(0.1, 1.0), st.floats(0.0, 0.08), st.floats(0.3, 3.0),
    st.sampled_from(["simsiam", "byol"]), st.integers(0, 2**31 - 1),
)
@settings(max_examples=12)
def test_eigenmode_ode_matches_the_matrix_ode_from_aligned_starts(
    content, rho, noise, eta, alpha, method, seed
):
    rng = np.random.default_rng(seed)
    k = content.size
    model = AugmentationModel(k + 3, content, [0.7], rho=rho, noise=noise, rng=seed)
    loss = _loss(method, model, weight_decay=eta, predictor_lr=alpha, ema=0.95, lr=0.02)
    modes = rng.permutation(k + 1)[:k]
    w0, p0 = rng.uniform(0.2, 1.2, k), rng.uniform(-0.5, 1.5, k)
    t = np.linspace(0.0, 3.0, 4)
    pred = tp.eigenmode_trajectory(loss, modes, w0, p0, t)
    traj = gd.flows.integrate(loss, tp.aligned_state(loss, modes, w0, p0), t, manifold="euclidean",
                              rtol=1e-10, atol=1e-12)
    P = traj.state["predictor"]
    F = np.swapaxes(traj.W, -1, -2) @ loss.M @ traj.W
    scale = 1.0 + np.max(np.abs(pred.s))
    p_scale = 1.0 + np.max(np.abs(pred.p))
    np.testing.assert_allclose(np.diagonal(P, axis1=-2, axis2=-1), pred.p, atol=1e-6 * p_scale)
    np.testing.assert_allclose(np.diagonal(F, axis1=-2, axis2=-1), pred.s, atol=1e-6 * scale)
    off = F - np.einsum("...ii->...i", F)[..., None] * np.eye(k)
    assert np.max(np.abs(off)) < 1e-6 * scale  # the aligned set is invariant


def test_collapse_on_either_side_of_the_threshold():
    model = AugmentationModel(4, [1.0], [0.5], rho=0.0, noise=0.5, mixing=np.eye(4)[:, :2])
    _, m, sigma = tp.common_eigenbasis(simsiam(model))
    star = float(tp.weight_decay_threshold(m[0], sigma[0]))
    assert star == pytest.approx(1.0 / (4 * 1.25))
    t = [0.0, 400.0]
    for factor, collapses in ((0.9, False), (1.1, True)):
        eta = factor * star
        loss = simsiam(model, weight_decay=eta)
        pred = tp.eigenmode_trajectory(loss, [0], [1.0], [1.0], t)
        if collapses:
            assert pred.s[-1, 0] < 1e-8
        else:
            fp = tp.fixed_point_values(m[0], sigma[0], eta, 1.0)
            assert pred.s[-1, 0] == pytest.approx(fp["s+"][0], rel=1e-6)


def test_symbolic_eigenmode_derivation():
    ode = gd.symbolic.eigenmode_ode("simsiam")
    assert ode.invariant and ode.decoupled and ode.matches_paper and ode.invariant_rate == 0
    byol_ode = gd.symbolic.eigenmode_ode("byol")
    assert byol_ode.invariant and byol_ode.decoupled and len(byol_ode.rhs) == 3
    import sympy as sp
    m, sigma = sp.symbols("m sigma", positive=True)
    assert sp.simplify(gd.symbolic.weight_decay_threshold() - m**2 / (4 * sigma)) == 0


@pytest.mark.parametrize("method", ["simsiam", "byol"])
def test_symbolic_stability_table(method):
    rows = {(r.regime, r.point): r.classification for r in gd.symbolic.stability_table(method)}
    assert rows[("0 < eta < eta*", "trivial")] == "stable"
    assert rows[("0 < eta < eta*", "p-")] == "saddle"
    assert rows[("0 < eta < eta*", "p+")] == "stable"
    assert rows[("eta = eta*", "p- = p+")] == "non-hyperbolic"
    assert rows[("eta = 0", "trivial")] == "non-hyperbolic"
    assert [p for (reg, p) in rows if reg == "eta > eta*"] == ["trivial"]


@given(
    st.integers(2, 24), st.integers(0, 16), st.integers(0, 10), st.integers(1, 32), st.integers(1, 80)
)
@settings(max_examples=10)
def test_symbolic_classification_matches_numeric_eigenvalues(m8, extra8, eta10, alpha8, beta4):
    """Exact classification (small rationals: m, sigma, alpha in 1/8, beta in 1/4) against numeric spectra."""
    import sympy as sp
    m, sigma = sp.Rational(m8, 8), sp.Rational(m8 + extra8, 8)
    eta = sp.Rational(eta10, 8) * m**2 / (4 * sigma)  # eta / eta* in [0, 1.25]
    for method in ("simsiam", "byol"):
        fps = gd.symbolic.fixed_points(
            method, m=m, sigma=sigma, weight_decay=eta, predictor_lr=sp.Rational(alpha8, 8),
            ema_rate=sp.Rational(beta4, 4),
        )
        for fp in fps:
            ev = np.linalg.eigvals(np.array(fp.jacobian.evalf(), dtype=float)).real
            if fp.classification == "stable":
                assert np.all(ev < 0)
            elif fp.classification == "saddle":
                assert np.any(ev > 0) and np.any(ev < 0)
            else:
                assert fp.classification == "non-hyperbolic"
                assert np.min(np.abs(ev)) < 1e-9 * (1 + np.abs(ev).max())
        names = [f.name for f in fps]
        expected = {0: ["trivial", "p-", "p+"], 8: ["trivial", "p- = p+"]}.get(
            eta10, ["trivial", "p-", "p+"] if eta10 < 8 else ["trivial"]
        )
        assert names == expected


def test_eigen_alignment_falls_from_a_generic_start():
    """From a generic start the predictor's and the correlation's eigenspaces align, and the spectrum of
    F = W^T M W settles at the stable fixed points s+ of the eigenmode ODE (Tian et al. 2021, section 4)."""
    model = _model(content=(2.0, 1.2), style=(0.5,), d=5, rng=3)
    eta = 0.05
    loss = simsiam(model, weight_decay=eta, predictor=np.array([[0.3, 0.2], [-0.1, 0.5]]))
    W0 = gd.sgd.init_frames(5, 2, rng=2, kind="gaussian", scale=0.8)
    traj = gd.flows.integrate(loss, W0, [0.0, 10.0, 300.0], manifold="euclidean", rtol=1e-10, atol=1e-12)
    F = np.swapaxes(traj.W, -1, -2) @ loss.M @ traj.W
    angle = tp.eigen_alignment(traj.state["predictor"], F)[0]
    assert angle[0] > 0.2 and angle[1] < angle[0] and angle[2] < 1e-3  # at most pi/4 for h = 2
    _, m, sigma = tp.common_eigenbasis(loss)
    s_plus = tp.fixed_point_values(m[:2], sigma[:2], eta, 1.0)["s+"]
    np.testing.assert_allclose(np.linalg.eigvalsh(F[0, -1])[::-1], s_plus, rtol=1e-4)


def test_fixed_data_sgd_draws_rows_of_the_data_set():
    X, Xp = _model().sample_pairs(40, rng=2)
    loss = simsiam((X, Xp), weight_decay=0.01)
    W0 = gd.sgd.init_frames(7, 2, seeds=2, rng=0, kind="gaussian", scale=0.5)
    kw = dict(lr=0.02, steps=30, batch_size=8, seeds=2, record_every=10, manifold="euclidean")
    traj = gd.sgd.simulate(loss, W0, rng=3, **kw)
    assert traj.params["regime"] == "fixed-data" and traj.state["predictor"].shape == (2, 4, 2, 2)
    np.testing.assert_array_equal(gd.sgd.simulate(loss, W0, rng=3, **kw).W, traj.W)
    with pytest.raises(ValueError, match="batch_size"):
        gd.sgd.simulate(loss, W0, rng=3, **{**kw, "batch_size": 41})


def test_eigenmode_theory_needs_a_common_eigenbasis():
    model = AugmentationModel(5, [2.0], [1.0], rho=0.5, noise=0.3, mean=np.arange(5.0) / 5, rng=0)
    with pytest.raises(ValueError, match="commute"):
        tp.common_eigenbasis(simsiam(model))
    with pytest.raises(TypeError, match="loss"):
        tp.common_eigenbasis(gd.ssl.alignment(model))
    with pytest.raises(ValueError, match="direct"):
        tp.common_eigenbasis(simsiam(_model(), predictor="direct"))
