"""The population optima the claim ``platonic`` derives: stationary points, and which are the content."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from grassdyn import grassmann, ssl
from grassdyn.data import AugmentationModel
from grassdyn.report.claims.platonic import LOSSES, predicted_optimum
from grassdyn.report.claims.stepwise import crossing_times


@st.composite
def models(draw, rho_max=1.0):
    k, m = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    d = k + m + draw(st.integers(1, 2))
    gc = draw(st.lists(st.floats(0.5, 4.0), min_size=k, max_size=k, unique=True))
    gs = draw(st.lists(st.floats(0.5, 4.0), min_size=m, max_size=m, unique=True))
    return AugmentationModel(d, gc, gs, draw(st.floats(0.0, rho_max)), draw(st.floats(0.05, 0.5)),
                             rng=draw(st.integers(0, 2**32 - 1)))


def _stationary_frame(model, M, scale):
    """``scale Sigma^{-1/2} V Lambda^{1/2}``, ``(V, Lambda)`` the top-k of ``Sigma^{-1/2} M Sigma^{-1/2}``."""
    ev, U = np.linalg.eigh(model.second_moment)
    isqrt = (U / np.sqrt(ev)) @ U.T
    lam, V = np.linalg.eigh(isqrt @ M @ isqrt)
    lam, V = lam[::-1][: model.k], V[:, ::-1][:, : model.k]
    return scale * isqrt @ V * np.sqrt(lam)


@given(models())
def test_spectral_contrastive_and_info_nce_optima_are_stationary_points(model):
    # C W = Sigma W (W^T Sigma W) (spectral) and C W = Sigma W S / tau (InfoNCE, zero mean): the derivation
    spectral = ssl.spectral_contrastive(model)
    W = _stationary_frame(model, spectral.M, 1.0)
    np.testing.assert_allclose(spectral.egrad(W), 0.0, atol=1e-10 * max(1.0, np.abs(spectral.M).max()))
    tau = 0.7
    nce = ssl.info_nce(model, temperature=tau)
    W = _stationary_frame(model, nce.contrastive_generator, np.sqrt(tau))
    np.testing.assert_allclose(nce.egrad(W), 0.0, atol=1e-9)
    for name in ("spectral_contrastive", "info_nce"):
        assert grassmann.distance(predicted_optimum(name, model, model.k), np.linalg.qr(W)[0]) < 1e-7


@given(models(rho_max=1.0))
def test_below_rho_star_every_unique_optimum_is_the_content(model):
    rho_star = model.content.min() / model.style.max()
    k = model.k
    for name, _, unique in LOSSES:
        dist = grassmann.distance(predicted_optimum(name, model, k), model.content_basis)
        if model.rho < rho_star * 0.99 and (unique or name == "barlow_twins"):
            assert dist < 1e-7, name
        if name in ("alignment", "contrastive") and model.rho > rho_star * 1.01:
            assert dist > 1.0  # one style direction: a principal angle of pi/2


def test_above_rho_star_the_normalised_losses_keep_the_content():
    model = AugmentationModel(10, [5.0, 3.0, 2.0], [4.0, 2.0, 1.0], 0.8, 0.2, rng=0)
    for name in ("spectral_contrastive", "info_nce", "vicreg"):
        assert grassmann.distance(predicted_optimum(name, model, 3), model.content_basis) < 1e-7
    for name in ("alignment", "contrastive", "barlow_twins"):
        assert grassmann.distance(predicted_optimum(name, model, 3), model.content_basis) > 1.5


def test_crossing_times_interpolate_and_mark_missing_steps():
    t = np.linspace(0.0, 1.0, 11)
    modes = np.stack([t, 0.4 * t], axis=-1)  # mode 2 never reaches 1/2
    out = crossing_times(t, modes)
    assert out[0] == 0.5 and np.isnan(out[1])
