"""The documented schema of ``results.json``, as a JSON Schema (draft 2020-12 subset) in a Python dict.

``results.json`` holds every number the report's figures draw and the full
resolved configuration, so that ``grassdyn report --config config.toml``
reproduces the run exactly (timings aside)::

    {
      "schema_version": 2,
      "grassdyn_version": "0.2.0.dev0",
      "config": {...},                 # the resolved configuration (see grassdyn.report.config.SPEC)
      "verdict": "pass" | "inconclusive" | "fail",   # the worst verdict of any claim
      "passed": true,                  # verdict == "pass"
      "claims": {
        "<claim name>": {
          "title": str, "statement": str, "verdict": str, "passed": bool,
          "checks": [{"quantity": str,
                      "measured": float | null, "low": float | null, "high": float | null,
                      "method": str,   # how the interval was measured (bootstrap, fit, exact)
                      "predicted": float, "relation": "within" | "<=" | ">=",
                      "tolerance": float, "effect": float | null, "fraction": float,
                      "resolution": float | null, "why": str, "verdict": str, "passed": bool}, ...],
          "data": {...}                # the claim's figure data, see DATA below
        }, ...
      },
      "figures": {"<figure name>": {"title": str, "claims": [str], "files": [str]}},
      "timing": {"total_seconds": float, "claims": {"<claim name>": float}}
    }

A check's verdict (:mod:`grassdyn.report.checks`): ``"within"`` fails if the
window ``[low - tolerance, high + tolerance]`` misses the prediction, passes
if it holds it and is at most ``fraction * effect`` wide, and is
inconclusive otherwise; ``"<="`` (``">="``) passes if the whole interval is
at most (at least) the prediction, fails if none of it is, and is
inconclusive if it straddles it. A claim's verdict is the worst of its
checks'. ``null`` marks a non-finite measurement (a failed check). Times are
gradient-flow times; distances between subspaces are geodesic
(``||theta||_2`` over principal angles, radians). Arrays are nested lists,
seeds first where a run has several seeds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DATA", "RESULTS_SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2

"""Version of the ``results.json`` layout; raised whenever the schema changes."""


def _array(ndim: int, item: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested arrays of numbers, ``ndim`` deep."""
    schema: dict[str, Any] = item or {"type": "number"}
    for _ in range(ndim):
        schema = {"type": "array", "items": schema}
    return schema


def _object(properties: dict[str, Any], *, extra: dict[str, Any] | bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": extra,
    }


_NUMBER = {"type": "number"}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_VERDICT = {"type": "string", "enum": ["pass", "inconclusive", "fail"]}
_MAYBE = {"type": ["number", "null"]}  # null: not finite (the check failed) or not applicable



def _by_key(value: dict[str, Any]) -> dict[str, Any]:
    """An object keyed by strings (widths, labels) with values of one schema."""
    return {"type": "object", "properties": {}, "additionalProperties": value}


_COLLAPSE_RUN = _object({"t": _array(1), "singular_values": _array(2), "effective_rank": _array(1)})
_COLLAPSE_SGD = _object({"t": _array(1), "singular_values": _array(3), "effective_rank": _array(2)})

