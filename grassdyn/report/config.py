"""The report's configuration: the embedded defaults, the quick variant, and validation.

A configuration is TOML (read with the standard library's :mod:`tomllib`).
A user file may set any subset of the keys below; the rest come from the
defaults (or from the quick variant with ``--quick``). Every key is checked:
an unknown key, a wrong type or an impossible value (``h > d``, ``rho``
outside ``[0, 1]``, a learning rate ``<= 0``) raises :class:`ConfigError`
with one line naming the key, which the command prints without a traceback.
So does a configuration out of the machine's reach (:func:`estimate` gives
each key's memory and work; too much of either is refused before any claim
runs) or one whose flow times are too short for a rate to be measured.

The resolved configuration is written beside the report (``config.toml``) and
into ``results.json``; passing it back with ``--config`` reproduces the run
exactly, because every random draw derives from ``seed``.

>>> cfg = load_config(quick=True)
>>> cfg["model"]["d"] >= cfg["dynamics"]["h"]
True
>>> loads_config("[model]\\nrho = 1.5")
Traceback (most recent call last):
...
grassdyn.report.config.ConfigError: [model] rho = 1.5: must be <= 1
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_TOML",
    "QUICK_TOML",
    "SPEC",
    "ConfigError",
    "dumps_config",
    "estimate",
    "load_config",
    "loads_config",
]

#: The default configuration of ``grassdyn report``: about 20 s on two idle cores.
DEFAULT_TOML = """\
# grassdyn report: the default configuration.
# Every random draw derives from `seed`: the same configuration gives the same numbers.
seed = 20240607

[model]
# The augmentation data model (docs/conventions.md) and the loss trained on it.
# The contrastive generator has eigenvalues content + rho * style (+ zeros).
d = 16
content = [5.0, 3.0, 2.0]
style = [4.0, 2.0, 1.0]
rho = 0.25
noise = 0.2
loss = "contrastive"

[collapse]
# (a) the unconstrained flow dW/dt = C W and unconstrained SGD from a small start.
h = 3
t_max = 4.0
n_times = 81
init_scale = 0.1
lr = 0.01
batch_size = 32
seeds = 4
max_effective_rank = 1.1
# a "within" check passes when its interval holds the prediction and is at most
# `fraction` of the effect wide (grassdyn.report.checks): here the rate lam_1 - lam_2
rate_fraction = 0.1

[dynamics]
# (b) Oja's flow: closed form, an ODE integrator, exact GD and minibatch SGD.
h = 3
t_max = 8.0
n_times = 81
integrator_rtol = 1e-8
max_integrator_error = 1e-6
# at least 4: GD's order is fitted with its first correction term, e = a lr^p (1 + b lr)
lrs = [0.08, 0.04, 0.02, 0.01]
batch_size = 32
seeds = 16
# largest passing window, as a fraction of the order tested (1 for GD, 1/2 for SGD)
order_fraction = 0.4

[width]
# (c) one start, nested widths h: W0[:, :h] of one frame of the largest width.
widths = [1, 2, 3]
t_max = 10.0
n_times = 101
max_nesting_error = 1e-8

[finite]
# (d) minibatch SGD against batch size, and a fixed data set of n pairs against n.
h = 3
lr = 0.02
steps = 800
# B >= 16: the spread stays below ~0.15 rad, where the linearised prediction holds (at B = 4 it
# is 0.3 rad and about 5% above it, which bends the fitted slope)
batch_sizes = [16, 32, 64, 128, 256]
sample_sizes = [100, 200, 400, 800, 1600, 3200, 6400]
seeds = 16
sample_seeds = 48
# largest passing windows: of the exponent 1/2, and of a factor sqrt(2) in the predicted spread
slope_fraction = 0.4
amplitude_fraction = 0.5

[identifiability]
# (e) distance of the learned subspace (h = number of content factors) to the content subspace.
# dense near rho* = 0.5, where the grid cell bounds the measured transition
rhos = [0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.475, 0.5, 0.525, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0]
# a long horizon (t = steps x lr = 100): the flow's finite-time shift of the transition falls like 1/t
lr = 0.1
steps = 1000
batch_size = 64
seeds = 4
# largest passing window on the transition, as a fraction of rho*
transition_fraction = 0.2

[ntk]
# (f) a two-layer relu network trained by full-batch GD on n triplets of the model: relative NTK
# change against the width for supervised MSE and four SSL losses; random features vs infinite width.
n = 16
h = 2
widths = [64, 128, 256, 512, 1024]
seeds = 5
lr = 0.2
steps = 30
record_every = 3
# the Grassmannian-output run continued until its representation has converged (t = 40)
long_lr = 1.0
long_steps = 40
rf_widths = [100, 1000, 10000, 100000]
rf_seeds = 8
rf_time = 2.0
rf_long_time = 1000.0

