"""Work–precision of the flows of Oja's subspace flow: closed form, geometric integrators, solve_ivp.

    python benchmarks/flows.py [--quick]

Problem (stated so that the figures can be reproduced): ``C = Q diag(lam) Q^T``
with a Haar-random ``Q`` (seed 0); the top ``h`` eigenvalues are spaced
linearly in ``[1.5, 2]`` and the other ``d - h`` in ``[0, 1]``, a gap of 0.5, so
by ``t = 100`` the subspace has converged to the top-h eigenspace to
``e^{-50}``. ``W0`` is a Haar-random frame (seed 1); outputs at 101 times
equally spaced in ``[0, 100]``.

Error: ``max_t ||P(t) - P_ref(t)||_F`` over the projectors. The reference is
the exact solution written in the known eigenbasis ``Q`` (not in one computed
from ``C``): with ``Y0 = Q^T W0`` split into its top ``h`` rows ``A`` and the
rest ``B``, ``span e^{Ct} W0 = Q span [I; e^{lam_B t} B A^{-1} e^{-lam_A t}]``,
whose entries ``e^{(lam_i - lam_j) t}``, ``lam_i < lam_j``, never overflow. It
is accurate to rounding, which also lets the closed form's own error show.

Timings are the best of three runs (one run when a run takes over a second;
always one with ``--quick``), measured in this process with one BLAS thread.
Printed ratios: closed form against solve_ivp (DOP853, rtol 1e-10) at
(d, h) = (200, 10), and the cost of a batch of 16 initial frames against one
for the closed form.

Then (issue 10):

- *t sweep*: ``C = diag([3, 2.5, 2, 2 - 1e-8, 1, .5, .2, .1])``, ``h = 3``,
  Haar ``W0`` (seed 0), ``t`` in {1e1, 1e3, 1e6, 1e9, 1e300}: time of the
  subspace and horizontal closed forms on ``[0, t]``, chart changes ``p``,
  and the ratio of the cost at the largest ``t`` to the smallest (1 when the
  cost does not depend on ``t``);
- *worst chart-change count*: the largest ``p`` over random spectra (with
  near-ties) and graded starts (rows scaled by ``10^-k``, ``k <= 12``);
- *sparse d sweep*: normalised adjacency of a random graph with ``5 d``
  edges (about ``10 d`` non-zeros), ``h = 8``, 20 times in ``[0, 10]``: time
  and peak traced memory (``tracemalloc``) of the matrix-free closed form,
  and at the smallest ``d`` (2000; 1000 with ``--quick``) the dense closed
  form's time and the largest principal angle between the two.
"""

from __future__ import annotations

import os

# One BLAS thread: the matrices are small, and on a shared machine threaded BLAS
# timings are dominated by contention (a 200 x 200 eigh took 0.5 s instead of 12 ms).
# Set before numpy loads OpenBLAS; every method is timed under the same setting.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from grassdyn import flows, grassmann  # noqa: E402
from grassdyn.integrators import integrate  # noqa: E402
from grassdyn.objectives import Quadratic  # noqa: E402

SIZES = [(10, 2), (100, 10), (200, 10), (500, 20)]
TOLERANCES = [1e-6, 1e-8, 1e-10]
RATIO_SIZE = (200, 10)


def problem(d: int, h: int, top: float = 2.0):
    """Spectrum: the top h eigenvalues in [top - 0.5, top], the rest in [0, top - 1] (gap 0.5)."""
    lam = np.concatenate([np.linspace(top, top - 0.5, h), np.linspace(top - 1.0, 0.0, d - h)])
    Q = grassmann.random_point(d, d, rng=0)
    C = (Q * lam) @ Q.T
    return C, Q, lam, grassmann.random_point(d, h, rng=1)


def reference_projectors(Q, lam, W0, t):
    h = W0.shape[1]
    Y0 = Q.T @ W0
    G = np.linalg.solve(Y0[:h].T, Y0[h:].T).T  # B A^{-1}
    decay = np.exp((lam[None, h:, None] - lam[None, None, :h]) * t[:, None, None])
    Z = np.concatenate([np.broadcast_to(np.eye(h), (t.size, h, h)), decay * G], axis=1)
    F = Q @ np.linalg.qr(Z)[0]
    return F @ np.swapaxes(F, -1, -2)


def timed(fn, repeat):
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        if elapsed > 1.0:
            break
    return best, result


def run_size(d: int, h: int, t: np.ndarray, tolerances, scipy_methods, repeat, rows):
    C, Q, lam, W0 = problem(d, h)
    P_ref = reference_projectors(Q, lam, W0, t)
    L = Quadratic(C)

    def error(traj):
        return float(np.max(np.linalg.norm(traj.projectors() - P_ref, axis=(-2, -1))))

    def add(method, tol, fn):
        seconds, traj = timed(fn, repeat)
        stats = traj.stats
        defect = stats.get("max_orthogonality_defect_before_reorthonormalisation",
                           stats.get("max_orthogonality_defect"))
        rows.append(dict(d=d, h=h, method=method, tol=tol, seconds=seconds, error=error(traj),
                         nfev=stats.get("nfev"), steps=stats.get("accepted_steps"), defect=defect))
        print(_format(rows[-1]), flush=True)

    add("closed_form", None, lambda: flows.grassmann_closed_form(C, W0, t))
    for method in ("dopri5", *scipy_methods):
        for tol in tolerances:
            add(method, tol, lambda m=method, r=tol: integrate(L, W0, t, method=m, rtol=r, atol=1e-2 * r))
    return C, W0


