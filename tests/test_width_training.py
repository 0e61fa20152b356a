"""Training both layers: gradients vs finite differences, linearisation, Riemannian step, divergence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import grassdyn as gd
from grassdyn.sgd import DivergenceError
from grassdyn.width import TwoLayer
from grassdyn.width import training as tr


def data(seed=0, n=6, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X + 0.3 * rng.standard_normal((n, d)), rng.standard_normal((n, d)), np.tanh(X[:, :2])


def objectives(X, Xp, Xn, Y):
    return {
        "supervised": tr.supervised(X, Y),
        "alignment": tr.alignment(X, Xp),
        "contrastive": tr.contrastive(X, Xp, Xn),
        "contrastive-in-batch": tr.contrastive(X, Xp),
        "cosine": tr.cosine_contrastive(X, Xp, Xn),
        "cosine-in-batch": tr.cosine_contrastive(X, Xp),
        "barlow": tr.barlow_twins(X, Xp),
        "barlow-weighted": tr.barlow_twins(X, Xp, off_diagonal=0.3),
    }


@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(list(objectives(*data()))))
def test_output_gradients_match_finite_differences(seed, name):
    rng = np.random.default_rng(seed)
    obj = objectives(*data(seed % 7))[name]
    F = rng.standard_normal((obj.inputs.shape[0], 2))
    _, G = obj.value_and_grad(F)
    E = rng.standard_normal(F.shape)
    eps = 1e-6
    fd = (obj.value_and_grad(F + eps * E)[0] - obj.value_and_grad(F - eps * E)[0]) / (2 * eps)
    assert np.isclose(np.sum(G * E), fd, rtol=1e-6, atol=1e-8)


def test_dot_product_losses_follow_the_ssl_conventions():
    # on a linear "network" f(x) = W^T x, the losses equal grassdyn.ssl's quadratic losses
    X, Xp, Xn, _ = data(3, n=8, d=4)
    W = np.random.default_rng(1).standard_normal((4, 2))
    for obj, loss in ((tr.alignment(X, Xp), gd.ssl.alignment((X, Xp))),
                      (tr.contrastive(X, Xp, Xn), gd.ssl.contrastive((X, Xp, Xn))),
                      (tr.contrastive(X, Xp), gd.ssl.contrastive((X, Xp)))):
        assert np.isclose(obj.value_and_grad(obj.inputs @ W)[0], loss.value(W), rtol=1e-12)


@pytest.mark.parametrize("off_diagonal", [1.0, 0.3, 0.0])
def test_barlow_twins_on_the_outputs_is_the_ssl_loss_on_the_features(off_diagonal):
    # f = W^T phi: the loss and its output-layer gradient are gd.ssl.barlow_twins on (phi(X), phi(X+))
    X, Xp, _, _ = data(6, n=8, d=4)
    net = TwoLayer(4, 12, 3, activation="tanh", rng=8)
    obj = tr.barlow_twins(X, Xp, off_diagonal=off_diagonal)
    loss = gd.ssl.barlow_twins((net.features(X), net.features(Xp)), off_diagonal=off_diagonal)
    value, G = obj.value_and_grad(net(obj.inputs))
    assert np.isclose(value, loss.value(net.W), rtol=1e-12)
    assert np.allclose(net.features(obj.inputs).T @ G, loss.egrad(net.W), rtol=1e-10, atol=1e-14)


def test_weighted_barlow_twins_is_refused_on_a_grassmannian_output_layer():
    X, Xp, _, _ = data(7)
    net = TwoLayer(3, 9, 2, output="grassmann", rng=9)
    with pytest.raises(ValueError, match=r"objective: Barlow Twins with off_diagonal = 0\.5 is not"):
        tr.train(net, tr.barlow_twins(X, Xp, off_diagonal=0.5), lr=0.1, steps=1, probe=X)
    run = tr.train(net, tr.barlow_twins(X, Xp), lr=0.1, steps=1, probe=X)  # beta = 1: invariant
    assert run.loss.shape == (2,)


@pytest.mark.parametrize("loss", ["cosine", "barlow"])
@pytest.mark.parametrize("output", ["free", "grassmann"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_one_step_moves_each_layer_down_its_gradient(loss, output, activation):
    X, Xp, Xn, _ = data(1)
    net = TwoLayer(3, 9, 2, activation=activation, output=output, rng=2)
    obj = tr.cosine_contrastive(X, Xp, Xn) if loss == "cosine" else tr.barlow_twins(X, Xp)
    lr = 1e-3
    run = tr.train(net, obj, lr=lr, steps=1, probe=X)

    def loss(U, W):
        probe_net = TwoLayer(3, 9, 2, activation=activation, rng=0)
        probe_net.U, probe_net.W = U, W
        return obj.value_and_grad(probe_net(obj.inputs))[0]

    U, W = net.U, net.W
    eps = 1e-6
    E = np.random.default_rng(3).standard_normal(U.shape)
    fd_U = (loss(U + eps * E, W) - loss(U - eps * E, W)) / (2 * eps)
    assert np.isclose(np.sum((U - run.U) / lr * E), fd_U, rtol=1e-5)
    dW = (run.W - W) / lr
    E = np.random.default_rng(4).standard_normal(W.shape)
    if output == "grassmann":
        E = gd.grassmann.project_tangent(W, E)
        assert np.max(np.abs(run.W.T @ run.W - np.eye(2))) < 1e-12
    fd_W = (loss(U, W + eps * E) - loss(U, W - eps * E)) / (2 * eps)
    assert np.isclose(np.sum(-dW * E), fd_W, rtol=1e-3)  # retraction: first order in lr


def test_the_linearisation_agrees_to_second_order_and_the_ntk_starts_unchanged():
    X, _, _, Y = data(2)
    net = TwoLayer(3, 50, 2, rng=5)
    gaps = []
    for lr in (1e-2, 5e-3):
        run = tr.train(net, tr.supervised(X, Y), lr=lr, steps=1, probe=X)
        assert run.ntk_change[0] == 0.0 and run.linearisation_distance[0] == 0.0
        gaps.append(run.linearisation_distance[1])
    assert 3.0 < gaps[0] / gaps[1] < 5.0  # O(lr^2) after one step


def test_supervised_training_fits_and_records_on_schedule():
    X, _, _, Y = data(4, n=10)
    run = tr.train(TwoLayer(3, 400, 2, rng=6), tr.supervised(X, Y), lr=0.5, steps=25, probe=X[:4],
                   record_every=10)
    assert run.t.tolist() == [0.0, 5.0, 10.0, 12.5]
    assert run.F.shape == (4, 4, 2) and run.loss[-1] < 0.2 * run.loss[0]
    assert np.all(run.ntk_change[1:] > 0) and np.all(run.ntk_change < 0.5)


def test_dot_product_divergence_names_the_step():
    X, Xp, _, _ = data(5)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+") as info:
        tr.train(TwoLayer(3, 64, 2, rng=7), tr.alignment(X, Xp), lr=1.0, steps=10_000, probe=X)
    assert info.value.step > 0 and info.value.lr == 1.0


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda net, X: tr.train(net, "mse", lr=0.1, steps=1, probe=X), TypeError, "objective"),
        (lambda net, X: tr.train(net, tr.alignment(X, X), lr=0.0, steps=1, probe=X), ValueError, "lr"),
        (lambda net, X: tr.train(net, tr.alignment(X, X), lr=0.1, steps=-1, probe=X), ValueError, "steps"),
        (lambda net, X: tr.train(net, tr.alignment(X, X), lr=0.1, steps=1, probe=np.ones((2, 4))),
         ValueError, "probe must have shape"),
        (lambda net, X: tr.barlow_twins(X, X, off_diagonal=-1.0), ValueError, "off_diagonal"),
        (lambda net, X: tr.train(net, tr.alignment(X[:, :2], X[:, :2]), lr=0.1, steps=1, probe=X),
         ValueError, "objective inputs"),
        (lambda net, X: tr.train(net, tr.supervised(X, np.ones((4, 3))), lr=0.1, steps=1, probe=X),
         ValueError, "targets"),
        (lambda net, X: tr.supervised(X, np.ones((3, 2))), ValueError, "Y must have shape"),
        (lambda net, X: tr.contrastive(X, X[:2]), ValueError, "Xp must have"),
        (lambda net, X: tr.train("net", tr.alignment(X, X), lr=0.1, steps=1, probe=X), TypeError, "net"),
    ],
    ids=["objective", "lr", "steps", "probe-d", "off-diagonal", "inputs-d", "targets-h", "Y", "Xp", "net"],
)
def test_bad_input_names_the_argument(call, exc, match):
    X = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(exc, match=match):
        call(TwoLayer(3, 8, 2, rng=0), X)


def test_the_width_benchmark_runs_in_quick_mode():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "width.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "random_features_flow" in result.stdout and "speed-up" in result.stdout


def test_objective_by_name_is_the_named_constructor():
    rng = np.random.default_rng(7)
    X, Xp, Xn, Y = (rng.standard_normal((6, 3)) for _ in range(4))
    F = rng.standard_normal((18, 2))
    direct = {"supervised": tr.supervised(X, Y[:, :2]), "alignment": tr.alignment(X, Xp),
              "contrastive": tr.contrastive(X, Xp, Xn),
              "cosine_contrastive": tr.cosine_contrastive(X, Xp, Xn),
              "barlow_twins": tr.barlow_twins(X, Xp, off_diagonal=0.3)}
    assert set(direct) == set(tr.OBJECTIVES)
    for name, expected in direct.items():
        got = tr.objective(name, X, Xp, Xn, Y[:, :2], off_diagonal=0.3)
        rows = got.inputs.shape[0]
        assert got.name == expected.name
        np.testing.assert_array_equal(got.inputs, expected.inputs)
        np.testing.assert_array_equal(got.value_and_grad(F[:rows])[1], expected.value_and_grad(F[:rows])[1])
    with pytest.raises(ValueError, match="name"):
        tr.objective("triplet", X, Xp)