[stability]
# Symbolic critical points of Oja's flow for C = diag(eigenvalues), with h of them.
eigenvalues = [3, 2, 1, 0]
h = 2
flow_tol = 1e-8

[predictor]
# SimSiam with a linear predictor (Tian, Chen & Ganguli 2021) on its own zero-mean model, h = len(content):
# SGD, the matrix ODE and the eigenmode ODE; eigen-alignment; the weight-decay threshold of the top mode.
d = 6
content = [2.0, 1.0]
style = [0.5]
rho = 0.0
noise = 0.5
weight_decay = 0.1
predictor_lr = 1.0
init_scale = 0.3
generic_scale = 1.0
lr = 0.02
t_max = 30.0
n_times = 31
batch_size = 16
seeds = 16
threshold_factors = [0.8, 0.9, 0.95, 1.05, 1.1, 1.25]
threshold_lr = 0.05
threshold_t_max = 80.0
threshold_seeds = 4
value_fraction = 0.2
alignment_tol = 0.05
crossing_fraction = 0.25

[stepwise]
# Barlow Twins on the unconstrained model from a small Gaussian start: modes learned one at a time.
h = 3
init_scale = 1e-3
lr = 0.002
batch_size = 64
seeds = 8
n_times = 301
horizon = 1.4
flow_rtol = 0.01
sgd_rtol = 0.05

[platonic]
# Every SSL loss with SGD and Adam from the same starts, at rho_below < rho* and rho_above > rho*
# (rho* = min(content) / max(style)).
rho_below = 0.25
rho_above = 0.8
seeds = 4
batch_size = 64
steps = 800
lr = 0.02
adam_lr = 0.005
adam_lr_grassmann = 0.02
init_scale = 0.01
temperature = 0.5
# SimSiam and BYOL (SGD only): weight decay as a fraction of the smallest content threshold
# min gc^2 / (4 (gc + noise^2)), from the Haar frames at this scale, their own learning rate, BYOL's EMA.
predictor_decay_fraction = 0.25
predictor_init_scale = 1.0
predictor_lr = 0.05
byol_ema = 0.9
"""

#: Overrides applied to the defaults by ``--quick``: the same checks on fewer points.
QUICK_TOML = """\
[collapse]
n_times = 41
seeds = 2

[dynamics]
n_times = 41
seeds = 8

[width]
widths = [1, 3]
n_times = 51

[finite]
steps = 300
batch_sizes = [16, 64, 256]
sample_sizes = [100, 400, 1600]
seeds = 8

[identifiability]
rhos = [0.0, 0.45, 0.475, 0.5, 0.525, 0.55, 1.0]

[ntk]
widths = [64, 256, 1024]
seeds = 4
rf_widths = [100, 1000, 10000]
rf_seeds = 6

[stability]
eigenvalues = [2, 1, 0]
h = 1

[predictor]
threshold_factors = [0.9, 1.1]
threshold_t_max = 60.0
threshold_seeds = 2

[stepwise]
lr = 0.004
seeds = 5
n_times = 151

