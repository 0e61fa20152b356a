"""Claim: minibatch noise scales like ``B^{-1/2}``, and finite samples like ``n^{-1/2}`` (Davis–Kahan).

*Batch size.* Online Riemannian SGD (fresh minibatches of ``B`` pairs every
step) at learning rate ``lr``, started at the limit, settles into a
stationary spread around it; linearising one step in the graph chart gives a discrete
Ornstein–Uhlenbeck process whose stationary mean squared distance is
``sum_ij lr E[zeta_ij^2] / (a_ij (2 - lr a_ij)) ∝ lr / B``
(:func:`grassdyn.compare.predict_fluctuation`; Mandt, Hoffman & Blei 2017).
The measured root-mean-square distance over the second half of the run
(:func:`grassdyn.compare.stationary_sq_distance`) is compared with it, and
its slope in ``B`` with ``-1/2``.

*Samples.* Gradient descent on a fixed data set of ``n`` pairs (the full
batch, one data set per seed) converges to the top-h eigenspace of the
empirical generator ``C_hat``, not the population one; its distance to the
population limit shrinks like ``n^{-1/2}`` (``||C_hat - C|| = O(n^{-1/2})``)
and ``||sin Theta||_F`` stays below the Davis–Kahan bound in the variant of
Yu, Wang & Samworth (2015), ``2 min(sqrt(h) ||E||_2, ||E||_F) / (lam_h - lam_{h+1})``
(:func:`grassdyn.compare.finite_sample_effect`).

*Checks.* Both exponents are fitted on the mean over seeds of the logarithm,
and bootstrapped over the seeds of each point
(:func:`grassdyn.report.checks.bootstrap_slope`); the amplitude is the
measured RMS spread over its prediction, averaged over B on the log scale
and bootstrapped over seeds. The linearisation is a small-angle expansion,
so its relative error grows like the squared spread: the configured batch
sizes keep the spread small (B >= 16: below about 0.15 rad; at B = 4 it is
0.3 rad and the measured spread is about 5% above the prediction, which
bends the fitted slope). Davis-Kahan is a bound for every data set: the
largest ratio over all of them is compared with 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from grassdyn import compare, flows, grassmann, plotting, sgd
from grassdyn.report.checks import Check, bootstrap, bootstrap_slope, exact
from grassdyn.report.claims._base import ClaimResult, build_loss, build_model, rng_for
from grassdyn.report.progress import Progress

NAME = "batch_and_samples"
TITLE = "Batch size and finite samples"
STREAM = 5
#: Predicted log-log slopes: stationary spread against B, and the finite-sample error against n.
BATCH_SLOPE, SAMPLE_SLOPE = -0.5, -0.5
#: Fraction of a run treated as transient before the stationary spread is measured.
BURN_IN = 0.5
#: The amplitude check's effect: a factor sqrt(2) in the predicted spread.
AMPLITUDE_EFFECT = float(np.sqrt(2.0) - 1.0)


class _StackedQuadratic:
    """The objectives ``-1/2 tr(W_s^T C_s W_s)`` of S data sets at once, for seed-vectorised GD."""

    def __init__(self, Cs: np.ndarray) -> None:
        self.C = Cs  # (S, d, d)

    def value(self, W: np.ndarray) -> np.ndarray:
        return -0.5 * np.einsum("sij,sik,skj->s", W, self.C, W)

    def egrad(self, W: np.ndarray) -> np.ndarray:
        return -(self.C @ W)


def _batch_part(
    cfg: dict[str, Any], loss: Any, rng: np.random.Generator, progress: Progress
) -> dict[str, Any]:
    c = cfg["finite"]
    limit = flows.limit(loss.C, c["h"])
    rms, predicted, rms_mean = [], [], []
    for B in c["batch_sizes"]:
        # started at the limit, so what is measured after the burn-in is the spread, not a transient
        run = sgd.simulate(loss, limit, lr=c["lr"], steps=c["steps"], batch_size=B, seeds=c["seeds"], rng=rng,
                           progress=False)
        keep = run.t >= BURN_IN * run.t[-1]
        rms.append(np.sqrt(np.mean(run.distance_to(limit)[:, keep] ** 2, axis=-1)))
        rms_mean.append(np.sqrt(compare.stationary_sq_distance(run, limit, burn_in=BURN_IN).mean_sq_distance))
        pred = compare.predict_fluctuation(loss, c["h"], lr=c["lr"], batch_size=B, rng=rng)
        predicted.append(np.sqrt(pred.mean_sq_distance))
        progress.step()
    return {"rms": np.asarray(rms), "rms_mean": np.asarray(rms_mean), "predicted": np.asarray(predicted)}


def _sample_part(cfg: dict[str, Any], model: Any, W0: np.ndarray, rng: np.random.Generator,
                 progress: Progress) -> dict[str, Any]:
    c = cfg["finite"]
    h, S = c["h"], c["sample_seeds"]
    population = build_loss(cfg, model)
    population_limit = flows.limit(population.C, h)
    deviation, to_empirical, sin_fro, bound = [], [], [], []
    for n in c["sample_sizes"]:
        losses = [build_loss(cfg, model.sample_pairs(n, rng)) for _ in range(S)]
        effects = [compare.finite_sample_effect(emp, population, h) for emp in losses]
        gd = sgd.simulate(_StackedQuadratic(np.stack([emp.C for emp in losses])), W0, lr=c["lr"],
                          steps=c["steps"], seeds=S, progress=False)
        final = gd.final
        deviation.append(grassmann.distance(final, population_limit))
        emp_limits = np.stack([fx.empirical_limit for fx in effects])
        to_empirical.append(grassmann.distance(final, emp_limits))
        sin_fro.append([fx.sin_fro for fx in effects])
        bound.append([fx.yu_wang_samworth for fx in effects])
        progress.step()
    return {
        "deviation": np.asarray(deviation),
        "to_empirical": np.asarray(to_empirical),
        "sin_fro": np.asarray(sin_fro),
        "bound": np.asarray(bound),
    }


def compute(cfg: dict[str, Any], progress: Progress) -> ClaimResult:
    """Run this claim at configuration ``cfg``: its numbers, checks and figure data."""
    c = cfg["finite"]
    progress.stage(TITLE, len(c["batch_sizes"]) + len(c["sample_sizes"]))
    rng = rng_for(cfg, STREAM)
    model = build_model(cfg)
    loss = build_loss(cfg, model)
    W0 = grassmann.random_point(model.d, c["h"], rng)
    batch = _batch_part(cfg, loss, rng, progress)
    samples = _sample_part(cfg, model, W0, rng, progress)
    progress.finish()
    Bs, ns = np.asarray(c["batch_sizes"]), np.asarray(c["sample_sizes"])
    batch_fit = bootstrap_slope(np.log(Bs), np.log(batch["rms"]), np.mean, rng=rng)
    sample_fit = bootstrap_slope(np.log(ns), np.log(samples["deviation"]), np.mean, rng=rng,
                                 what="data sets")
    batch_slope, sample_slope = batch_fit.estimate, sample_fit.estimate
    predicted = batch["predicted"]

    def amplitude(ms: np.ndarray) -> float:
        # RMS over seeds at each B against its prediction, averaged over B on the log scale
        return float(np.exp(np.mean(np.log(np.sqrt(ms.mean(axis=0)) / predicted))))

    ratio = bootstrap(batch["rms"].T ** 2, amplitude, rng=rng)
    fraction = c["slope_fraction"]
    slope_why = (f"the exponent is the effect (no dependence: slope 0); a passing window is at most "
                 f"{fraction * 0.5:.3g} wide ({fraction:g} of it)"
                 + (", which also excludes -1, the slope of a squared distance" if fraction < 1 else ""))
    checks = [
        Check("slope of the stationary SGD spread against batch size (log-log, mean log over seeds)",
              batch_fit, BATCH_SLOPE, "within", effect=-BATCH_SLOPE, fraction=fraction, why=slope_why),
        Check("measured / predicted stationary RMS spread (geometric mean over batch sizes)", ratio, 1.0,
              "within", effect=AMPLITUDE_EFFECT, fraction=c["amplitude_fraction"],
              why=(f"the effect is a factor sqrt(2) in the amplitude (a factor 2 in the variance, the "
                   f"commonest slip in an Ornstein-Uhlenbeck variance); a passing window is at most "
                   f"{c['amplitude_fraction'] * AMPLITUDE_EFFECT:.3g} wide")),
        Check("slope of GD's distance to the population limit against n (log-log, mean log over seeds)",
              sample_fit, SAMPLE_SLOPE, "within", effect=-SAMPLE_SLOPE, fraction=fraction, why=slope_why),
        Check("largest ratio of ||sin Theta||_F to the Davis-Kahan bound over n and seeds",
              exact(float(np.max(samples["sin_fro"] / samples["bound"])),
                    "largest over every data set drawn"), 1.0, "<=",
              why=("the bound holds for every data set, so the largest ratio over all of them may not "
                   "exceed 1")),
    ]
    data = {
        "batch_sizes": Bs,
        "batch_deviation": batch["rms"],
        "batch_rms_mean": batch["rms_mean"],
        "batch_amplitude_ratio": ratio.estimate,
        "batch_prediction": batch["predicted"],
        "batch_slope": batch_slope,
        "sample_sizes": ns,
        "sample_deviation": samples["deviation"],
        "sample_to_empirical_limit": samples["to_empirical"],
        "sin_theta_fro": samples["sin_fro"],
        "davis_kahan_bound": samples["bound"],
        "sample_slope": sample_slope,
        "lr": c["lr"],
        "steps": c["steps"],
    }
    statement = (
        f"Online SGD at lr {c['lr']:g} for {c['steps']} steps ({c['seeds']} seeds per batch size) "
        "fluctuates around the limit with a root-mean-square distance predicted by the linearised "
        "(Ornstein-Uhlenbeck) model, falling like `B^(-1/2)`; full-batch GD on a fixed data set of n pairs "
        f"({c['sample_seeds']} data sets per n) converges to the empirical limit, whose distance to the "
        "population limit falls like `n^(-1/2)`, within the Davis-Kahan bound."
    )
    return ClaimResult(NAME, TITLE, statement, checks, data)


def figure(data: dict[str, Any]) -> Figure:
    """Stationary spread against B (with the prediction), GD's error against n, and Davis-Kahan.

    GD on n pairs converges to the empirical limit, so its geodesic distance
    to the population limit and the empirical limit's ``||sin Theta||_F``
    nearly coincide; they are different quantities (an angle in radians, a
    norm of sines) and get panels of their own.
    """
    fig = Figure(figsize=(13.0, 3.8), layout="constrained")
    ax_b, ax_n, ax_dk = fig.subplots(1, 3)
    plotting.scaling(data["batch_sizes"], data["batch_deviation"], predicted_slope=BATCH_SLOPE,
                     fitted_slope=data["batch_slope"], xlabel="batch size $B$",
                     ylabel="RMS distance to the limit (rad)", label="online SGD", ax=ax_b,
                     title="Minibatch fluctuation")
    ax_b.plot(data["batch_sizes"], data["batch_prediction"], marker="s", linestyle=":", color="0.2",
              markersize=4, label="linearised prediction", zorder=5)
    ax_b.legend(fontsize="x-small")
    plotting.scaling(data["sample_sizes"], data["sample_deviation"], predicted_slope=SAMPLE_SLOPE,
                     fitted_slope=data["sample_slope"], xlabel="data set size $n$",
                     ylabel="distance to the population limit (rad)", label="GD on n pairs",
                     ax=ax_n, title="Finite samples")
    plotting.scaling(data["sample_sizes"], data["sin_theta_fro"], bound=data["davis_kahan_bound"],
                     xlabel="data set size $n$",
                     ylabel="$\\|\\sin\\Theta\\|_F$ to the population limit (no unit)",
                     label="empirical limit", ax=ax_dk, color_index=1, marker="s", linestyle="--",
                     bound_label="Davis–Kahan bound (Yu, Wang & Samworth)", title="Davis–Kahan")
    return fig