def _format(row) -> str:
    tol = "" if row["tol"] is None else f"{row['tol']:.0e}"
    nfev = "" if row["nfev"] is None else str(row["nfev"])
    steps = "" if row["steps"] is None else str(row["steps"])
    defect = "" if row["defect"] is None else f"{row['defect']:.1e}"
    return (f"{row['d']:>4} {row['h']:>3}  {row['method']:<13} {tol:>6} {row['seconds']:>10.4f} "
            f"{row['error']:>10.2e} {nfev:>7} {steps:>6} {defect:>9}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: small sizes, short run")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, tolerances, scipy_methods = [RATIO_SIZE], [1e-10], ("scipy-DOP853",)
        t, repeat = np.linspace(0.0, 100.0, 21), 1
    else:
        sizes, tolerances, scipy_methods = SIZES, TOLERANCES, ("scipy-RK45", "scipy-DOP853")
        t, repeat = np.linspace(0.0, 100.0, 101), 3
    print("work-precision: error = max_t ||P(t) - P_ref(t)||_F, t in [0, 100] "
          f"({t.size} outputs); defect = max|W^T W - I| (before re-orthonormalisation for scipy)")
    print(f"{'d':>4} {'h':>3}  {'method':<13} {'rtol':>6} {'time [s]':>10} {'error':>10} "
          f"{'nfev':>7} {'steps':>6} {'defect':>9}")
    rows: list[dict] = []
    problems = {}
    for d, h in sizes:
        problems[d, h] = run_size(d, h, t, tolerances, scipy_methods, repeat, rows)

    def row(method, tol, size=RATIO_SIZE):
        return next(r for r in rows if (r["d"], r["h"]) == size and r["method"] == method and r["tol"] == tol)

    closed, dop = row("closed_form", None), row("scipy-DOP853", 1e-10)
    print()
    print(f"closed form vs scipy-DOP853 (rtol 1e-10) at (d, h) = {RATIO_SIZE}: "
          f"{dop['seconds'] / closed['seconds']:.1f}x faster, error {closed['error']:.1e} vs "
          f"{dop['error']:.1e} ({dop['error'] / max(closed['error'], 1e-300):.0f}x smaller)")
    geo = row("dopri5", 1e-10)
    print(f"dopri5 (rtol 1e-10) vs scipy-DOP853 (rtol 1e-10) at (d, h) = {RATIO_SIZE}: time ratio "
          f"{geo['seconds'] / dop['seconds']:.2f}, error {geo['error']:.1e} vs {dop['error']:.1e}")
    C, _ = problems[RATIO_SIZE]
    d, h = RATIO_SIZE
    batch = grassmann.random_point(d, h, rng=2, batch=16)
    one_s, _ = timed(lambda: flows.grassmann_closed_form(C, batch[0], t), repeat)
    many_s, _ = timed(lambda: flows.grassmann_closed_form(C, batch, t), repeat)
    print(f"closed form, batch of 16 initial frames vs one at (d, h) = {RATIO_SIZE}: "
          f"{many_s / one_s:.2f}x the cost of one ({one_s * 1e3:.2f} ms vs {many_s * 1e3:.2f} ms)")
    if not args.quick:
        ratio_against_spread_and_outputs(repeat)
    t_sweep(args.quick)
    worst_chart_changes(40 if args.quick else 400)
    sparse_sweep((1000,) if args.quick else (2000, 10_000, 100_000))


NEAR_DEGENERATE = [3.0, 2.5, 2.0, 2.0 - 1e-8, 1.0, 0.5, 0.2, 0.1]


def t_sweep(quick: bool) -> None:
    """Cost of the closed form against the horizon t on a near-degenerate spectrum."""
    C = np.diag(NEAR_DEGENERATE)
    W0 = grassmann.random_point(8, 3, rng=0)
    print()
    print("closed form against t: C = diag([3, 2.5, 2, 2 - 1e-8, 1, .5, .2, .1]), h = 3, outputs [0, t]")
    print(f"{'t':>8} {'subspace [ms]':>14} {'horizontal [ms]':>16} {'p':>3} {'ODE steps':>10}")
    times = {}
    for t in (1e1, 1e3, 1e6, 1e9, 1e300):
        sub_s, traj = timed(lambda t=t: flows.grassmann_closed_form(C, W0, [0.0, t]), 1 if quick else 3)
        hor_s, hor = timed(lambda t=t: flows.grassmann_closed_form(C, W0, [0.0, t], frame="horizontal"), 1)
        times[t] = (sub_s, hor_s)
        print(f"{t:>8.0e} {sub_s * 1e3:>14.2f} {hor_s * 1e3:>16.1f} {traj.stats['chart_changes']:>3} "
              f"{hor.stats['rotation_steps']:>10}", flush=True)
    print(f"cost at t = 1e300 / cost at t = 10: subspace {times[1e300][0] / times[1e1][0]:.2f}, "
          f"horizontal {times[1e300][1] / times[1e1][1]:.2f}")