[platonic]
seeds = 3
steps = 400
adam_lr = 0.008
adam_lr_grassmann = 0.02
"""


class ConfigError(ValueError):
    """An invalid configuration; the message is one line that names the key."""


@dataclass(frozen=True)
class Field:
    """One configuration key: its kind, its bounds and what it means."""

    kind: str  # "int", "float", "str", "int_list", "float_list"
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()


def _f(help: str, low: float | None = None, high: float | None = None, *, open_: bool = False) -> Field:
    return Field("float", help, low, high, open_)


def _i(help: str, low: int = 1) -> Field:
    return Field("int", help, low)


def _floats(help: str, low: float | None = None, high: float | None = None, *, open_: bool = False) -> Field:
    return Field("float_list", help, low, high, open_)


#: Every key: section -> key -> Field (the top-level section is "").
SPEC: dict[str, dict[str, Field]] = {
    "": {"seed": _i("master seed of every random draw", 0)},
    "model": {
        "d": _i("ambient dimension"),
        "content": _floats("content variances gc (k of them)", 0.0, open_=True),
        "style": _floats("style variances gs (m of them)", 0.0),
        "rho": _f("fraction of the style kept by the augmentation", 0.0, 1.0),
        "noise": _f("standard deviation of the observation noise", 0.0),
        "loss": Field("str", "the SSL loss", choices=("contrastive", "alignment")),
    },
    "collapse": {
        "h": _i("width of the unconstrained representation", 2),
        "t_max": _f("final flow time", 0.0, open_=True),
        "n_times": _i("number of recorded times", 2),
        "init_scale": _f("scale of the Gaussian initial matrix", 0.0, open_=True),
        "lr": _f("learning rate of unconstrained SGD", 0.0, open_=True),
        "batch_size": _i("minibatch size"),
        "seeds": _i("number of SGD seeds (at least 2: the checks bootstrap over them)", 2),
        "max_effective_rank": _f("pass if the final effective rank is below this", 1.0),
        "rate_fraction": _f("largest passing window on the decay rate of sigma_2 / sigma_1, as a "
                            "fraction of the rate", 0.0, 1.0, open_=True),
    },
    "dynamics": {
        "h": _i("width"),
        "t_max": _f("final flow time", 0.0, open_=True),
        "n_times": _i("number of recorded times", 2),
        "integrator_rtol": _f("relative tolerance of the ODE integrator", 0.0, 1.0, open_=True),
        "max_integrator_error": _f("pass if the integrator stays this close to the closed form", 0.0,
                                   open_=True),
        "lrs": _floats("learning rates", 0.0, open_=True),
        "batch_size": _i("minibatch size of SGD"),
        "seeds": _i("number of SGD seeds (at least 2: the checks bootstrap over them)", 2),
        "order_fraction": _f("largest passing window on the fitted orders in lr, as a fraction of "
                             "the order", 0.0, 1.0, open_=True),
    },
    "width": {
        "widths": Field("int_list", "widths h (nested starts)", 1),
        "t_max": _f("final flow time", 0.0, open_=True),
        "n_times": _i("number of recorded times", 2),
        "max_nesting_error": _f("pass if nested starts stay nested to this angle", 0.0, open_=True),
    },
    "finite": {
        "h": _i("width"),
        "lr": _f("learning rate", 0.0, open_=True),
        "steps": _i("number of SGD steps"),
        "batch_sizes": Field("int_list", "minibatch sizes B", 1),
        "sample_sizes": Field("int_list", "data set sizes n", 2),
        "seeds": _i("number of SGD seeds per batch size (at least 2: the checks bootstrap over them)", 2),
        "sample_seeds": _i("number of data sets per size n (at least 2: the checks bootstrap over them)",
                           2),
        "slope_fraction": _f("largest passing window on the log-log slopes, as a fraction of 1/2", 0.0,
                             1.0, open_=True),
        "amplitude_fraction": _f("largest passing window on measured / predicted spread, as a fraction "
                                 "of sqrt(2) - 1", 0.0, 1.0, open_=True),
    },
    "identifiability": {
        "rhos": _floats("augmentation strengths rho", 0.0, 1.0),
        "lr": _f("learning rate", 0.0, open_=True),
        "steps": _i("number of SGD steps"),
        "batch_size": _i("minibatch size"),
        "seeds": _i("number of seeds (at least 2: the checks bootstrap over them)", 2),
        "transition_fraction": _f("largest passing window on the transition rho, as a fraction of "
                                  "rho*", 0.0, 1.0, open_=True),
    },
    "ntk": {
        "n": _i("number of training triplets (x, x+, x-)", 2),
        "h": _i("output dimension"),
        "widths": Field("int_list", "widths m of the trained networks", 1),
        "seeds": _i("number of seeds (data set and initialisation)", 2),
        "lr": _f("learning rate of full-batch gradient descent", 0.0, open_=True),
        "steps": _i("number of gradient steps"),
        "record_every": _i("steps between recorded NTKs"),
        "long_lr": _f("learning rate of the long Grassmannian-output run", 0.0, open_=True),
        "long_steps": _i("number of steps of the long Grassmannian-output run"),
        "rf_widths": Field("int_list", "widths m of the random-features flows", 1),
        "rf_seeds": _i("number of seeds of the random-features comparison", 2),
        "rf_time": _f("flow time at which random features are compared with infinite width", 0.0,
                      open_=True),
        "rf_long_time": _f("flow time at which random features are compared with kernel PCA", 0.0,
                           open_=True),
    },
    "predictor": {
        "d": _i("ambient dimension of the claim's own model"),
        "content": _floats("content variances (one mode each)", 0.0, open_=True),
        "style": _floats("style variances", 0.0),
        "rho": _f("fraction of the style kept by the augmentation", 0.0, 1.0),
        "noise": _f("standard deviation of the observation noise", 0.0),
        "weight_decay": _f("weight decay eta of the aligned and generic runs", 0.0),
        "predictor_lr": _f("predictor learning-rate ratio alpha", 0.0, open_=True),
        "init_scale": _f("aligned start: w0 = p0 = this in every mode", 0.0, open_=True),
        "generic_scale": _f("generic start: column norm of the Gaussian W0", 0.0, open_=True),
        "lr": _f("SGD learning rate", 0.0, open_=True),
        "t_max": _f("final flow time of the aligned and generic runs", 0.0, open_=True),
        "n_times": _i("number of recorded times", 2),
        "batch_size": _i("minibatch size"),
        "seeds": _i("number of SGD seeds", 2),
        "threshold_factors": _floats("weight decays eta / eta* of the threshold runs (both sides of 1)", 0.0,
                                     open_=True),
        "threshold_lr": _f("SGD learning rate of the threshold runs", 0.0, open_=True),
        "threshold_t_max": _f("final flow time of the threshold runs", 0.0, open_=True),
        "threshold_seeds": _i("seeds per threshold run"),
        "value_fraction": _f("resolution of the value checks, as a fraction of the predicted value", 0.0, 1.0,
                             open_=True),
        "alignment_tol": _f("pass if the final eigen-alignment angle is below this (rad)", 0.0, open_=True),
        "crossing_fraction": _f("resolution of the threshold check, as a fraction of eta*", 0.0, 1.0,
                                open_=True),
    },
    "stepwise": {
        "h": _i("number of modes (width of the unconstrained representation)"),
        "init_scale": _f("scale of the Gaussian initial matrix", 0.0, open_=True),
        "lr": _f("learning rate of SGD", 0.0, open_=True),
        "batch_size": _i("minibatch size"),
        "seeds": _i("number of seeds (one start each)", 2),
        "n_times": _i("number of recorded times", 3),
        "horizon": _f("run to this multiple of the last predicted step time", 1.0, open_=True),
        "flow_rtol": _f("pass if the integrator's step times are this close to the prediction", 0.0,
                        open_=True),
        "sgd_rtol": _f("pass if SGD's mean relative step-time errors are this small", 0.0, open_=True),
    },
    "platonic": {
        "rho_below": _f("augmentation strength below the identifiability threshold rho*", 0.0, 1.0),
        "rho_above": _f("augmentation strength above the identifiability threshold rho*", 0.0, 1.0),
        "seeds": _i("number of starts (one Haar frame each)", 2),
        "batch_size": _i("minibatch size", 2),
        "steps": _i("number of steps of every run"),
        "lr": _f("learning rate of SGD (VICReg: a quarter of it)", 0.0, open_=True),
        "adam_lr": _f("learning rate of Adam on the unconstrained model", 0.0, open_=True),
        "adam_lr_grassmann": _f("learning rate of Riemannian Adam", 0.0, open_=True),
        "init_scale": _f("scale of the start on the unconstrained model (a small start)", 0.0, open_=True),
        "temperature": _f("InfoNCE's temperature", 0.0, open_=True),
        "predictor_decay_fraction": _f("SimSiam/BYOL weight decay / the smallest content threshold", 0.0, 1.0,
                                       open_=True),
        "predictor_init_scale": _f("scale of the SimSiam/BYOL start (the same Haar frames)", 0.0, open_=True),
        "predictor_lr": _f("learning rate of SimSiam/BYOL's SGD", 0.0, open_=True),
        "byol_ema": _f("BYOL's target momentum per step", 0.0, 1.0),
    },
    "stability": {
        "eigenvalues": Field("int_list", "integer eigenvalues of a small diagonal generator", None),
        "h": _i("subspace dimension"),
        "flow_tol": _f("pass if the numerical flow ends this close to the stable point (rad)", 0.0,
                       open_=True),
    },
}


def _where(section: str, key: str) -> str:
    return f"[{section}] {key}" if section else key


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _check_number(value: Any, field: Field, where: str, integer: bool) -> float | int:
    expected = "an integer" if integer else "a number"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        raise ConfigError(f"{where} must be {expected}, got {_type_name(value)} {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{where} must be finite, got {value!r}")
    if field.low is not None and (value < field.low or (field.low_open and value == field.low)):
        raise ConfigError(f"{where} = {value!r}: must be {'>' if field.low_open else '>='} {field.low:g}")
    if field.high is not None and value > field.high:
        raise ConfigError(f"{where} = {value!r}: must be <= {field.high:g}")
    return value if integer else float(value)


def _check_value(value: Any, field: Field, where: str) -> Any:
    if field.kind in ("int", "float"):
        return _check_number(value, field, where, field.kind == "int")
    if field.kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {_type_name(value)} {value!r}")
        if value not in field.choices:
            raise ConfigError(f"{where} = {value!r}: must be one of {', '.join(map(repr, field.choices))}")
        return value
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be an array, got {_type_name(value)} {value!r}")
    if not value:
        raise ConfigError(f"{where} must not be empty")
    integer = field.kind == "int_list"
    return [_check_number(v, field, f"{where}[{i}]", integer) for i, v in enumerate(value)]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with the keys of ``override`` replacing its own, section by section."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(copy.deepcopy(value))
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_keys(raw: dict[str, Any]) -> None:
    """Reject unknown sections and keys, and tables where values belong (and vice versa)."""
    for key, value in raw.items():
        if key in SPEC and key:
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table (a [{key}] section), got {_type_name(value)}")
            for sub in value:
                if sub not in SPEC[key]:
                    known = ", ".join(SPEC[key])
                    raise ConfigError(f"unknown key {sub!r} in [{key}] (known keys: {known})")
        elif key not in SPEC[""]:
            known = ", ".join([*SPEC[""], *(f"[{s}]" for s in SPEC if s)])
            raise ConfigError(f"unknown key {key!r} at the top level (known: {known})")


def _check_consistency(cfg: dict[str, Any]) -> None:
    """Cross-key constraints: widths within the ambient dimension, and so on."""
    model = cfg["model"]
    d, k, m = model["d"], len(model["content"]), len(model["style"])
    if k + m > d:
        raise ConfigError(f"[model] d = {d}: must be >= k + m = {k} + {m} (content and style factors)")
    for section in ("collapse", "dynamics", "finite", "stepwise"):
        h = cfg[section]["h"]
        if h >= d:
            raise ConfigError(f"[{section}] h = {h}: must be < [model] d = {d}")
    pred = cfg["predictor"]
    if len(pred["content"]) + len(pred["style"]) > pred["d"]:
        raise ConfigError(f"[predictor] d = {pred['d']}: must be >= the number of content and style factors")
    factors = pred["threshold_factors"]
    if min(factors) >= 1 or max(factors) <= 1:
        raise ConfigError(f"[predictor] threshold_factors = {factors}: need values on both sides of 1")
    widths = cfg["width"]["widths"]
    if max(widths) >= d:
        raise ConfigError(f"[width] widths = {widths}: every width must be < [model] d = {d}")
    if len(set(widths)) != len(widths):
        raise ConfigError(f"[width] widths = {widths}: must be distinct")
    for section, key in (("finite", "batch_sizes"), ("finite", "sample_sizes")):
        if len(set(cfg[section][key])) < 2:
            raise ConfigError(f"[{section}] {key}: needs at least 2 distinct values to fit a slope")
    t_max = cfg["dynamics"]["t_max"]
    for lr in cfg["dynamics"]["lrs"]:
        steps = round(t_max / lr)
        if steps < 1 or abs(steps * lr - t_max) > 1e-9 * t_max:
            raise ConfigError(f"[dynamics] lrs: {lr!r} must divide t_max = {t_max!r} (whole number of steps)")
    if len(set(cfg["dynamics"]["lrs"])) < 4:
        raise ConfigError("[dynamics] lrs: needs at least 4 distinct values (GD's order is fitted with a "
                          "correction term, and needs a residual to estimate its interval)")
    rho_star = min(model["content"]) / max(model["style"]) if max(model["style"]) > 0 else math.inf
    plat = cfg["platonic"]
    if not plat["rho_below"] < rho_star < plat["rho_above"]:
        raise ConfigError(
            f"[platonic] rho_below = {plat['rho_below']!r}, rho_above = {plat['rho_above']!r}: must lie on "
            f"either side of rho* = min(content) / max(style) = {rho_star:.4g}"
        )
    for key, why in (("predictor_decay_fraction", "at or above the content threshold every content direction "
                      "collapses"), ("byol_ema", "ema = 1 never moves BYOL's target")):
        if plat[key] >= 1.0:
            raise ConfigError(f"[platonic] {key} = {plat[key]!r}: must be < 1 ({why})")
    rhos = cfg["identifiability"]["rhos"]
    if len(rhos) < 2 or sorted(rhos) != rhos:
        raise ConfigError(f"[identifiability] rhos = {rhos}: must be at least 2 values, increasing")
    ntk = cfg["ntk"]
    for key in ("widths", "rf_widths"):
        if len(ntk[key]) < 3 or len(set(ntk[key])) != len(ntk[key]):
            raise ConfigError(f"[ntk] {key} = {ntk[key]}: needs at least 3 distinct widths (an exponent)")
        if ntk["h"] > min(ntk[key]):
            raise ConfigError(f"[ntk] h = {ntk['h']}: must be <= the smallest of [ntk] {key}")
    if ntk["h"] >= cfg["model"]["d"]:
        raise ConfigError(f"[ntk] h = {ntk['h']}: must be < [model] d = {cfg['model']['d']}")
    stab = cfg["stability"]
    if not 1 <= stab["h"] < len(stab["eigenvalues"]):
        raise ConfigError(
            f"[stability] h = {stab['h']}: must be >= 1 and < the number of eigenvalues "
            f"({len(stab['eigenvalues'])})"
        )
    if len(set(stab["eigenvalues"])) != len(stab["eigenvalues"]):
        raise ConfigError(f"[stability] eigenvalues = {stab['eigenvalues']}: must be distinct")
    if len(stab["eigenvalues"]) > 6:
        raise ConfigError("[stability] eigenvalues: at most 6 (the table lists every h-subset)")


#: Most work one configuration key may ask of a claim, in multiply-adds (about a minute at
#: the effective rate of small batched products on this kind of machine). The default
#: configuration's largest entry is about 1e9.
MAX_WORK = 2e10

#: Fraction of the available memory (grassdyn._validation.available_memory) the arrays of one
#: configuration key may take.
MEMORY_FRACTION = 0.5

_FLOAT = 8  # bytes per float64


def _generator_spectrum(model: dict[str, Any], count: int) -> list[float]:
    """The ``count`` largest eigenvalues of the generator, descending.

    Contrastive and alignment generators of the centred model have the same
    spectrum: ``content``, ``rho * style`` and ``d - k - m`` zeros.
    """
    lam = sorted([*model["content"], *(model["rho"] * g for g in model["style"])], reverse=True)
    return (lam + [0.0] * count)[:count]


def _sgd_cost(seeds: int, steps: int, B: int, d: int, h: int, recorded: int) -> tuple[float, float]:
    """(bytes, multiply-adds) of a seed-vectorised SGD run of :func:`grassdyn.sgd.simulate`.

    Its buffers hold about ``max(64 Ki, 3 B d)`` floats of minibatch draws per seed (the
    sampler's chunks), its record ``seeds x recorded x d x h``; each step costs about
    ``6 B d h`` per seed (three views, a product each way).
    """
    buffers = seeds * max(1 << 16, 3 * B * d) * _FLOAT
    record = seeds * recorded * d * h * _FLOAT
    return float(buffers + record), 6.0 * seeds * steps * B * d * h


def estimate(cfg: dict[str, Any]) -> list[tuple[str, float, float]]:
    """What each claim asks of the machine: ``(configuration key, bytes, multiply-adds)`` entries.

    One entry per array-sizing or work-setting choice, named by the key that
    drives it (the one a user would change), with the memory of its largest
    arrays and the arithmetic of its main loops. These are estimates of the
    leading terms, within a small factor of what the claims allocate and run.
    """
    model = cfg["model"]
    d = model["d"]
    out: list[tuple[str, float, float]] = [
        # C, Sigma, the cross moments and the eigenvectors: a handful of d x d matrices; eigh is O(d^3)
        (f"[model] d = {d}", 6.0 * d * d * _FLOAT, 10.0 * float(d) ** 3),
    ]
    c = cfg["collapse"]
    steps = max(1, round(c["t_max"] / c["lr"]))
    mem, work = _sgd_cost(c["seeds"], steps, c["batch_size"], d, c["h"], c["n_times"])
    out.append((f"[collapse] t_max / lr = {steps} steps, batch_size = {c['batch_size']}, "
                f"seeds = {c['seeds']}", mem, work))
    c = cfg["dynamics"]
    for lr in c["lrs"]:
        steps = max(1, round(c["t_max"] / lr))
        mem, work = _sgd_cost(c["seeds"], steps, c["batch_size"], d, c["h"], c["n_times"])
        # exact gradient descent beside the minibatch runs: a d x d product per step and seed
        out.append((f"[dynamics] lrs = {c['lrs']} (lr = {lr!r}: t_max / lr = {steps} steps), "
                    f"batch_size = {c['batch_size']}, seeds = {c['seeds']}", mem,
                    work + float(steps) * c["seeds"] * d * d * c["h"]))
    c = cfg["width"]
    H, T = max(c["widths"]), c["n_times"]
    out.append((f"[width] n_times = {T}, widths = {c['widths']}", 4.0 * len(c["widths"]) * T * d * H * _FLOAT,
                float(T) * len(c["widths"]) * d * d * H))
    c = cfg["finite"]
    for B in c["batch_sizes"]:
        mem, work = _sgd_cost(c["seeds"], c["steps"], B, d, c["h"], c["steps"] + 1)
        out.append((f"[finite] batch_sizes = {c['batch_sizes']} (batch size {B})", mem, work))
    for n in c["sample_sizes"]:
        # seeds data sets of n pairs, their empirical generators (n d^2 each) and exact GD on them
        mem = c["seeds"] * (2.0 * n * d + d * d) * _FLOAT
        work = c["seeds"] * (2.0 * n * d * d + float(c["steps"]) * d * d * c["h"])
        out.append((f"[finite] sample_sizes = {c['sample_sizes']} (n = {n}), seeds = {c['seeds']}",
                    mem, work))
    c = cfg["identifiability"]
    mem, work = _sgd_cost(c["seeds"], c["steps"], c["batch_size"], d, len(model["content"]), 2)
    out.append((f"[identifiability] {len(c['rhos'])} rhos, steps = {c['steps']}, batch_size = "
                f"{c['batch_size']}, seeds = {c['seeds']}", mem, work * len(c["rhos"])))
    out += _estimate_new_claims(cfg)
    return out


def _estimate_new_claims(cfg: dict[str, Any]) -> list[tuple[str, float, float]]:
    """:func:`estimate` for the claims ntk, predictor, stepwise and platonic."""
    model, out = cfg["model"], []
    d = model["d"]
    c = cfg["ntk"]
    n, h, m = c["n"], c["h"], max(c["widths"])
    # per width and seed: U (m, d), W (m, h) and the features (3n, m); five losses, each step a
    # forward and a backward pass over 3n inputs, and an NTK of the n probes per record
    steps = c["steps"] + c["long_steps"]
    records = steps / c["record_every"] + 2
    per_width = sum(c["widths"]) * (2.0 * 3 * n * (d + h) * steps + float(n) ** 2 * records)
    out.append((f"[ntk] widths = {c['widths']}, n = {n}, steps = {c['steps']}, seeds = {c['seeds']}",
                (m * (d + h) + 3.0 * n * m + (3.0 * n) ** 2) * _FLOAT * 4, 5.0 * c["seeds"] * per_width))
    r, chunk = 3 * n, 1 << 16
    out.append((f"[ntk] rf_widths = {c['rf_widths']}, rf_seeds = {c['rf_seeds']}",
                (r * r + r * min(max(c["rf_widths"]), chunk) + r * d) * _FLOAT * 4,
                float(c["rf_seeds"]) * sum(r * r * w + r * w * d for w in c["rf_widths"])))
    c = cfg["predictor"]
    dp, hp = c["d"], len(c["content"])
    steps = max(1, round(c["t_max"] / c["lr"]))
    mem, work = _sgd_cost(c["seeds"], steps, c["batch_size"], dp, hp, c["n_times"])
    t_steps = max(1, round(c["threshold_t_max"] / c["threshold_lr"]))
    _, t_work = _sgd_cost(c["threshold_seeds"], t_steps, c["batch_size"], dp, hp, 2)
    out.append((f"[predictor] t_max / lr = {steps} steps, seeds = {c['seeds']}, "
                f"batch_size = {c['batch_size']}", mem, 3.0 * work))
    out.append((f"[predictor] threshold_factors = {c['threshold_factors']}, threshold_t_max / threshold_lr = "
                f"{t_steps} steps, threshold_seeds = {c['threshold_seeds']}", mem,
                len(c["threshold_factors"]) * t_work))
    c = cfg["stepwise"]
    # the last mode steps at about ln(1 / s0) / (8 gamma_h), s0 ~ (init_scale^2 d): its steps at lr
    gamma = max(_generator_spectrum(model, c["h"])[-1], 1e-12)
    s0 = min(max(c["init_scale"] ** 2 * d, 1e-300), 0.5)
    steps = max(1, round(c["horizon"] * math.log(1.0 / s0) / (8.0 * gamma * c["lr"])))
    mem, work = _sgd_cost(c["seeds"], steps, c["batch_size"], d, c["h"], c["n_times"])
    out.append((f"[stepwise] horizon / lr = about {steps} steps, batch_size = {c['batch_size']}, "
                f"seeds = {c['seeds']}", mem, work))
    c = cfg["platonic"]
    k = len(model["content"])
    B = c["batch_size"]
    mem, work = _sgd_cost(c["seeds"], c["steps"], B, d, k, 2)
    # six losses with two optimisers and SimSiam/BYOL with SGD, two rhos; InfoNCE adds B^2 h per step
    out.append((f"[platonic] steps = {c['steps']}, batch_size = {B}, seeds = {c['seeds']}",
                mem + c["seeds"] * B * B * _FLOAT,
                28.0 * (work + c["seeds"] * c["steps"] * float(B) * B * k)))
    return out


def _check_size(cfg: dict[str, Any]) -> None:
    """Refuse, before any claim runs, a configuration whose arrays or work are out of reach.

    Memory: each entry of :func:`estimate` may take at most
    :data:`MEMORY_FRACTION` of the available memory
    (:func:`grassdyn._validation.available_memory`); work: at most
    :data:`MAX_WORK` multiply-adds. The error names the key and the size.
    """
    from grassdyn._validation import _format_bytes, available_memory

    limit = MEMORY_FRACTION * available_memory()
    for where, nbytes, work in estimate(cfg):
        if nbytes > limit:
            raise ConfigError(
                f"{where}: needs about {_format_bytes(nbytes)} of memory, more than {MEMORY_FRACTION:g} of "
                f"the {_format_bytes(limit / MEMORY_FRACTION)} available; reduce it"
            )
        if work > MAX_WORK:
            raise ConfigError(
                f"{where}: needs about {work:.2g} multiply-adds, more than the limit of {MAX_WORK:.0e} "
                "(minutes to hours of computing); reduce it"
            )


def _check_times(cfg: dict[str, Any]) -> None:
    """Flow times long enough for the claims that fit a rate to see the flow move.

    [width] fits each width's late-time rate ``lam_h - lam_(h+1)``: the distance
    must decay by at least a factor ``e`` over ``[0, t_max]``, so
    ``t_max (lam_h - lam_(h+1)) >= 1``; [collapse] fits the decay of
    ``sigma_2 / sigma_1`` at rate ``lam_1 - lam_2``, with the same requirement.
    """
    lam = _generator_spectrum(cfg["model"], max(cfg["width"]["widths"]) + 1)
    t_max = cfg["width"]["t_max"]
    for h in cfg["width"]["widths"]:
        gap = lam[h - 1] - lam[h]
        if gap <= 0:
            raise ConfigError(
                f"[width] widths: width {h} has no spectral gap (lam_{h} = lam_{h + 1} = {lam[h]:g}); "
                "its rate cannot be measured"
            )
        if t_max * gap < 1.0:
            raise ConfigError(
                f"[width] t_max = {t_max!r}: too short for width {h} to converge measurably "
                f"(t_max (lam_{h} - lam_{h + 1}) = {t_max * gap:.3g} < 1)"
            )
    gap = lam[0] - lam[1]
    t_max = cfg["collapse"]["t_max"]
    if gap > 0 and t_max * gap < 1.0:
        raise ConfigError(
            f"[collapse] t_max = {t_max!r}: too short to see the collapse "
            f"(t_max (lam_1 - lam_2) = {t_max * gap:.3g} < 1)"
        )


def validate(raw: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a parsed configuration, fill in the missing keys from ``base``, return it.

    Raises
    ------
    ConfigError
        One line naming the offending key.
    """
    _check_keys(raw)
    cfg = _merge(base if base is not None else _defaults(), raw)
    for section, fields in SPEC.items():
        values = cfg if not section else cfg[section]
        for key, field in fields.items():
            values[key] = _check_value(values[key], field, _where(section, key))
    _check_consistency(cfg)
    _check_size(cfg)
    _check_times(cfg)
    return cfg


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def _defaults(quick: bool = False) -> dict[str, Any]:
    cfg = _parse(DEFAULT_TOML, "the default configuration")
    return _merge(cfg, _parse(QUICK_TOML, "the quick configuration")) if quick else cfg


def loads_config(text: str, *, quick: bool = False, source: str = "config") -> dict[str, Any]:
    """Parse and validate TOML text over the defaults (the quick ones if ``quick``)."""
    return validate(_parse(text, source), _defaults(quick))


def load_config(path: str | Path | None = None, *, quick: bool = False) -> dict[str, Any]:
    """The configuration of a run: the defaults, overridden by the TOML file ``path`` if given.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file setting any subset of the keys in :data:`SPEC`.
    quick : bool
        Start from the quick variant (fewer points, same checks).
    """
    if path is None:
        return validate({}, _defaults(quick))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text") from None
    return loads_config(text, quick=quick, source=f"config file {str(path)!r}")


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)  # shortest round-tripping form, always with a '.' or exponent
    return str(value)


def dumps_config(cfg: dict[str, Any]) -> str:
    """TOML text of a resolved configuration; ``loads_config`` of it gives ``cfg`` back.

    >>> cfg = load_config(quick=True)
    >>> loads_config(dumps_config(cfg)) == cfg
    True
    """
    lines = ["# grassdyn report configuration (resolved): pass it back with --config to reproduce."]
    lines += [f"{key} = {_toml_value(cfg[key])}" for key in SPEC[""]]
    for section, fields in SPEC.items():
        if section:
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {_toml_value(cfg[section][key])}" for key in fields]
    return "\n".join(lines) + "\n"
