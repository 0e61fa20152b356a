"""Every probe of issue 9 answered: a clean error naming the argument, or a correct answer.

One table of bad or extreme inputs, each a row ``(call, exception, regex on the message)`` with a
readable id, in the manner of hypothesis's own argument-validation tests. The classes follow the
issue: silent garbage, obscure crashes (no size guard, hangs, wrong-argument messages), accepted
invalid input, the symbolic and SGD semantics, and the report configuration. A second table holds
extreme but valid inputs whose answer is representable and must come out right (no overflow).
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from grassdyn import compare, flows, sgd, ssl, symbolic
from grassdyn import grassmann as gm
from grassdyn import objectives as ob
from grassdyn._validation import check_allocation, check_steps
from grassdyn.data import AugmentationModel
from grassdyn.integrators import IntegrationError
from grassdyn.objectives import Quadratic
from grassdyn.report.config import ConfigError, loads_config

D, H = 5, 2
W = np.eye(D)[:, :H]
V = np.eye(D)[:, 2:4]  # tangent at W
C = np.diag([5.0, 4.0, 3.0, 2.0, 1.0])
MODEL = AugmentationModel(D, [3.0], [1.0], rho=0.5, noise=0.1, rng=0)
X, XP = MODEL.sample_pairs(20, rng=1)
NAN_BATCH = (np.full((3, D), np.nan),) * 2
a, b = sp.symbols("a b", real=True)
HUGE = 10**12


class _NaNObjective:
    def value(self, W):
        return float("nan")

    def egrad(self, W):
        return np.zeros_like(W)


def _traj():
    return sgd.simulate(Quadratic(C), W, lr=0.1, steps=4, progress=False)


BAD = [
    # -- silent garbage ------------------------------------------------------------------------
    pytest.param(
        lambda: gm.check_point(np.ones((5, 2)), atol=float("nan")),
        ValueError,
        "atol must be finite",
        id="check_point-atol-nan",
    ),
    pytest.param(
        lambda: gm.from_projector(3 * np.ones((5, 5)), atol=float("nan")),
        ValueError,
        "atol must be finite",
        id="from_projector-atol-nan",
    ),
    pytest.param(
        lambda: gm.from_projector(3 * np.ones((5, 5))),
        ValueError,
        "P must be idempotent",
        id="from_projector-not-a-projector",
    ),
    pytest.param(
        lambda: ob.check_gradient(_NaNObjective(), W, rng=0),
        ValueError,
        "objective.value returned nan",
        id="check_gradient-nan-objective",
    ),
    pytest.param(
        lambda: Quadratic(C, float("nan")), ValueError, "const must be finite", id="Quadratic-const-nan"
    ),
    pytest.param(
        lambda: Quadratic(np.eye(5), "nan"),
        TypeError,
        "const must be a real number",
        id="Quadratic-const-string",
    ),
    pytest.param(
        lambda: Quadratic([["1", "0"], ["0", "1"]]),
        TypeError,
        "C must be an array of real numbers",
        id="Quadratic-C-strings",
    ),
    pytest.param(
        lambda: ssl.alignment(MODEL).batch_value(W, NAN_BATCH),
        ValueError,
        "batch X contains non-finite",
        id="alignment-batch_value-nan",
    ),
    pytest.param(
        lambda: ssl.contrastive(MODEL).batch_egrad(W, NAN_BATCH),
        ValueError,
        "batch X contains non-finite",
        id="contrastive-batch_egrad-nan",
    ),
    pytest.param(
        lambda: ssl.spectral_contrastive(MODEL).batch_egrad(W, NAN_BATCH),
        ValueError,
        "batch X contains non-finite",
        id="spectral-batch_egrad-nan",
    ),
    pytest.param(
        lambda: ssl.spectral_contrastive(MODEL).value(1e300 * W),
        ValueError,
        r"SpectralContrastive.value\(W\) is not finite .*W is too large",
        id="spectral-value-1e300W",
    ),
    pytest.param(
        lambda: ssl.alignment(MODEL).value(1e300 * W),
        ValueError,
        r"Quadratic.value\(W\) is not finite .*W is too large",
        id="alignment-value-1e300W",
    ),
    pytest.param(
        lambda: flows.oja_rhs(C, 1e300 * W),
        ValueError,
        r"oja_rhs\(C, W\) is not finite .*W is too large",
        id="oja_rhs-1e300W",
    ),
    pytest.param(
        lambda: flows.riccati_rhs(C, 1e300 * W @ W.T),
        ValueError,
        r"riccati_rhs\(C, P\) is not finite .*P is too large",
        id="riccati_rhs-1e300P",
    ),
    pytest.param(
        lambda: ssl.alignment((1e300 * X, 1e300 * XP)),
        ValueError,
        "source: its entries are too large",
        id="alignment-source-1e300",
    ),
    pytest.param(
        lambda: gm.exp(W, 1e300 * V),
        ValueError,
        r"V: the geodesic angle .* exceeds 2\*\*52",
        id="exp-angle-beyond-precision",
    ),
    pytest.param(
        lambda: gm.check_point(1e300 * W), ValueError, "orthogonality defect .* = inf", id="check_point-1e300"
    ),
    # -- no size guard -------------------------------------------------------------------------
    pytest.param(
        lambda: gm.random_point(10**6, 10**6),
        ValueError,
        r"d = 1000000, h = 1000000.*needs .*TiB",
        id="random_point-huge",
    ),
    pytest.param(
        lambda: gm.random_point(5, 2, batch=HUGE),
        ValueError,
        r"batch = \(1000000000000,\).*needs",
        id="random_point-huge-batch",
    ),
    pytest.param(
        lambda: sgd.simulate(Quadratic(C), W, lr=0.1, steps=10**15, progress=False),
        ValueError,
        "steps = 1000000000000000: implies 1e[+]15 steps",
        id="simulate-steps-1e15",
    ),
    pytest.param(
        lambda: sgd.simulate(ssl.alignment(MODEL), W, lr=0.1, steps=2, batch_size=HUGE, progress=False),
        ValueError,
        "batch_size = 1000000000000.*needs",
        id="simulate-batch_size-1e12",
    ),
    pytest.param(
        lambda: sgd.simulate(Quadratic(C), W, lr=0.1, steps=2, seeds=HUGE, progress=False),
        ValueError,
        "seeds = 1000000000000.*needs",
        id="simulate-seeds-1e12",
    ),
    pytest.param(
        lambda: sgd.simulate(
            Quadratic(C), W, lr=0.1, steps=10**7, record_every=1, seeds=10**4, progress=False
        ),
        ValueError,
        "seeds = 10000, steps = 10000000, record_every = 1: the recorded trajectory",
        id="simulate-record",
    ),
    pytest.param(
        lambda: sgd.init_frames(5, 2, seeds=HUGE), ValueError, "seeds = 1000000000000", id="init-seeds"
    ),
    pytest.param(lambda: sgd.streams(0, HUGE), ValueError, "seeds = 1000000000000", id="streams-seeds"),
    pytest.param(
        lambda: MODEL.sample_pairs(HUGE), ValueError, "n = 1000000000000.*needs", id="sample_pairs-1e12"
    ),
    pytest.param(
        lambda: ssl.alignment(MODEL).draw(HUGE),
        ValueError,
        "batch_size = 1000000000000",
        id="draw-batch_size-1e12",
    ),
    pytest.param(
        lambda: AugmentationModel(HUGE, [1.0], [1.0], rho=0.5, noise=0.1),
        ValueError,
        "d = 1000000000000: the d x d population matrices",
        id="model-d-1e12",
    ),
    pytest.param(
        lambda: flows.grassmann_closed_form(C, np.broadcast_to(W, (10**5, D, H)), np.zeros(10**6)),
        ValueError,
        r"len\(t\) = 1000000, W0 of shape \(100000, 5, 2\).*needs",
        id="closed_form-len-t",
    ),
    pytest.param(
        lambda: compare.predict_fluctuation(ssl.alignment(MODEL), 1, lr=0.01, batch_size=HUGE),
        ValueError,
        "batch_size = 1000000000000",
        id="predict_fluctuation-batch_size",
    ),
    # -- hangs: step budgets -------------------------------------------------------------------
    pytest.param(
        lambda: compare.lr_order(C, W, [0.04, 0.02], horizon=1e6),
        ValueError,
        r"horizon = 1e\+06: the runs take .* steps in all",
        id="lr_order-horizon-1e6",
    ),
    pytest.param(
        lambda: flows.integrate(Quadratic(C), W, [0, 1e300], method="rk4", step=0.1),
        IntegrationError,
        r"step = 0.1: t\[-1\] / step = .* fixed steps exceed max_steps",
        id="integrate-rk4-1e300",
    ),
    # -- wrong-argument messages and raw numpy errors -------------------------------------------
    pytest.param(
        lambda: gm.random_point(5, 2, batch=2.0),
        TypeError,
        "batch must be an int or a tuple of ints",
        id="random_point-batch-float",
    ),
    pytest.param(
        lambda: gm.random_point(5, 2, batch=(True,)),
        TypeError,
        "batch must be an integer",
        id="random_point-batch-bool",
    ),
    pytest.param(
        lambda: MODEL.sample_pairs(4, batch=2.0),
        TypeError,
        "batch must be an int or a tuple",
        id="sample_pairs-batch-float",
    ),
    pytest.param(
        lambda: compare.stationary_sq_distance(_traj(), np.ones((5, 2))),
        ValueError,
        "target must have orthonormal columns",
        id="stationary-target",
    ),
    pytest.param(
        lambda: flows.projector_closed_form(C, np.zeros((5, 5)), [1.0]),
        ValueError,
        "X0 must have the same integer trace",
        id="projector_closed_form-zero-projector",
    ),
    pytest.param(
        lambda: ob.check_gradient(None, W), TypeError, "objective must have value", id="check_gradient-None"
    ),
    pytest.param(lambda: _traj().loss(None), TypeError, "objective must have a value", id="traj-loss-None"),
    pytest.param(
        lambda: ssl.alignment((X, XP)).take(np.array([999])),
        ValueError,
        r"indices must lie in \[0, n\) = \[0, 20\), got 999",
        id="take-out-of-range",
    ),
    pytest.param(
        lambda: ssl.alignment((X, XP)).take(np.array([0.5])),
        TypeError,
        "indices must be an array of int",
        id="take-float-indices",
    ),
    pytest.param(
        lambda: ssl.alignment(MODEL).batch_egrad(W, None),
        TypeError,
        "batch must be a tuple",
        id="batch_egrad-None",
    ),
    pytest.param(
        lambda: ssl.alignment(MODEL).batch_egrad(W, (X[:, :3], XP[:, :3])),
        ValueError,
        "batch X must be an array of shape",
        id="batch_egrad-wrong-d",
    ),
    pytest.param(
        lambda: ssl.alignment((np.zeros((5, 0)),) * 2),
        ValueError,
        "source arrays must have d >= 1",
        id="alignment-width0",
    ),
    pytest.param(
        lambda: ssl.contrastive((np.zeros((5, 0)),) * 2),
        ValueError,
        "source arrays must have d >= 1",
        id="contrastive-width0",
    ),
    pytest.param(
        lambda: ssl.spectral_contrastive((np.zeros((5, 0)),) * 2),
        ValueError,
        "source arrays must have d >= 1",
        id="spectral-width0",
    ),
    # -- accepted invalid input -----------------------------------------------------------------
    pytest.param(
        lambda: Quadratic(C).value(np.zeros((5, 0))),
        ValueError,
        "W must have shape .* d >= h >= 1",
        id="Quadratic-value-width0",
    ),
    pytest.param(
        lambda: ssl.spectral_contrastive(MODEL).value(np.zeros((5, 0))),
        ValueError,
        "W must have shape .* h >= 1",
        id="spectral-value-width0",
    ),
    pytest.param(
        lambda: flows.euclidean_closed_form(C, W, [1.0], normalize="yes"),
        TypeError,
        "normalize must be True or False",
        id="euclidean_closed_form-normalize-yes",
    ),
    pytest.param(
        lambda: symbolic.naive_solution(1, 2), ValueError, "h must be <= d", id="naive_solution-h>d"
    ),
    pytest.param(
        lambda: symbolic.rank_one_collapse([2, 1], 3),
        ValueError,
        "h must be <= d",
        id="rank_one_collapse-h>d",
    ),
    pytest.param(
        lambda: symbolic.naive_solution(100, 100),
        ValueError,
        r"d = 100, h = 100.*sympy work",
        id="naive_solution-too-large",
    ),
    pytest.param(
        lambda: symbolic.critical_points(list(range(30, 0, -1)), 15),
        ValueError,
        "linearised directions",
        id="critical_points-too-many-subsets",
    ),
    pytest.param(
        lambda: sgd.init_frames(5, 2, scale=float("nan")),
        ValueError,
        "scale must be finite",
        id="init_frames-scale-unused-nan",
    ),
    pytest.param(
        lambda: gm.geodesic(W, V, ["0", "1"]),
        TypeError,
        "t must be an array of real numbers",
        id="geodesic-t-strings",
    ),
    # -- symbolic spectra ------------------------------------------------------------------------
    pytest.param(
        lambda: symbolic.critical_points([a, a + 1], 1),
        ValueError,
        r"descending order, but eigenvalues\[0\] = a < eigenvalues\[1\] = a \+ 1",
        id="critical-a<a+1",
    ),
    pytest.param(
        lambda: symbolic.critical_points([a, b, a], 1),
        ValueError,
        r"eigenvalues\[0\] = a and eigenvalues\[2\] = a are identical",
        id="critical-a,b,a",
    ),
    pytest.param(
        lambda: symbolic.critical_points([1.0, 0.5], 1, tol=float("nan")),
        ValueError,
        "tol must be finite",
        id="critical-tol-nan",
    ),
    # -- SGD semantics --------------------------------------------------------------------------
    pytest.param(
        lambda: sgd.simulate(Quadratic(C), W, lr=0.1, steps=2, momentum=0.5, progress=False),
        ValueError,
        r"momentum = 0.5 has no effect with optimizer = 'sgd'",
        id="simulate-momentum-sgd",
    ),
    pytest.param(
        lambda: sgd.simulate(Quadratic(C), W, lr=0.1, steps=2, sampling="epochs", progress=False),
        ValueError,
        "sampling = 'epochs' has no effect without batch_size",
        id="simulate-sampling-exact",
    ),
    pytest.param(
        lambda: sgd.simulate(
            Quadratic(C), W, lr=0.1, steps=2, manifold="euclidean", retraction="polar", progress=False
        ),
        ValueError,
        "retraction = 'polar' has no effect with manifold = 'euclidean'",
        id="simulate-retraction-euclidean",
    ),
    pytest.param(
        lambda: sgd.simulate(Quadratic(C), W, lr=0.1, steps=2, betas=(0.9, 0.99), progress=False),
        ValueError,
        r"betas = \(0.9, 0.99\) has no effect with optimizer = 'sgd' \(Adam only\)",
        id="simulate-betas-sgd",
    ),
    pytest.param(
        lambda: sgd.simulate(Quadratic(C), W, lr=0.1, steps=2, optimizer="momentum", eps=1e-6,
                             progress=False),
        ValueError,
        r"eps = 1e-06 has no effect with optimizer = 'momentum' \(Adam only\)",
        id="simulate-eps-momentum",
    ),
    # -- the report configuration ------------------------------------------------------------------
    pytest.param(
        lambda: loads_config("[finite]\nbatch_sizes = [4, 100000]"),
        ConfigError,
        r"^\[finite\] batch_sizes = \[4, 100000\] \(batch size 100000\): needs about",
        id="config-batch_sizes",
    ),
    pytest.param(
        lambda: loads_config("[model]\nd = 100000000"),
        ConfigError,
        r"^\[model\] d = 100000000: needs about .* of memory",
        id="config-d",
    ),
    pytest.param(
        lambda: loads_config("[width]\nt_max = 1e-300"),
        ConfigError,
        r"^\[width\] t_max = 1e-300: too short",
        id="config-width-t_max",
    ),
    pytest.param(
        lambda: loads_config("[collapse]\nt_max = 1e-300"),
        ConfigError,
        r"^\[collapse\] t_max = 1e-300: too short",
        id="config-collapse-t_max",
    ),
    pytest.param(
        lambda: loads_config("[identifiability]\nseeds = 1000000"),
        ConfigError,
        r"^\[identifiability\] \d+ rhos.*seeds = 1000000: needs",
        id="config-seeds",
    ),
    pytest.param(
        lambda: loads_config("[dynamics]\nlrs = [1e-6, 2e-6, 4e-6, 8e-6]"),
        ConfigError,
        r"^\[dynamics\] lrs = .*t_max / lr = 8000000 steps",
        id="config-lrs",
    ),
    pytest.param(
        lambda: loads_config("[platonic]\nseeds = 100000"),
        ConfigError,
        r"^\[platonic\] steps = 800, batch_size = 64, seeds = 100000: needs about .* of memory",
        id="config-platonic-seeds",
    ),
    pytest.param(
        lambda: loads_config("[stepwise]\nlr = 1e-9"),
        ConfigError,
        r"^\[stepwise\] horizon / lr = about .* steps.*multiply-adds",
        id="config-stepwise-lr",
    ),
    pytest.param(
        lambda: loads_config("[predictor]\nseeds = 10000000"),
        ConfigError,
        r"^\[predictor\] t_max / lr = .* seeds = 10000000.*of memory",
        id="config-predictor-seeds",
    ),
    pytest.param(
        lambda: loads_config("[ntk]\nrf_widths = [100, 1000, 1000000000]"),
        ConfigError,
        r"^\[ntk\] rf_widths = \[100, 1000, 1000000000\].*(memory|multiply-adds)",
        id="config-ntk-rf-widths",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_probe_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_config_errors_are_one_line():
    for text in ("[finite]\nbatch_sizes = [4, 100000]", "[model]\nd = 100000000", "[width]\nt_max = 1e-300"):
        with pytest.raises(ConfigError) as info:
            loads_config(text)
        assert "\n" not in str(info.value)


def test_default_and_quick_configurations_pass_the_size_step():
    loads_config("")
    loads_config("", quick=True)


# -- extreme but representable: correct answers, no overflow ----------------------------------------
def test_closed_form_at_huge_times_is_exact_when_the_chart_is_reached():
    # the chart path costs a bounded number of chart changes whatever t: t = 1e300 is exact
    W0 = gm.random_point(D, H, rng=1)
    for frame in ("subspace", "horizontal"):
        traj = flows.grassmann_closed_form(C, W0, [0.0, 1e300], frame=frame)
        assert traj.stats["chart_changes"] <= 9  # C(5, 2) - 1, the bound of grassdyn._chart
        assert float(traj.distance_to(np.eye(D)[:, :H])[-1]) == 0.0


@pytest.mark.parametrize(
    "lam, w0, t, limit",
    [
        # a tie inside the top eigenspace: the start's own top component is the limit (these two
        # hung, then were refused by a sub-step limit, before the closed form's cost stopped growing with t)
        ([1.0, 1.0, 0.0], [0.1, 1.0, 0.1], 1e7, [0.1, 1.0, 0.0]),
        ([1.0, 1 - 1e-9, 0.0], [0.001, 1.0, 0.0], 1e300, [1.0, 0.0, 0.0]),
    ],
    ids=["tied-limit-1e7", "tiny-gap-1e300"],
)
def test_closed_form_at_long_times_on_ties_and_tiny_gaps_reaches_its_limit(lam, w0, t, limit):
    w0, limit = np.array(w0)[:, None], np.array(limit)[:, None]
    traj = flows.grassmann_closed_form(np.diag(lam), w0 / np.linalg.norm(w0), [0.0, t])
    assert float(traj.distance_to(limit / np.linalg.norm(limit))[-1]) < 1e-15


def test_norm_and_inner_of_huge_tangents_are_scaled_before_squaring():
    U = 1e300 * np.array([[0.0, 0.0], [0.0, 0.0], [0.6, 0.0], [0.8, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(gm.norm(W, U), 1e300, rtol=1e-15)
    np.testing.assert_allclose(gm.norm(W, 1e300 * V), np.sqrt(2) * 1e300, rtol=1e-15)
    np.testing.assert_allclose(gm.inner(W, 1e150 * V, 1e150 * V), 2e300, rtol=1e-15)
    with pytest.raises(ValueError, match="V1 and V2 are too large"):
        gm.inner(W, 1e300 * V, 1e300 * V)


def test_quadratic_value_and_gradient_of_large_frames_are_exact_where_representable():
    q = Quadratic(C)
    np.testing.assert_allclose(q.value(1e150 * W), -0.5 * (5 + 4) * 1e300, rtol=1e-15)
    np.testing.assert_allclose(q.egrad(1e307 * W)[:2], -np.diag([5e307, 4e307]), rtol=1e-15)


def test_oja_rhs_of_a_large_frame_is_exact_where_representable():
    Y = np.zeros((5, 1))
    Y[:2, 0] = 1.0
    # (I - Y Y^T) C Y with Y scaled by s: C Y s - Y (Y^T C Y) s^3, exact for s = 1e100
    s = 1e100
    expected = C @ Y * s - Y * (Y.T @ C @ Y).item() * s**3
    np.testing.assert_allclose(flows.oja_rhs(C, s * Y), expected, rtol=1e-15)


def test_check_gradient_normalises_a_huge_direction():
    assert ob.check_gradient(Quadratic(C), W, direction=1e300 * V).passed


def test_float_batch_size_like_random_point():
    X1, Xp1 = MODEL.sample_pairs(4, rng=0, batch=3)
    X2, Xp2 = MODEL.sample_pairs(4, rng=0, batch=(3,))
    assert X1.shape == (3, 4, D)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Xp1, Xp2)
    assert MODEL.sample_triplets(4, rng=0, batch=2)[2].shape == (2, 4, D)


# -- step budgets: the integrator says how far it got -------------------------------------------------
@pytest.mark.parametrize("method", ["dopri5", "bosh3", "scipy-RK45", "scipy-RK23", "scipy-DOP853"])
@pytest.mark.parametrize("t_end", [1e6, 1e300], ids=["1e6", "1e300"])
def test_integrate_honours_max_steps_and_says_how_far_it_got(method, t_end):
    W0 = gm.random_point(D, H, rng=1)
    with pytest.raises(IntegrationError, match=r"max_steps = 30 reached at t = ") as info:
        flows.integrate(Quadratic(C), W0, [0.0, 0.05, t_end], method=method, max_steps=30)
    err = info.value
    assert err.steps == 30 and 0.05 < err.t_reached < t_end and err.member == ()
    # the partial trajectory holds the requested times reached, and agrees with the closed form
    assert err.partial.t.tolist() == [0.0, 0.05]
    exact = flows.grassmann_closed_form(C, W0, [0.0, 0.05])
    assert float(np.max(exact.distance_to(err.partial))) < 1e-6


def test_integrate_names_the_member_of_a_batch_that_stopped():
    W0 = gm.random_point(D, H, rng=1, batch=2)
    with pytest.raises(IntegrationError, match=r"initial frame W0\[0\]") as info:
        flows.integrate(Quadratic(C), W0, [0.0, 1e6], max_steps=10)
    assert info.value.member == (0,) and info.value.partial is None


# -- the shared guards ---------------------------------------------------------------------------------
def test_check_allocation_compares_with_a_fraction_of_available_memory():
    ten_gb = lambda: 10**10  # noqa: E731
    assert check_allocation(4 * 10**9, "x", fraction=0.5, available=ten_gb) == 4 * 10**9
    with pytest.raises(ValueError, match=r"^x = 7: needs 5.59 GiB of memory, more than 0.5 of the 9.31 GiB"):
        check_allocation((750_000_000,), "x = 7", available=ten_gb)
    # small requests are granted without asking the system (inner loops call this)
    assert check_allocation((1000, 1000), "x", available=lambda: 0) == 8_000_000
    # sizes beyond int64 are Python integers, reported, not overflowed
    with pytest.raises(ValueError, match="PiB"):
        check_allocation((10**12, 10**12), "y")


def test_check_steps_names_its_argument():
    assert check_steps(10, "steps") == 10
    with pytest.raises(
        ValueError, match=r"^horizon = 3: implies 1e\+09 steps, more than the limit of 1e\+06"
    ):
        check_steps(10**9, "horizon = 3", limit=10**6)


# -- properties: scale before squaring ------------------------------------------------------------
@settings(deadline=None)
@given(exponent=st.integers(-300, 300), seed=st.integers(0, 2**16))
def test_norm_is_homogeneous_over_the_whole_float_range(exponent, seed):
    rng = np.random.default_rng(seed)
    W0 = gm.random_point(6, 2, rng)
    V0 = gm.project_tangent(W0, rng.standard_normal((6, 2)))
    s = 10.0**exponent
    np.testing.assert_allclose(gm.norm(W0, s * V0), s * gm.norm(W0, V0), rtol=1e-14)


@settings(deadline=None)
@given(exponent=st.integers(-150, 150), seed=st.integers(0, 2**16))
def test_quadratic_value_is_homogeneous_of_degree_two(exponent, seed):
    rng = np.random.default_rng(seed)
    q = Quadratic(np.diag(rng.uniform(0.5, 2.0, 5)))
    W0 = rng.standard_normal((5, 2))
    s = 10.0**exponent
    np.testing.assert_allclose(q.value(s * W0), s**2 * q.value(W0), rtol=1e-13)