def worst_chart_changes(trials: int) -> None:
    """The largest number of chart changes p over random near-degenerate spectra and graded starts."""
    rng = np.random.default_rng(1)
    worst = (0, None)
    for _ in range(trials):
        d = int(rng.integers(4, 21))
        h = int(rng.integers(1, d))
        lam = np.sort(rng.uniform(-3, 3, d))[::-1]
        ties = rng.random(d - 1) < 0.3
        lam[1:][ties] = lam[:-1][ties] - 10.0 ** -rng.integers(4, 12, ties.sum())  # near-ties
        lam = np.sort(lam)[::-1]
        W = rng.standard_normal((d, h)) * 10.0 ** -rng.integers(0, 13, size=(d, 1))
        W0 = np.linalg.qr(W)[0]
        p = flows.grassmann_closed_form(np.diag(lam), W0, [0.0, 1e300]).stats["chart_changes"]
        if p > worst[0]:
            worst = (p, (d, h))
    p, dh = worst
    bound = "" if dh is None else f" (d, h) = {dh}, bound C(d, h) - 1 = {math.comb(*dh) - 1}"
    print(f"\nworst chart-change count over {trials} random graded problems: p = {p}{bound}")


def _graph(d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    edges = 5 * d
    i, j = rng.integers(0, d, edges), rng.integers(0, d, edges)
    A = sp.coo_array((np.ones(edges), (i, j)), shape=(d, d)).tocsr()
    A = A + A.T
    s = 1.0 / np.sqrt(np.maximum(np.asarray(A.sum(axis=1)).ravel(), 1.0))
    return (sp.diags_array(s) @ A @ sp.diags_array(s)).tocsr()


def sparse_sweep(sizes) -> None:
    """Matrix-free closed form on sparse generators: time and peak memory; dense comparison at d = 2000."""
    h, t = 8, np.linspace(0.0, 10.0, 20)
    print()
    print("sparse C (random-graph normalised adjacency, ~10 d non-zeros), h = 8, 20 times in [0, 10]")
    print(f"{'d':>7} {'nnz':>9} {'time [s]':>9} {'peak [MB]':>10} {'expm calls':>10}")
    for d in sizes:
        C = _graph(d)
        W0 = np.linalg.qr(np.random.default_rng(1).standard_normal((d, h)))[0]
        tracemalloc.start()
        start = time.perf_counter()
        traj = flows.grassmann_closed_form(C, W0, t)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        calls = traj.stats["expm_multiply_calls"]
        print(f"{d:>7} {C.nnz:>9} {seconds:>9.2f} {peak / 1e6:>10.1f} {calls:>10}", flush=True)
        if d == sizes[0]:
            dense_s, dense = timed(lambda C=C, W0=W0: flows.grassmann_closed_form(C.toarray(), W0, t), 1)
            angle = float(np.max(grassmann.principal_angles(traj.W, dense.W)))
            print(f"        dense closed form at d = {d}: {dense_s:.2f} s ({dense_s / seconds:.1f}x the "
                  f"sparse time), largest principal angle between them {angle:.1e}")


def ratio_against_spread_and_outputs(repeat: int) -> None:
    """How the speed-up depends on the problem: explicit integrators need steps in proportion to
    ``t (lam_max - lam_min)``, the closed form costs one ``eigh`` plus one ``d^2 h`` rotation per
    output frame; a batch shares the ``eigh`` but not the rotations."""
    d, h = RATIO_SIZE
    print()
    print(f"closed form vs scipy-DOP853 (rtol 1e-10) at (d, h) = {RATIO_SIZE}, t in [0, 100], "
          "by spread lam_max - lam_min and number of output times T")
    print(f"{'spread':>7} {'T':>4} {'closed [ms]':>12} {'DOP853 [ms]':>12} {'ratio':>7} "
          f"{'batch16/one':>12}")
    batch = grassmann.random_point(d, h, rng=2, batch=16)
    for top in (2.0, 10.0):
        C, _, lam, W0 = problem(d, h, top)
        L = Quadratic(C)
        for T in (101, 11, 2):
            t = np.linspace(0.0, 100.0, T)
            closed_s, _ = timed(lambda C=C, W0=W0, t=t: flows.grassmann_closed_form(C, W0, t), repeat)
            dop_s, _ = timed(lambda L=L, W0=W0, t=t: integrate(L, W0, t, method="scipy-DOP853", rtol=1e-10,
                                                              atol=1e-12), 1)
            many_s, _ = timed(lambda C=C, t=t: flows.grassmann_closed_form(C, batch, t), repeat)
            print(f"{lam[0] - lam[-1]:>7.0f} {T:>4} {closed_s * 1e3:>12.1f} {dop_s * 1e3:>12.0f} "
                  f"{dop_s / closed_s:>7.1f} {many_s / closed_s:>12.2f}", flush=True)


if __name__ == "__main__":
    main()
