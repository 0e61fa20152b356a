"""Timing of grassdyn.symbolic.critical_points against a generic-eigensolver baseline.

Targets (issue 5): all 20 critical points for d = 6, h = 3 with numeric
eigenvalues in < 10 s; all 10 for d = 5, h = 2 with symbolic eigenvalues in < 30 s.

``critical_points`` derives each chart field, differentiates it and, because
the linearisation at a coordinate subspace comes out triangular (diagonal),
reads the spectrum off the diagonal. The baseline, run in the same process on
the same inputs, differentiates the same derived chart fields but hands every
Jacobian to sympy's generic ``Matrix.eigenvals`` (characteristic polynomial and
roots) and classifies nothing: it is the cost of the spectra alone.

Run: ``python benchmarks/symbolic.py``.
"""

from __future__ import annotations

import itertools
import time

import sympy as sp

from grassdyn import symbolic
from grassdyn.symbolic import charts


def baseline(eigenvalues, h):
    C = sp.diag(*eigenvalues)
    spectra = []
    for I in itertools.combinations(range(len(eigenvalues)), h):
        chart = symbolic.grassmann_chart(C, I)
        field = chart.rhs.T.reshape(len(chart.variables), 1)  # vec X, column-major
        J = field.jacobian(chart.variables).subs(dict.fromkeys(chart.variables, 0))
        spectra.append(J.eigenvals(multiple=True))
    return spectra


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    cases = [
        ("numeric d=6 h=3", [6, 5, 4, 3, 2, 1], 3, 10.0),
        ("float   d=6 h=3", [0.6, 0.5, 0.4, 0.3, 0.2, 0.1], 3, 10.0),
        ("symbolic d=5 h=2", list(sp.symbols("lambda_1:6")), 2, 30.0),
        ("symbolic d=6 h=3", list(sp.symbols("lambda_1:7")), 3, None),
    ]
    # the one-off block-matrix derivation of the chart, shared by all later calls
    charts._derive_chart.cache_clear()
    t_derive, _ = timed(charts._derive_chart)
    print(f"chart derivation (once per process): {t_derive:.2f} s\n")
    print(f"{'case':<18} {'points':>6} {'critical_points':>16} {'baseline':>10} {'ratio':>7} {'target':>8}")
    for name, lam, h, target in cases:
        t_ours, pts = timed(symbolic.critical_points, lam, h)
        t_base, _ = timed(baseline, lam, h)
        verdict = "-" if target is None else f"{'<' if t_ours < target else '>='} {target:.0f} s"
        ratio = t_ours / t_base
        print(f"{name:<18} {len(pts):>6} {t_ours:>14.2f} s {t_base:>8.2f} s {ratio:>7.2f} {verdict:>8}")


if __name__ == "__main__":
    main()