#: Schema of each claim's ``data`` (the numbers its figure draws).
DATA: dict[str, dict[str, Any]] = {
    "collapse": _object({
        "flow": _COLLAPSE_RUN,               # singular values (T, h), effective rank (T,)
        "sgd": _COLLAPSE_SGD,                # (seeds, T, h) normalised by sigma_1, (seeds, T)
        "initial_effective_rank": _NUMBER,
        "top_alignment_final": _array(1),    # |cos| of each final column with the top eigenvector
        "predicted_rate": _NUMBER,           # lam_1 - lam_2
        "measured_rate": _NUMBER,            # fitted decay rate of sigma_2 / sigma_1
        "sgd_steps": _INT,
    }),
    "closed_form_exactness": _object({
        "t": _array(1),
        "closed_form_distance": _array(1),   # distance to the top-h eigenspace
        "integrator_distance": _array(1),
        "integrator_deviation": _array(1),   # distance between integrator and closed form
        "integrator": _STR,
        "integrator_steps": _INT,
        "integrator_evaluations": _INT,
        "integrator_orthogonality_defect": _NUMBER,
        "predicted_rate": _NUMBER,           # lam_h - lam_{h+1}
        "measured_rate": _NUMBER,
        "generator_eigenvalues": _array(1),  # descending
    }),
    "sgd_to_flow": _object({
        "lrs": _array(1),
        "t_flow": _array(1),
        "flow_distance": _array(1),          # closed form, distance to the limit
        "sgd": _by_key(_object({"t": _array(1), "distance": _array(2)})),  # keyed by lr, (seeds, T)
        "gd_deviation": _array(1),           # exact GD: max_t distance to the flow, per lr
        "sgd_deviation": _array(2),          # minibatch SGD: max_t distance to the flow, (lr, seeds)
        "gd_order": _NUMBER,                 # fitted slope of log deviation on log lr
        "sgd_order": _NUMBER,
        "sgd_order_predicted": _NUMBER,       # the linearisation's slope over the same lrs (1/2 as lr -> 0)
        "batch_size": _INT,
    }, extra=True),
    "width_independence": _object({
        "t": _array(1),
        "widths": _array(1, _INT),
        "distance": _by_key(_array(1)),      # keyed by width h
        "predicted_rate": _by_key(_NUMBER),
        "measured_rate": _by_key(_NUMBER),
        "nesting_angle": _by_key(_array(1)),  # keyed "h_in_H": largest angle over time
    }),
    "batch_and_samples": _object({
        "batch_sizes": _array(1, _INT),
        "batch_deviation": _array(2),        # (batch sizes, seeds)
        "batch_prediction": _array(1),
        "batch_slope": _NUMBER,
        "sample_sizes": _array(1, _INT),
        "sample_deviation": _array(2),       # (sample sizes, seeds)
        "davis_kahan_bound": _array(2),
        "sample_slope": _NUMBER,
        "batch_amplitude_ratio": _NUMBER,    # measured / predicted spread, geometric mean over B
    }, extra=True),
    "identifiability": _object({
        "rhos": _array(1),
        "flow_distance": _array(1),          # closed form at the final time, per rho
        "flow_long_distance": _array(1),     # closed form at t_long = 100 t_end, per rho
        "sgd_distance": _array(2),           # (rhos, seeds)
        "predicted_transition": _NUMBER,     # min(content) / max(style)
        "measured_transition": _NUMBER,
        "t_end": _NUMBER,
        "t_long": _NUMBER,
        "flow_transition": _NUMBER,          # where the flow at t_long crosses pi/4
        "flow_end_transition": _MAYBE,       # where the flow at t_end crosses pi/4 (null: nowhere)
    }, extra=True),
    "ntk": _object({
        "widths": _array(1, _INT),
        "t": _array(1),                      # recorded flow times of the trained networks
        "change": _by_key(_array(2)),        # keyed by loss: NTK change at the last time, (seeds, widths)
        "linearisation": _by_key(_array(2)),  # keyed by loss: |f - f_lin| / |f_lin| at the last time
        "change_t": _by_key(_array(2)),      # keyed by loss: over time at the largest width, (seeds, T)
        "long_t": _array(1),                 # the long Grassmannian-output run: its times,
        "long_change": _array(2),            # its final NTK change (seeds, widths),
        "long_change_t": _array(3),          # and its NTK change over time (seeds, widths, T)
        "long_exponent": _array(1),          # [estimate, low, high]
        "long_change_largest": _NUMBER,      # median final change at the largest width
        "rf_widths": _array(1, _INT),
        "rf_distance": _array(2),            # random features vs infinite width at rf_time, (seeds, widths)
        "rf_limit_distance": _array(2),      # random features at rf_long_time vs kernel PCA, (seeds, widths)
        "rf_time": _NUMBER,
        "rf_long_time": _NUMBER,
        "losses": _array(1, _STR),
        "labels": _array(1, _STR),
        "exponents": _by_key(_array(1)),     # keyed by loss: [estimate, low, high] of the exponent in m
        "rf_slope": _array(1),               # [estimate, low, high]
        "rf_limit_slope": _array(1),
        "growth": _by_key(_NUMBER),          # keyed by loss: change at the last time / at half of it
    }),
    "predictor": _object({
        "t": _array(1),
        "modes": _object({"m": _array(1), "sigma": _array(1)}),  # the modes' eigenvalues of M and Sigma
        # descending eigenvalues: SGD (seeds, T, h), ODE and theory (T, h)
        "aligned": _object({
            "p_sgd": _array(3), "s_sgd": _array(3), "p_ode": _array(2), "s_ode": _array(2),
            "p_pred": _array(2), "s_pred": _array(2), "p_euler": _array(2), "s_euler": _array(2),
        }),
        "generic": _object({"angle_sgd": _array(2), "angle_ode": _array(1)}),  # rad, (seeds, T) and (T,)
        "threshold": _object({
            "eta_star": _NUMBER, "factors": _array(1), "s_end": _array(2), "s_theory": _array(1),
            "s_critical": _NUMBER, "s_plus_below": _NUMBER,
        }),
        "weight_decay": _NUMBER,
        "predictor_lr": _NUMBER,
        "ode_error": _NUMBER,
        "sgd_steps": _INT,
    }),
    "stability": _object({
        "d": _INT,
        "h": _INT,
        "eigenvalues": _array(1),
        "points": {"type": "array", "items": _object({
            "indices": _array(1, _INT),      # 1-based eigenvector indices
            "spectrum": _array(1),           # eigenvalues of the linearisation
            "index": _INT,                   # unstable directions (-1: undecided)
            "classification": {"type": "string",
                               "enum": ["stable", "saddle", "unstable", "non-hyperbolic"]},
        })},
        "assumptions": _STR,
        "latex": _STR,
        "flow_time": _NUMBER,
        "flow_end_distance": _NUMBER,
    }),
}

