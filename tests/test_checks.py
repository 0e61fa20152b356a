"""grassdyn.report.checks: intervals, bootstraps, slope fits and the verdict logic of a check.

The verdict logic is tested as the properties that define it (hypothesis over
random intervals), the estimators against cases whose answer is known.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassdyn.report.checks import (
    Check,
    Interval,
    bootstrap,
    bootstrap_slope,
    combine,
    exact,
    slope_interval,
)

finite = st.floats(-1e3, 1e3, allow_nan=False)
positive = st.floats(1e-3, 1e3, allow_nan=False)


@st.composite
def intervals(draw):
    a, b, c = sorted(draw(st.lists(finite, min_size=3, max_size=3)))
    return Interval(b, a, c, "drawn")


# -- the verdict of a "within" check --------------------------------------------------------
@given(intervals(), finite, st.floats(0, 10), positive, st.floats(0.01, 1))
def test_within_fails_exactly_when_the_window_misses_the_prediction(m, p, tol, effect, fraction):
    if 2 * tol >= fraction * effect:
        with pytest.raises(ValueError, match="tolerance"):
            Check("q", m, p, "within", tolerance=tol, effect=effect, fraction=fraction)
        return
    c = Check("q", m, p, "within", tolerance=tol, effect=effect, fraction=fraction)
    low, high = m.low - tol, m.high + tol
    inside = low <= p <= high
    narrow = high - low <= fraction * effect
    assert c.window == (low, high)
    assert (c.verdict == "fail") is (not inside)
    assert (c.verdict == "pass") is (inside and narrow)
    assert (c.verdict == "inconclusive") is (inside and not narrow)
    assert c.passed is (c.verdict == "pass")


@given(intervals(), finite)
def test_bounds_pass_when_the_whole_interval_complies_and_fail_when_none_does(m, p):
    le, ge = Check("q", m, p, "<=").verdict, Check("q", m, p, ">=").verdict
    assert le == ("pass" if m.high <= p else "fail" if m.low > p else "inconclusive")
    assert ge == ("pass" if m.low >= p else "fail" if m.high < p else "inconclusive")


@given(intervals(), finite, positive)
def test_narrowing_an_interval_that_holds_the_prediction_never_turns_pass_into_worse(m, p, effect):
    c = Check("q", m, p, "within", effect=effect)
    narrower = Interval(m.estimate, (m.low + m.estimate) / 2, (m.high + m.estimate) / 2, "narrower")
    n = Check("q", narrower, p, "within", effect=effect)
    if c.verdict == "pass" and narrower.low <= p <= narrower.high:
        assert n.verdict == "pass"


def test_the_issue_case_fails_and_a_wide_window_is_inconclusive():
    # issue 9: SGD's lr order measured 0.27 against 0.5 passed "within 0.3"
    assert Check("order", Interval(0.27, 0.22, 0.32, "x"), 0.5, "within", effect=0.5).verdict == "fail"
    wide = Interval(0.27, -0.1, 0.64, "x")
    assert Check("order", wide, 0.5, "within", effect=0.5).verdict == "inconclusive"


@pytest.mark.parametrize("m", [Interval(math.nan, math.nan, math.nan, "x"), exact(math.inf)])
@pytest.mark.parametrize("relation", ["within", "<=", ">="])
def test_a_non_finite_measurement_fails(m, relation):
    assert Check("q", m, 1.0, relation, effect=1.0).verdict == "fail"


def test_a_non_finite_check_is_stored_as_strict_json_null():
    import json

    doc = Check("q", Interval(math.nan, math.nan, math.nan, "x"), 1.0, "<=").to_json()
    assert doc["measured"] is None and doc["low"] is None and doc["verdict"] == "fail"
    assert doc["effect"] is None and doc["resolution"] is None
    json.dumps(doc, allow_nan=False)


def test_combine_takes_the_worst_verdict():
    assert combine([]) == "pass"
    assert combine(["pass", "pass"]) == "pass"
    assert combine(["pass", "inconclusive"]) == "inconclusive"
    assert combine(["inconclusive", "fail", "pass"]) == "fail"


# -- bad arguments ----------------------------------------------------------------------
GOOD = exact(1.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"relation": "abs"}, ValueError, "relation must be one of"),
        ({"measured": 1.0}, TypeError, "measured must be an Interval"),
        ({"predicted": math.nan}, ValueError, "predicted must be finite"),
        ({"tolerance": -1.0}, ValueError, "tolerance must be finite and >= 0"),
        ({"tolerance": math.inf}, ValueError, "tolerance must be finite and >= 0"),
        ({"effect": math.nan}, ValueError, "effect must be finite and > 0"),
        ({"effect": 0.0}, ValueError, "effect must be finite and > 0"),
        ({"fraction": 0.0}, ValueError, r"fraction must lie in \(0, 1\]"),
        ({"fraction": 1.5}, ValueError, r"fraction must lie in \(0, 1\]"),
        ({"tolerance": 0.25}, ValueError, "leaves no room to decide"),
    ],
    ids=["relation", "measured-float", "predicted-nan", "tolerance-negative", "tolerance-inf",
         "effect-nan", "effect-zero", "fraction-zero", "fraction-above-one", "tolerance-as-wide-as-effect"],
)
def test_check_rejects_bad_arguments(kwargs, error, match):
    args = {"quantity": "q", "measured": GOOD, "predicted": 1.0, "relation": "within", "effect": 1.0,
            "fraction": 0.5, **kwargs}
    with pytest.raises(error, match=match):
        Check(**args)


def test_interval_rejects_an_estimate_outside_it():
    with pytest.raises(ValueError, match="low <= estimate <= high"):
        Interval(2.0, 0.0, 1.0, "x")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bootstrap([1.0]), "at least 2 replicates"),
        (lambda: bootstrap(3.0), "at least 2 replicates"),
        (lambda: slope_interval([0, 1], [0, 1]), "at least 3 points"),
        (lambda: slope_interval([0, 1, 2], [0, 1]), "1-D of one length"),
        (lambda: slope_interval([0, 1, 2, 3], [0, 1, 2, 3], corrections=[1, 2]), "corrections must have"),
        (lambda: slope_interval([0, 1, 2], [0, 1, 2], corrections=[1, 2, 3]), "needs at least 4 points"),
        (lambda: slope_interval([1, 1, 1, 1], [0, 1, 2, 3]), "linearly independent"),
        (lambda: bootstrap_slope([0, 1], [[1, 2], [3, 4], [5, 6]]), "shape"),
        (lambda: bootstrap_slope([0, 1], [[1], [2]]), "at least 2 replicates"),
        (lambda: bootstrap_slope([0], [[1, 2]]), "at least 2 points"),
        (lambda: bootstrap_slope([1, 1], [[1, 2], [3, 4]]), "2 distinct"),
        (lambda: bootstrap_slope([0, 1], [[1, 2], [3, 4]], statistic=lambda y: 0.0), "numpy reduction"),
    ],
    ids=["one-replicate", "scalar", "two-points", "shape-mismatch", "corrections-shape",
         "too-few-points-for-corrections", "constant-x", "y-shape", "one-seed", "one-point", "repeated-x",
         "custom-statistic"],
)
def test_estimators_reject_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_finite_samples_give_a_failing_interval_not_an_error():
    for m in (bootstrap([1.0, math.nan]), slope_interval([0, 1, 2], [0, math.inf, 2]),
              bootstrap_slope([0, 1], [[1.0, math.nan], [3.0, 4.0]])):
        assert not m.finite
        assert Check("q", m, 0.0, "<=").verdict == "fail"


# -- the estimators ---------------------------------------------------------------------
def test_bootstrap_covers_the_mean_at_about_its_level():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        m = bootstrap(rng.normal(1.0, 1.0, 16), np.mean, rng=rng, resamples=500)
        covered += m.low <= 1.0 <= m.high
    assert 0.88 <= covered / 200 <= 0.99


def test_bootstrap_with_two_replicates_is_wide_enough_to_read_inconclusive():
    rng = np.random.default_rng(1)
    two = bootstrap([0.49, 0.53], np.mean, rng=rng)
    many = bootstrap(rng.normal(0.51, 0.02, 16), np.mean, rng=rng)
    assert two.width > 5 * many.width
    assert Check("q", two, 0.5, "within", effect=0.5, fraction=0.2).verdict == "inconclusive"
    assert Check("q", many, 0.5, "within", effect=0.5, fraction=0.2).verdict == "pass"


def test_bootstrap_is_reproducible_from_its_rng_and_says_how_it_was_made():
    x = np.arange(10.0)
    assert bootstrap(x, rng=3) == bootstrap(x, rng=3)
    assert bootstrap(x, rng=3).method == "bootstrap over 10 seeds, 95%"
    # a statistic without an axis argument is called once per resample
    custom = bootstrap(x, lambda v: float(np.median(v)), rng=3)
    assert custom.estimate == bootstrap(x, np.median, rng=3).estimate


def test_slope_interval_of_a_noisy_line_covers_its_slope():
    rng = np.random.default_rng(2)
    x = np.linspace(0.0, 1.0, 20)
    m = slope_interval(x, 2.0 * x + rng.normal(0, 0.05, x.size))
    assert m.low < 2.0 < m.high and m.width < 0.2


def test_a_correction_term_removes_the_pre_asymptotic_bias_of_an_order():
    lr = np.array([0.08, 0.04, 0.02, 0.01])
    e = 0.7 * lr * (1 + 3.0 * lr + 2.0 * lr**2)  # first order, with an O(lr) correction and a remainder
    plain = slope_interval(np.log(lr), np.log(e))
    corrected = slope_interval(np.log(lr), np.log(e), corrections=lr)
    assert not plain.low <= 1.0 <= plain.high  # the bias the plain fit cannot see
    assert corrected.low <= 1.0 <= corrected.high and corrected.width < 0.05


def test_bootstrap_slope_recovers_a_power_law_over_seeds():
    rng = np.random.default_rng(4)
    B = np.array([16.0, 32.0, 64.0, 128.0])
    y = -0.5 * np.log(B)[:, None] + rng.normal(0, 0.1, (B.size, 16))
    m = bootstrap_slope(np.log(B), y, np.mean, rng=rng)
    assert m.low < -0.5 < m.high and m.width < 0.2
    assert "16 seeds per point (4 points)" in m.method
    # the estimate is the least-squares slope of the per-point means
    assert m.estimate == pytest.approx(np.polyfit(np.log(B), y.mean(axis=1), 1)[0])
