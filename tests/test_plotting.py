"""grassdyn.plotting on synthetic trajectories and results: figures with the right content, clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib import image
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from grassdyn import Trajectory, grassmann, plotting

LAM = np.array([3.0, 2.0, 1.0, 0.0])
T = np.linspace(0.0, 4.0, 21)


def _exact_frames(W0: np.ndarray, orthonormalise: bool, t: np.ndarray = T) -> np.ndarray:
    """``e^{diag(LAM) t} W0`` at the times ``t``, by hand (no grassdyn flow involved)."""
    Y = np.exp(LAM[None, :, None] * t[:, None, None]) * W0[None]
    return np.linalg.qr(Y)[0] if orthonormalise else Y


@pytest.fixture
def oja():
    W0 = grassmann.random_point(4, 2, rng=0)
    return Trajectory(t=T, W=_exact_frames(W0, True), method="synthetic")


@pytest.fixture
def naive():
    W0 = 0.1 * np.random.default_rng(1).standard_normal((4, 2))
    t = 2.0 * T  # long enough for sigma_2 / sigma_1 ~ e^{-t} to fall well below one
    return Trajectory(t=t, W=_exact_frames(W0, False, t), method="synthetic", manifold="euclidean")


def _pixels(fig: Figure) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    buffer.seek(0)
    return image.imread(buffer)


def _assert_drawn(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    pixels = _pixels(fig)
    assert pixels.shape[0] > 100 and float(np.var(pixels[..., :3])) > 1e-3


LIMIT = np.eye(4)[:, :2]


def test_distance_to_limit_from_a_trajectory_draws_its_distances(oja):
    fig = plotting.distance_to_limit({"flow": oja}, limit=LIMIT, rate=1.0)
    _assert_drawn(fig)
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), oja.distance_to(LIMIT))
    assert ax.get_yscale() == "log"
    rate_line = ax.get_lines()[1]
    t, y = rate_line.get_data()
    np.testing.assert_allclose(np.diff(np.log(y)) / np.diff(t), -1.0)


def test_seed_axis_becomes_a_median_with_a_band():
    rng = np.random.default_rng(2)
    runs = {"sgd": {"t": T, "distance": np.exp(-T) + 0.1 * rng.random((5, T.size))}}
    fig = plotting.distance_to_limit(runs)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), np.median(runs["sgd"]["distance"], axis=0))
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    assert "5 seeds" in ax.get_legend().get_texts()[0].get_text()


def test_drawing_into_given_axes_returns_its_figure(oja):
    fig = Figure()
    ax = fig.add_subplot()
    assert plotting.distance_to_limit({"flow": oja}, limit=LIMIT, ax=ax) is fig


def test_collapse_of_a_naive_trajectory(naive):
    fig = plotting.collapse({"flow": naive})
    _assert_drawn(fig)
    ax_sv, ax_er = fig.axes
    ratio = ax_sv.get_lines()[0].get_ydata()
    sv = np.linalg.svd(naive.W, compute_uv=False)
    np.testing.assert_allclose(ratio, sv[:, 1] / sv[:, 0])
    assert ratio[-1] < 0.01 * ratio[0]  # sigma_2/sigma_1 ~ e^{-(lam_1 - lam_2) t}: the collapse is drawn
    erank = ax_er.get_lines()[0].get_ydata()
    assert erank[-1] < 1.05 and erank[0] > 1.5


def test_collapse_from_result_data_matches_the_trajectory(naive):
    from grassdyn.theory import effective_rank

    sv = np.linalg.svd(naive.W, compute_uv=False)
    data = {"t": naive.t, "singular_values": sv, "effective_rank": effective_rank(naive.W)}
    a = plotting.collapse({"run": naive}).axes[1].get_lines()[0].get_ydata()
    b = plotting.collapse({"run": data}).axes[1].get_lines()[0].get_ydata()
    np.testing.assert_allclose(a, b)


def test_width_independence_draws_one_curve_and_one_prediction_per_width(oja):
    runs = {1: {"t": T, "distance": np.exp(-T)}, 2: {"t": T, "distance": 0.5 * np.exp(-0.5 * T)}}
    fig = plotting.width_independence(runs, {1: 1.0, 2: 0.5})
    _assert_drawn(fig)
    assert len(fig.axes[0].get_lines()) == 4
    with pytest.raises(ValueError, match="rates has no entry for width h = 2"):
        plotting.width_independence(runs, {1: 1.0})


@pytest.mark.parametrize(
    "rate, text", [(1.0, "$e^{-t}$"), (0.5, "$e^{-0.5t}$"), (2.0, "$e^{-2t}$"), (1.23456, "$e^{-1.23t}$"),
                   (0.0, "$e^{0}$"), (-1.0, "$e^{t}$")])
def test_rates_print_as_a_person_writes_them(rate, text):
    # issue 9: legends read "e^{-1t}"
    assert plotting.exp_label(rate) == text


def test_predicted_rates_are_drawn_dashed_on_top_of_the_data_with_readable_labels():
    runs = {1: {"t": T, "distance": np.exp(-T)}, 2: {"t": T, "distance": 0.5 * np.exp(-0.5 * T)}}
    ax = plotting.width_independence(runs, {1: 1.0, 2: 0.5}).axes[0]
    data, predicted = ax.get_lines()[0::2], ax.get_lines()[1::2]
    assert all(p.get_zorder() > d.get_zorder() for d, p in zip(data, predicted, strict=True))
    assert all(p.get_linestyle() == "--" for p in predicted)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "predicted $e^{-t}$" in labels and "predicted $e^{-0.5t}$" in labels
    assert not any("-1t" in label or "-1\\," in label for label in labels)
    lines = plotting.distance_to_limit({"a": {"t": T, "distance": np.exp(-T)}}, rate=1.0).axes[0].get_lines()
    assert lines[1].get_label() == "predicted rate $e^{-t}$" and lines[1].get_zorder() > lines[0].get_zorder()


def test_scaling_series_can_be_told_apart_by_marker_and_linestyle():
    x, y = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.7, 0.5])
    ax = plotting.scaling(x, y, label="a").axes[0]
    plotting.scaling(x, y, label="b", marker="s", linestyle="--", color_index=1, ax=ax)
    a, b = ax.get_lines()
    assert (a.get_marker(), a.get_linestyle()) == ("o", "-")
    assert (b.get_marker(), b.get_linestyle()) == ("s", "--")


def test_the_finite_samples_figure_gives_angles_and_sines_panels_of_their_own():
    # issue 9: GD's distance and the empirical limit's ||sin Theta||_F coincided on one axes,
    # labelled "(rad)" although a norm of sines is not an angle
    from grassdyn.report.claims import finite

    rng = np.random.default_rng(0)
    ns, Bs = np.array([100, 400, 1600]), np.array([16, 64, 256])
    dev = 3.0 / np.sqrt(ns)[:, None] * np.exp(rng.normal(0, 0.1, (3, 8)))
    data = {"batch_sizes": Bs, "batch_deviation": 0.6 / np.sqrt(Bs)[:, None] * np.ones((3, 4)),
            "batch_prediction": 0.6 / np.sqrt(Bs), "batch_slope": -0.5, "sample_sizes": ns,
            "sample_deviation": dev, "sin_theta_fro": np.sin(dev), "davis_kahan_bound": 10 * dev,
            "sample_slope": -0.5}
    fig = finite.figure(data)
    _assert_drawn(fig)
    _, ax_n, ax_dk = fig.axes
    assert "(rad)" in ax_n.get_ylabel() and "(rad)" not in ax_dk.get_ylabel()
    assert "sin" in ax_dk.get_ylabel()
    np.testing.assert_allclose(ax_dk.get_lines()[0].get_ydata(), np.median(np.sin(dev), axis=1))


def test_scaling_draws_the_predicted_power_law():
    x = np.array([4.0, 16.0, 64.0])
    y = 0.3 * x**-0.5
    fig = plotting.scaling(x, y, predicted_slope=-0.5, xlabel="B", ylabel="spread")
    _assert_drawn(fig)
    ax = fig.axes[0]
    predicted = ax.get_lines()[1]
    px, py = predicted.get_data()
    np.testing.assert_allclose(np.diff(np.log(py)) / np.diff(np.log(px)), -0.5)
    np.testing.assert_allclose(py, y)  # an exact power law: the prediction runs through it
    assert "fitted slope -0.50" in ax.get_legend().get_texts()[0].get_text()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "16", "64"]


def test_identifiability_marks_the_transition():
    rhos = np.linspace(0.0, 1.0, 6)
    dist = np.where(rhos < 0.5, 0.01, np.pi / 2)
    fig = plotting.identifiability(rhos, {"flow": dist}, transition=0.5, measured_transition=0.48)
    _assert_drawn(fig)
    xs = [line.get_xdata()[0] for line in fig.axes[0].get_lines()[1:]]
    assert xs == [0.5, 0.48]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: plotting.distance_to_limit({}), ValueError, "at least one run"),
        (lambda: plotting.distance_to_limit({"a": [1, 2]}), TypeError, "'a' must be a Trajectory or"),
        (lambda: plotting.distance_to_limit({"a": {"t": T, "distance": T[:-1]}}), ValueError, "a values"),
        (lambda: plotting.distance_to_limit({"a": {"t": T[::-1], "distance": T}}), ValueError,
         "non-decreasing"),
        (lambda: plotting.distance_to_limit({"a": {"t": T, "distance": T}}, ax="ax"), TypeError, "ax must"),
        (lambda: plotting.collapse({"a": {"t": T}}), TypeError, "singular_values"),
        (lambda: plotting.scaling([1, 2], [1.0, -1.0]), ValueError, "positive"),
        (lambda: plotting.scaling([1, 2], [1.0]), ValueError, "shape"),
        (lambda: plotting.identifiability([0.0, 1.0], {"f": [0.0]}), ValueError, "distances\\['f'\\]"),
        (lambda: plotting.identifiability([0.0, 1.0], {}), ValueError, "at least one curve"),
    ],
    ids=["no-runs", "not-a-run", "length-mismatch", "decreasing-t", "bad-ax", "collapse-keys",
         "negative-loglog", "scaling-shape", "ident-shape", "ident-empty"],
)
def test_bad_input_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_a_trajectory_needs_its_limit(oja):
    with pytest.raises(ValueError, match="limit is needed"):
        plotting.distance_to_limit({"flow": oja})
