"""The user-facing hypothesis strategies produce what they promise, and reject bad arguments eagerly."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from grassdyn import strategies as gs
from grassdyn.strategies import dims, spectra, stiefel_frames, symmetric_matrices, tangent_vectors


def _defect(W):
    return np.max(np.abs(np.swapaxes(W, -1, -2) @ W - np.eye(W.shape[-1])))


@given(dims(min_d=2, max_d=7, min_h=2, max_h=3))
def test_dims_respect_bounds(dh):
    d, h = dh
    assert 2 <= d <= 7 and 2 <= h <= min(d, 3)


@given(dims(max_d=4, min_codim=2))
def test_dims_respect_codimension(dh):
    d, h = dh
    assert 3 <= d <= 4 and 1 <= h <= d - 2


@given(dims(max_d=6).flatmap(lambda dh: st.tuples(st.just(dh), stiefel_frames(*dh))))
def test_frames_are_orthonormal_with_requested_shape(args):
    (d, h), W = args
    assert W.shape == (d, h)
    assert _defect(W) < 1e-13


@given(stiefel_frames(st.integers(3, 5), st.integers(1, 3)))
def test_frames_accept_strategies(W):
    assert W.shape[0] in (3, 4, 5) and W.shape[1] in (1, 2, 3)
    assert _defect(W) < 1e-13


@given(stiefel_frames(40, 8))
def test_large_frames_use_seeded_gaussians(W):
    # 320 entries exceed MAX_DRAWN_ENTRIES: the seeded path must still give frames.
    assert 40 * 8 > gs.MAX_DRAWN_ENTRIES
    assert _defect(W) < 1e-13


@pytest.mark.parametrize(
    "G",
    [
        pytest.param(np.zeros((4, 2)), id="zeros"),
        pytest.param(np.ones((4, 2)), id="rank-one"),
        pytest.param(-np.eye(4, 2), id="minus-canonical"),
    ],
)
def test_degenerate_draws_are_completed_to_frames(G):
    W = gs._frame_from(G)
    assert _defect(W) < 1e-13
    assert np.linalg.matrix_rank(W) == 2


def test_frames_are_haar_like():
    """Second moments of a Haar frame: E[W W^T] = (h/d) I. Checked on the seeded Gaussian path
    (the same QR map as the drawn path), over many draws, to a 5-sigma tolerance."""
    rng = np.random.default_rng(0)
    d, h, n = 5, 2, 4000
    P = np.mean([(lambda W: W @ W.T)(gs._frame_from(rng.standard_normal((d, h)))) for _ in range(n)], axis=0)
    assert np.max(np.abs(P - h / d * np.eye(d))) < 5 * 0.5 / np.sqrt(n)


@given(st.data())
def test_tangent_vectors_are_horizontal_and_bounded(data):
    W = data.draw(stiefel_frames(st.integers(3, 6), 2))
    V = data.draw(tangent_vectors(W, min_norm=0.1, max_norm=1.4))
    assert V.shape == W.shape
    assert np.max(np.abs(W.T @ V)) < 1e-13
    assert 0.1 - 1e-12 <= np.linalg.norm(V) <= 1.4 + 1e-12


@given(tangent_vectors(stiefel_frames(5, 2), max_norm=0.0))
def test_tangent_vectors_zero_norm(V):
    assert np.all(V == 0.0)


@given(tangent_vectors(np.eye(3)))
def test_tangent_vectors_when_d_equals_h_are_zero(V):
    assert np.all(V == 0.0)


def test_tangent_vectors_degenerate_direction_is_completed():
    W = np.eye(4)[:, :2]
    T = gs._some_tangent(np.stack([W, np.eye(4)[:, 2:]]))
    assert np.all(np.abs(np.linalg.norm(T, axis=(-2, -1)) - 1.0) < 1e-14)
    assert np.max(np.abs(W.T @ T[0])) < 1e-15


@given(st.data())
def test_tangent_vectors_batched(data):
    W = np.stack([np.eye(5)[:, :2], np.eye(5)[:, 3:]])
    V = data.draw(tangent_vectors(W, min_norm=0.5, max_norm=1.0))
    assert np.max(np.abs(np.swapaxes(W, -1, -2) @ V)) < 1e-13
    norms = np.linalg.norm(V, axis=(-2, -1))
    assert np.all((norms >= 0.5 - 1e-12) & (norms <= 1.0 + 1e-12))


@given(spectra(st.integers(1, 8), min_gap=0.3, min_value=-2.0, max_value=3.0))
def test_spectra_distinct_with_exact_gaps(lam):
    assert np.all(np.diff(lam) <= -0.3)
    assert lam.min() >= -2.0 and lam.max() <= 3.0


@given(spectra(6, repeated=True, min_gap=1e-3))
def test_spectra_repeated_has_a_multiplicity(lam):
    gaps = -np.diff(lam)
    assert np.any(gaps == 0.0)
    assert np.all((gaps == 0.0) | (gaps >= 1e-3))


@given(spectra(5, repeated=(2, 1, 2), min_gap=0.5, min_value=0.0, max_value=2.0))
def test_spectra_exact_multiplicity_pattern(lam):
    assert lam[0] == lam[1] and lam[3] == lam[4]
    assert lam[1] - lam[2] >= 0.5 and lam[2] - lam[3] >= 0.5
    assert 0.0 <= lam.min() and lam.max() <= 2.0


@given(spectra(3, min_gap=1.0, min_value=0.0, max_value=2.0 + 1e-9))
def test_spectra_tight_range_is_forced_to_the_grid(lam):
    # Two gaps of 1 in a range of width 2 + 1e-9 leave almost no freedom.
    assert np.all(np.abs(lam - [2.0, 1.0, 0.0]) <= 1e-9)
    assert np.all(np.diff(lam) <= -1.0) and lam[-1] >= 0.0 and lam[0] <= 2.0 + 1e-9


@given(st.data())
def test_symmetric_matrices_have_the_given_spectrum(data):
    lam = data.draw(spectra(4, repeated=(1, 3)))
    C = data.draw(symmetric_matrices(4, eigenvalues=lam))
    assert np.array_equal(C, C.T)
    assert np.allclose(np.linalg.eigvalsh(C)[::-1], lam, atol=1e-13 * max(1.0, np.abs(lam).max()))


@given(symmetric_matrices(st.integers(1, 5)))
def test_symmetric_matrices_default_spectrum(C):
    assert np.array_equal(C, C.T)
    assert np.all(np.abs(np.linalg.eigvalsh(C)) <= 10.0 + 1e-12)


@given(symmetric_matrices(3, eigenvalues=st.just(np.array([1.0, 0.0, -1.0]))))
def test_symmetric_matrices_accept_a_strategy_of_spectra(C):
    assert np.allclose(np.linalg.eigvalsh(C), [-1.0, 0.0, 1.0])


W2 = np.eye(4)[:, :2]

BAD = [
    pytest.param(lambda: dims(min_d=0), "min_d", id="dims-min_d-zero"),
    pytest.param(lambda: dims(min_d=5, max_d=3), "min_d", id="dims-min_d-above-max_d"),
    pytest.param(lambda: dims(min_h=3, max_h=2), "min_h", id="dims-min_h-above-max_h"),
    pytest.param(lambda: dims(min_h=4, max_d=3), "min_h", id="dims-h-cannot-fit"),
    pytest.param(lambda: dims(max_d=2.5), "max_d", id="dims-float-bound"),
    pytest.param(lambda: dims(max_d=3, min_h=2, min_codim=2), "min_codim", id="dims-codim-cannot-fit"),
    pytest.param(lambda: dims(min_codim=-1), "min_codim must be >= 0", id="dims-negative-codim"),
    pytest.param(lambda: stiefel_frames(2, 3), "h must be <= d", id="frames-h-above-d"),
    pytest.param(lambda: stiefel_frames(-1, 1), "d must be >= 1", id="frames-negative-d"),
    pytest.param(lambda: stiefel_frames(3, "2"), "h must be an integer", id="frames-str-h"),
    pytest.param(lambda: stiefel_frames(True, 1), "d must be an integer", id="frames-bool-d"),
    pytest.param(lambda: tangent_vectors(2 * W2), "W must have orthonormal", id="tangent-non-orthonormal"),
    pytest.param(lambda: tangent_vectors(np.ones(3)), "W must be", id="tangent-1d-W"),
    pytest.param(lambda: tangent_vectors(np.eye(2, 3)), "W must have shape", id="tangent-wide-W"),
    pytest.param(lambda: tangent_vectors(W2 * np.nan), "W must be a finite", id="tangent-nan-W"),
    pytest.param(lambda: tangent_vectors(W2, max_norm=-1.0), "max_norm", id="tangent-negative-max_norm"),
    pytest.param(lambda: tangent_vectors(W2, min_norm=2.0, max_norm=1.0), "min_norm", id="tangent-min>max"),
    pytest.param(lambda: tangent_vectors(W2, max_norm=np.inf), "max_norm", id="tangent-inf-max_norm"),
    pytest.param(lambda: tangent_vectors(np.eye(3), min_norm=0.5), "min_norm", id="tangent-d-equals-h"),
    pytest.param(lambda: spectra(0), "d must be >= 1", id="spectra-d-zero"),
    pytest.param(lambda: spectra(3, min_gap=-1.0), "min_gap", id="spectra-negative-gap"),
    pytest.param(lambda: spectra(3, min_gap=6.0, max_value=1.0), "min_gap", id="spectra-no-room"),
    pytest.param(lambda: spectra(3, min_value=1.0, max_value=0.0), "min_value", id="spectra-empty-range"),
    pytest.param(lambda: spectra(3, min_gap=5.0, max_value=0.0), "min_gap", id="spectra-exact-fit"),
    pytest.param(lambda: spectra(3, min_value=np.nan), "min_value", id="spectra-nan-bound"),
    pytest.param(lambda: spectra(1, repeated=True), "repeated=True needs d >= 2", id="spectra-repeat-d1"),
    pytest.param(lambda: spectra(3, repeated=(1, 1)), "must sum to d", id="spectra-pattern-sum"),
    pytest.param(lambda: spectra(3, repeated=(0, 3)), "repeated must be >= 1", id="spectra-zero-mult"),
    pytest.param(lambda: spectra(3, repeated="yes"), "repeated must be", id="spectra-str-repeated"),
    pytest.param(lambda: symmetric_matrices(3, eigenvalues=[1.0, 2.0]), "eigenvalues", id="sym-bad-length"),
    pytest.param(lambda: symmetric_matrices(2, eigenvalues=[1.0, np.inf]), "eigenvalues", id="sym-inf"),
    pytest.param(lambda: symmetric_matrices(0), "d must be >= 1", id="sym-d-zero"),
]


@pytest.mark.parametrize(("make", "match"), BAD)
def test_bad_arguments_fail_at_call_time(make, match):
    with pytest.raises(InvalidArgument, match=match):
        make()


@pytest.mark.parametrize(
    ("strategy", "match"),
    [
        pytest.param(stiefel_frames(st.just(2), st.just(3)), "d >= h", id="frames-drawn-h-above-d"),
        pytest.param(spectra(st.just(1), repeated=True), "d >= 2", id="spectra-drawn-d1-repeated"),
        pytest.param(spectra(st.just(3), repeated=(1, 1)), "sum to d", id="spectra-drawn-pattern-sum"),
        pytest.param(symmetric_matrices(st.just(3), eigenvalues=[1.0]), "shape", id="sym-drawn-length"),
    ],
)
def test_inconsistent_drawn_values_fail_at_draw_time(strategy, match):
    @given(strategy)
    def draw(_):
        pass

    with pytest.raises(InvalidArgument, match=match):
        draw()


def test_readme_example_runs():
    """The README's property-test example, executed verbatim (so it cannot drift)."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Property tests with grassdyn.strategies", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    namespace["test_ky_fan"]()
