"""Speed of grassdyn's Grassmannian geometry against geomstats, in the same process.

    python benchmarks/geometry.py [--quick]

Operations: geodesic ``distance``, ``exp`` and ``log`` at (d, h) in {(10, 2), (50, 5),
(200, 20), (500, 50)}. grassdyn works on frames ``(d, h)`` through thin SVDs
(O(d h^2)); geomstats (2.8, ``Grassmannian(d, h)``, numpy backend) on projectors
``(d, d)`` through ``expm``/``logm`` (O(d^3)). Inputs: Haar-random frames (seeds 0
and 1), the tangent vector ``log(W, U)``; geomstats gets the same points as
projectors and the same tangent vector as ``V W^T + W V^T``, converted outside the
timed region. grassdyn is timed through its public, validated path
(``check=True``: shape, finiteness and orthonormality checks included).

Each single-pair timing is the best of ``--repeats`` runs (default 5; 1 with
``--quick``) of a loop sized to last at least 0.1 s (5 ms with ``--quick``; one
call when a call is slower), with one BLAS thread for both libraries. The "max|diff|" column checks
that both computed the same thing: ``|d_gs / sqrt(2) - d|``, the largest
projector entry difference after ``exp``, and the largest entry difference of
``log`` converted back to a frame tangent.

Batched: one grassdyn call on a stack of N = 1000 frames against one geomstats
call on a stack of n frames; geomstats's n is smaller than N at large sizes (a
single geomstats ``log`` at (500, 50) takes seconds), so both are reported per
frame, and the output says which n was used.
"""

from __future__ import annotations

import os

# One BLAS thread for both libraries: on a shared machine threaded BLAS timings
# are dominated by contention, and the ratio should measure the algorithms.
# Set before numpy loads OpenBLAS.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib.metadata import version  # noqa: E402

import numpy as np  # noqa: E402

import grassdyn  # noqa: E402
from grassdyn import grassmann as gm  # noqa: E402
from grassdyn import interop  # noqa: E402

SIZES = [(10, 2), (50, 5), (200, 20), (500, 50)]
QUICK_SIZES = [(10, 2), (50, 5)]
GOAL_SIZE, GOAL_RATIO = (500, 50), 100.0
OPS = ("distance", "exp", "log")


def best_time(f: Callable[[], object], repeats: int, min_run: float = 0.1) -> float:
    """Seconds per call: the best of ``repeats`` runs of a loop lasting at least ``min_run``."""
    start = time.perf_counter()
    f()
    once = time.perf_counter() - start
    number = max(1, int(min_run / max(once, 1e-9)))
    best = once if number == 1 else np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            f()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def setup(d: int, h: int, batch: tuple[int, ...] = ()):
    W = gm.random_point(d, h, rng=0, batch=batch)
    U = gm.random_point(d, h, rng=1, batch=batch)
    V = gm.log(W, U)
    P, Pu = interop.to_geomstats(W), interop.to_geomstats(U)
    Delta = interop.tangent_to_geomstats(W, V)
    return W, U, V, P, Pu, Delta


def calls(W, U, V, P, Pu, Delta, metric):
    """(grassdyn call, geomstats call, discrepancy of their results) for each operation."""
    scale = interop.geomstats_distance_scale
    return {
        "distance": (
            lambda: gm.distance(W, U),
            lambda: metric.dist(P, Pu),
            lambda a, b: np.max(np.abs(b / scale - a)),
        ),
        "exp": (
            lambda: gm.exp(W, V),
            lambda: metric.exp(Delta, P),
            lambda a, b: np.max(np.abs(interop.to_geomstats(a) - b)),
        ),
        "log": (
            lambda: gm.log(W, U),
            lambda: metric.log(Pu, P),
            lambda a, b: np.max(np.abs(interop.tangent_from_geomstats(W, b) - a)),
        ),
    }


def single(sizes, repeats, min_run):
    rows = []
    for d, h in sizes:
        metric = interop.grassmannian(d, h).metric
        for op, (ours, theirs, diff) in calls(*setup(d, h), metric).items():
            t_ours, t_gs = best_time(ours, repeats, min_run), best_time(theirs, repeats, min_run)
            rows.append((d, h, op, t_ours, t_gs, diff(ours(), theirs())))
    return rows


def batched(sizes, n_ours, n_gs_for, repeats, min_run):
    rows = []
    for d, h in sizes:
        n_gs = n_gs_for(d)
        metric = interop.grassmannian(d, h).metric
        ours_calls = calls(*setup(d, h, (n_ours,)), metric)
        gs_calls = calls(*setup(d, h, (n_gs,)), metric)
        for op in OPS:
            t_ours = best_time(ours_calls[op][0], repeats, min_run) / n_ours
            t_gs = best_time(gs_calls[op][1], min(repeats, 2), min_run) / n_gs
            rows.append((d, h, op, n_ours, n_gs, t_ours, t_gs))
    return rows


def fmt(seconds: float) -> str:
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:8.2f} {unit:2s}"
    return f"{seconds / 1e-9:8.2f} ns"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and batches, one repeat (smoke run)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timing repeats (best of N)")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    repeats = args.repeats or (1 if args.quick else 5)
    min_run = 0.005 if args.quick else 0.1
    n_ours = 20 if args.quick else 1000

    def n_gs_for(d: int) -> int:
        if args.quick:
            return 5
        return {10: 1000, 50: 100, 200: 4, 500: 2}[d]

    print(
        f"grassdyn {grassdyn.__version__} vs geomstats {version('geomstats')} (numpy {np.__version__}); "
        f"one BLAS thread; best of {repeats}"
    )
    print("\nSingle pair, per call (grassdyn with argument checks):")
    print(f"{'(d, h)':>10} {'op':>9} {'grassdyn':>12} {'geomstats':>12} {'ratio':>9} {'max|diff|':>10}")
    goal = []
    for d, h, op, t_ours, t_gs, diff in single(sizes, repeats, min_run):
        ratio = t_gs / t_ours
        print(f"{f'({d}, {h})':>10} {op:>9} {fmt(t_ours):>12} {fmt(t_gs):>12} {ratio:8.1f}x {diff:10.1e}")
        if (d, h) == GOAL_SIZE:
            goal.append((op, ratio))

    print("\nBatched, per frame (grassdyn: one call on N frames; geomstats: one call on n frames):")
    print(f"{'(d, h)':>10} {'op':>9} {'N':>5} {'n':>5} {'grassdyn':>12} {'geomstats':>12} {'ratio':>9}")
    for d, h, op, n_o, n_g, t_ours, t_gs in batched(sizes, n_ours, n_gs_for, repeats, min_run):
        print(
            f"{f'({d}, {h})':>10} {op:>9} {n_o:5d} {n_g:5d} {fmt(t_ours):>12} {fmt(t_gs):>12} "
            f"{t_gs / t_ours:8.1f}x"
        )
    if any(n_gs_for(d) < n_ours for d, _ in sizes):
        print("(n < N where a geomstats call on N frames would take minutes; times are per frame)")

    for op, ratio in goal:
        verdict = "meets" if ratio >= GOAL_RATIO else "MISSES"
        print(f"goal at {GOAL_SIZE}: {op} is {ratio:.0f}x faster than geomstats: {verdict} {GOAL_RATIO:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
