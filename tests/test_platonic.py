"""SimSiam and BYOL in the claim ``platonic``: their derived optimum, its stability, the claim's checks."""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grassdyn import grassmann, ssl
from grassdyn import theory_predictor as tp
from grassdyn.data import AugmentationModel
from grassdyn.report.claims import platonic
from grassdyn.report.claims._base import build_model
from grassdyn.report.config import ConfigError, load_config, loads_config
from grassdyn.report.progress import Progress

ORBIT_TOL = 1e-6  # |eigenvalue| of a finite-difference Jacobian that counts as zero


@st.composite
def models(draw):
    k, m = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    d = k + m + draw(st.integers(1, 2))
    gc = draw(st.lists(st.floats(0.5, 4.0), min_size=k, max_size=k, unique=True))
    gs = draw(st.lists(st.floats(0.5, 4.0), min_size=m, max_size=m, unique=True))
    return AugmentationModel(d, gc, gs, draw(st.floats(0.0, 1.0)), draw(st.floats(0.05, 0.5)),
                             rng=draw(st.integers(0, 2**32 - 1)))


def _loss(name, model, fraction):
    gc = model.content
    eta = fraction * float(np.min(tp.weight_decay_threshold(gc, gc + model.noise**2)))
    if name == "simsiam":
        return ssl.simsiam(model, weight_decay=eta)
    return ssl.byol(model, weight_decay=eta, ema=0.5, lr=0.1)


def _fixed_state(loss, U, m, sigma, S):
    p = tp.fixed_point_values(m[list(S)], sigma[list(S)], loss.weight_decay, loss.predictor_lr)["p+"]
    W = U[:, list(S)] * (p / np.sqrt(loss.predictor_lr))
    state = {"W": W, "predictor": np.diag(p)}
    if loss.has_target:
        state["target"] = W.copy()
    return state


def _jacobian(loss, state, step=1e-6):
    """Central-difference Jacobian of ``loss.field`` in the flattened dynamic components."""
    keys = loss.dynamic_keys
    x0 = np.concatenate([state[k].ravel() for k in keys])
    sizes = np.cumsum([state[k].size for k in keys])[:-1]

    def f(x):
        parts = np.split(x, sizes)
        s = {k: v.reshape(state[k].shape) for k, v in zip(keys, parts, strict=True)}
        v = loss.field(s)
        return np.concatenate([v[k].ravel() for k in keys])

    cols = [(f(x0 + step * e) - f(x0 - step * e)) / (2 * step) for e in np.eye(x0.size)]
    return np.stack(cols, axis=1)


@settings(max_examples=25, deadline=None)
@given(models(), st.floats(0.05, 0.95), st.sampled_from(("simsiam", "byol")))
def test_every_selected_fixed_point_is_one_and_the_derived_ones_are_exactly_the_stable_ones(model, fraction,
                                                                                             name):
    loss = _loss(name, model, fraction)
    U, m, sigma = tp.common_eigenbasis(loss)
    h = model.k
    eta = loss.weight_decay
    alive = np.flatnonzero(m**2 > 4.0 * eta * sigma)
    found = platonic.predictor_optima(loss, h)
    stable = {tuple(np.flatnonzero(np.abs(U.T @ F).max(axis=1) > 0.5)) for F in found}
    orbit = h * (h - 1) // 2
    for S in itertools.combinations(alive.tolist(), h):
        state = _fixed_state(loss, U, m, sigma, S)
        v = loss.field(state)
        for key in loss.dynamic_keys:
            np.testing.assert_allclose(v[key], 0.0, atol=1e-10)
        # the transverse growth rates g_k(p_j), and a margin so that the finite differences decide
        p = np.diag(state["predictor"])
        others = np.setdiff1d(np.arange(m.size), S)
        g = m[others, None] * p - sigma[others, None] * p**2 - eta
        assume(np.min(np.abs(g)) > 1e-3)
        ev = np.sort(np.linalg.eigvals(_jacobian(loss, state)).real)[::-1]
        assume(np.all(np.abs(ev[orbit:]) > 1e-3) if S in stable else True)
        if S in stable:
            # the only non-decaying directions are the orbit W R, R^T Wp R (R in O(h)): the subspace is stable
            assert np.all(np.abs(ev[:orbit]) < ORBIT_TOL) and ev[orbit] < 0, (S, ev[: orbit + 2])
        else:
            assert ev[0] > ORBIT_TOL, (S, ev[:3])


@settings(max_examples=40, deadline=None)
@given(models(), st.floats(0.05, 0.95))
def test_below_rho_star_the_content_is_a_stable_non_collapsed_fixed_point(model, fraction):
    rho_star = model.content.min() / model.style.max()
    assume(model.rho < 0.99 * rho_star)
    loss = _loss("simsiam", model, fraction)
    found = platonic.predictor_optima(loss, model.k)
    assert any(grassmann.distance(F, model.content_basis) < 1e-7 for F in found)
    # and the only one when the weight decay kills every style direction
    style_threshold = tp.weight_decay_threshold(model.rho * model.style, model.style + model.noise**2)
    if loss.weight_decay > np.max(style_threshold):
        assert len(found) == 1


def test_the_report_model_has_the_content_as_its_only_optimum_on_both_sides():
    cfg = load_config()
    c = cfg["platonic"]
    for rho in (c["rho_below"], c["rho_above"]):
        model = build_model(cfg, rho)
        for name in platonic.PREDICTOR_METHODS:
            found = platonic.predictor_optima(platonic.make_predictor_loss(name, model, cfg), model.k)
            assert len(found) == 1
            assert grassmann.distance(found[0], model.content_basis) < 1e-8


def test_a_weight_decay_above_a_content_threshold_leaves_no_non_collapsed_fixed_point():
    model = AugmentationModel(6, [2.0, 1.0], [0.5], 0.5, 0.3, rng=1)
    loss = ssl.simsiam(model, weight_decay=1.01 * 1.0**2 / (4 * (1.0 + 0.09)))
    assert platonic.predictor_optima(loss, 2) == []


@pytest.mark.parametrize("key, value, match", [
    ("byol_ema", "1.0", "must be < 1"),
    ("predictor_decay_fraction", "1.0", "must be < 1"),
    ("predictor_decay_fraction", "0.0", "must be > 0"),
])
def test_the_configuration_refuses_impossible_predictor_settings(key, value, match):
    with pytest.raises(ConfigError, match=rf"^\[platonic\] {key} = {value}: {match}"):
        loads_config(f"[platonic]\n{key} = {value}")


def test_the_claim_at_the_quick_configuration_checks_simsiam_and_byol_and_decides():
    result = platonic.compute(load_config(quick=True), Progress(False))
    labels = result.data["labels"]
    assert labels[-2:] == ["simsiam sgd", "byol sgd"]
    assert not any("simsiam adam" in label or "byol adam" in label for label in labels)
    for name in platonic.PREDICTOR_METHODS:
        checks = [ch for ch in result.checks if f"{name} sgd to the content" in ch.quantity]
        assert len(checks) == 1 and checks[0].verdict == "pass"
    assert all(ch.verdict == "pass" for ch in result.checks)
    for side in ("below", "above"):
        cond = np.asarray(result.data[side]["condition"])[-2:]
        assert np.all(cond > 0.5)  # no collapsed direction: the learned span is well defined