DATA["stepwise"] = _object({
    "t": _array(1),
    "eigenvalues": _array(1),                # gamma_i of the learned modes, descending
    "lr": _NUMBER,
    "sgd_modes": _array(3),                  # (seeds, T, h) eigenvalues of C_cc
    "flow_modes": _array(3),                 # (seeds, T, h)
    "predicted_modes": _array(2),            # (T, h), seed 0, flow rate
    "predicted_sgd_modes": _array(2),        # (T, h), seed 0, discrete rate at lr
    "initial": _array(2),                    # (seeds, h) Gram-Schmidt initial mode values
    "sgd_step_times": _array(2),             # (seeds, h)
    "flow_step_times": _array(2),
    "predicted_step_times": _array(2),       # (seeds, h), discrete rate at lr
    "predicted_flow_step_times": _array(2),
    "sgd_relative_error": _array(2),
    "flow_relative_error": _array(2),
    "sgd_steps": _INT,
})

_PLATONIC_SIDE = _object({
    "rho": _NUMBER,
    "pairwise": _array(2),                   # (methods, methods) median distance over seeds
    "to_content": _array(2),                 # (methods, seeds)
    "to_optimum": _array(2),                 # (methods, seeds) to each method's predicted optimum
    "optimum_to_content": _array(1),         # (methods,)
    "optimum_unique": _array(1, _BOOL),      # (methods,) a unique population optimum (checked)
    "predictor_stable_points": _array(1, _INT),  # SimSiam, BYOL: number of stable non-collapsed fixed points
    "condition": _array(2),                  # (methods, seeds) s_min / s_max of the final W
})
DATA["platonic"] = _object({
    "labels": _array(1, _STR),               # "<loss> <optimizer>"
    "rhos": _array(1),                       # [below rho*, above rho*]
    "rho_star": _NUMBER,
    "threshold": _NUMBER,                    # pi/4
    "below": _PLATONIC_SIDE,
    "above": _PLATONIC_SIDE,
    "temperatures": _array(1),
    "temperature_remainder": _array(1),
})

_CHECK = _object({
    "quantity": _STR,
    "measured": _MAYBE,
    "low": _MAYBE,
    "high": _MAYBE,
    "method": _STR,
    "predicted": _NUMBER,
    "relation": {"type": "string", "enum": ["within", "<=", ">="]},
    "tolerance": {"type": "number", "minimum": 0},
    "effect": _MAYBE,                   # "within" only: the size of the effect tested
    "fraction": {"type": "number", "minimum": 0},
    "resolution": _MAYBE,               # "within" only: fraction * effect, the widest passing window
    "why": _STR,
    "verdict": _VERDICT,
    "passed": _BOOL,
})



def _config_schema() -> dict[str, Any]:
    """The resolved configuration: every key of :data:`grassdyn.report.config.SPEC`, typed."""
    from grassdyn.report.config import SPEC

    kinds = {"int": _INT, "float": _NUMBER, "str": _STR, "int_list": _array(1, _INT),
             "float_list": _array(1)}
    top: dict[str, Any] = {key: kinds[f.kind] for key, f in SPEC[""].items()}
    for section, fields in SPEC.items():
        if section:
            top[section] = _object({key: kinds[f.kind] for key, f in fields.items()})
    return _object(top)


def _claim(data: dict[str, Any]) -> dict[str, Any]:
    return _object({
        "title": _STR,
        "statement": _STR,
        "verdict": _VERDICT,
        "passed": _BOOL,
        "checks": {"type": "array", "items": _CHECK, "minItems": 1},
        "data": data,
    })


#: The schema of ``results.json``.
RESULTS_SCHEMA: dict[str, Any] = _object({
    "schema_version": {"type": "integer", "enum": [SCHEMA_VERSION]},
    "grassdyn_version": _STR,
    "config": _config_schema(),
    "verdict": _VERDICT,
    "passed": _BOOL,
    "claims": _object({name: _claim(data) for name, data in DATA.items()}),
    "figures": _by_key(_object({"title": _STR, "claims": _array(1, _STR), "files": _array(1, _STR)})),
    "timing": _object({"total_seconds": {"type": "number", "minimum": 0},
                       "claims": _by_key({"type": "number", "minimum": 0})}),
})
