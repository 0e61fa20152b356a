"""The documented schema of ``results.json``, as a JSON Schema (draft 2020-12 subset) in a Python dict.

``results.json`` holds every number the report's figures draw and the full
resolved configuration, so that ``grassdyn report --config config.toml``
reproduces the run exactly (timings aside)::

    {
      "schema_version": 1,
      "grassdyn_version": "0.1.0",
      "config": {...},                 # the resolved configuration (see grassdyn.report.config.SPEC)
      "passed": true,                  # every check of every claim passed
      "claims": {
        "<claim name>": {
          "title": str, "statement": str, "passed": bool,
          "checks": [{"quantity": str, "measured": float, "predicted": float,
                      "relation": "<=" | ">=" | "abs" | "rel", "tolerance": float,
                      "passed": bool}, ...],
          "data": {...}                # the claim's figure data, see DATA below
        }, ...
      },
      "figures": {"<figure name>": {"title": str, "claims": [str], "files": [str]}},
      "timing": {"total_seconds": float, "claims": {"<claim name>": float}}
    }

A check passes when ``measured <= predicted`` (``"<="``), ``measured >=
predicted`` (``">="``), ``|measured - predicted| <= tolerance`` (``"abs"``) or
``|measured - predicted| <= tolerance * |predicted|`` (``"rel"``). Times are
gradient-flow times; distances between subspaces are geodesic
(``||theta||_2`` over principal angles, radians). Arrays are nested lists,
seeds first where a run has several seeds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DATA", "RESULTS_SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

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
    }, extra=True),
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

_CHECK = _object({
    "quantity": _STR,
    "measured": {"type": ["number", "null"]},  # null: not finite (the check failed)
    "predicted": _NUMBER,
    "relation": {"type": "string", "enum": ["<=", ">=", "abs", "rel"]},
    "tolerance": {"type": "number", "minimum": 0},
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
        "passed": _BOOL,
        "checks": {"type": "array", "items": _CHECK, "minItems": 1},
        "data": data,
    })


#: The schema of ``results.json``.
RESULTS_SCHEMA: dict[str, Any] = _object({
    "schema_version": {"type": "integer", "enum": [SCHEMA_VERSION]},
    "grassdyn_version": _STR,
    "config": _config_schema(),
    "passed": _BOOL,
    "claims": _object({name: _claim(data) for name, data in DATA.items()}),
    "figures": _by_key(_object({"title": _STR, "claims": _array(1, _STR), "files": _array(1, _STR)})),
    "timing": _object({"total_seconds": {"type": "number", "minimum": 0},
                       "claims": _by_key({"type": "number", "minimum": 0})}),
})
