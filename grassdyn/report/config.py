"""The report's configuration: the embedded defaults, the quick variant, and validation.

A configuration is TOML (read with the standard library's :mod:`tomllib`).
A user file may set any subset of the keys below; the rest come from the
defaults (or from the quick variant with ``--quick``). Every key is checked:
an unknown key, a wrong type or an impossible value (``h > d``, ``rho``
outside ``[0, 1]``, a learning rate ``<= 0``) raises :class:`ConfigError`
with one line naming the key, which the command prints without a traceback.

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
    "load_config",
    "loads_config",
]

#: The default configuration of ``grassdyn report``: about two minutes on two cores.
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
rate_rtol = 0.15

[dynamics]
# (b) Oja's flow: closed form, an ODE integrator, exact GD and minibatch SGD.
h = 3
t_max = 8.0
n_times = 81
integrator_rtol = 1e-8
max_integrator_error = 1e-6
lrs = [0.08, 0.04, 0.02, 0.01]
batch_size = 32
seeds = 16
order_tol = 0.3

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
batch_sizes = [4, 8, 16, 32, 64, 128, 256]
sample_sizes = [100, 200, 400, 800, 1600, 3200, 6400]
seeds = 16
slope_tol = 0.2
prediction_rtol = 0.3

[identifiability]
# (e) distance of the learned subspace (h = number of content factors) to the content subspace.
rhos = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
        0.9, 0.95, 1.0]
lr = 0.02
steps = 1000
batch_size = 64
seeds = 4
transition_tol = 0.1

[stability]
# Symbolic critical points of Oja's flow for C = diag(eigenvalues), with h of them.
eigenvalues = [3, 2, 1, 0]
h = 2
flow_tol = 1e-8

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
"""

#: Overrides applied to the defaults by ``--quick``: the same checks on fewer points.
QUICK_TOML = """\
[collapse]
n_times = 41
seeds = 2

[dynamics]
n_times = 41
lrs = [0.08, 0.04, 0.02]
seeds = 8

[width]
widths = [1, 3]
n_times = 51

[finite]
steps = 300
batch_sizes = [4, 16, 64]
sample_sizes = [100, 400, 1600]
seeds = 8

[identifiability]
rhos = [0.0, 0.3, 0.4, 0.45, 0.55, 0.6, 0.7, 1.0]
lr = 0.05
steps = 400
seeds = 3

[stability]
eigenvalues = [2, 1, 0]
h = 1

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
        "seeds": _i("number of SGD seeds"),
        "max_effective_rank": _f("pass if the final effective rank is below this", 1.0),
        "rate_rtol": _f("relative tolerance on the fitted decay rate of sigma_2 / sigma_1", 0.0,
                        open_=True),
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
        "seeds": _i("number of SGD seeds"),
        "order_tol": _f("tolerance on the fitted order in the learning rate", 0.0, open_=True),
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
        "seeds": _i("number of seeds"),
        "slope_tol": _f("tolerance on the fitted log-log slopes", 0.0, open_=True),
        "prediction_rtol": _f("relative tolerance of the measured against the predicted fluctuation",
                              0.0, open_=True),
    },
    "identifiability": {
        "rhos": _floats("augmentation strengths rho", 0.0, 1.0),
        "lr": _f("learning rate", 0.0, open_=True),
        "steps": _i("number of SGD steps"),
        "batch_size": _i("minibatch size"),
        "seeds": _i("number of seeds"),
        "transition_tol": _f("tolerance on the measured transition rho", 0.0, open_=True),
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
    widths = cfg["width"]["widths"]
    if max(widths) >= d:
        raise ConfigError(f"[width] widths = {widths}: every width must be < [model] d = {d}")
    if len(set(widths)) != len(widths):
        raise ConfigError(f"[width] widths = {widths}: must be distinct")
    for section, key in (("dynamics", "lrs"), ("finite", "batch_sizes"), ("finite", "sample_sizes")):
        if len(cfg[section][key]) < 2:
            raise ConfigError(f"[{section}] {key}: needs at least 2 values to fit a slope")
    t_max = cfg["dynamics"]["t_max"]
    for lr in cfg["dynamics"]["lrs"]:
        steps = round(t_max / lr)
        if steps < 1 or abs(steps * lr - t_max) > 1e-9 * t_max:
            raise ConfigError(f"[dynamics] lrs: {lr!r} must divide t_max = {t_max!r} (whole number of steps)")
    rho_star = min(model["content"]) / max(model["style"]) if max(model["style"]) > 0 else math.inf
    plat = cfg["platonic"]
    if not plat["rho_below"] < rho_star < plat["rho_above"]:
        raise ConfigError(
            f"[platonic] rho_below = {plat['rho_below']!r}, rho_above = {plat['rho_above']!r}: must lie on "
            f"either side of rho* = min(content) / max(style) = {rho_star:.4g}"
        )
    rhos = cfg["identifiability"]["rhos"]
    if len(rhos) < 2 or sorted(rhos) != rhos:
        raise ConfigError(f"[identifiability] rhos = {rhos}: must be at least 2 values, increasing")
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
