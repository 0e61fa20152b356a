"""Speed of grassdyn.width: the random-features flow against the width; the closed-form NTK against a loop.

    python benchmarks/width.py [--quick]

*Random-features flow.* :func:`grassdyn.width.random_features_flow` on ``n``
pairs (``n = 200`` by default, ``r = 2n = 400`` feature rows, relu, ``h = 3``,
11 times) at widths ``m`` in {1e4, 1e5, 1e6}: the cost is one chunked pass over
the hidden units (``O(r^2 m)``, the Gram matrix) plus ``O(r^3)`` in sample
space, so the time should grow at most linearly in ``m``. The table prints
the time per width and its ratio to the smallest width against the ratio of
widths; the baseline is the smallest width, run in the same process. The
infinite-width flow (NNGP kernel, no ``m``) is timed beside it, and the
distance between the two is printed (it should fall like ``m^{-1/2}``).

*NTK.* :meth:`TwoLayer.ntk` (closed form, ``O(n^2 m)``) against a naive,
autodiff-free loop that forms the Jacobian one parameter at a time from its
analytic partial derivatives (``d f_a / d W_ib = delta_ab phi_i``,
``d f_a / d U_ik = W_ia sigma'_i x_k / sqrt(m d)``) and sums the products;
the results agree to rounding (printed) and the ratio of times is printed.

One BLAS thread (set before numpy loads): on a shared machine threaded BLAS
timings are dominated by contention. ``--quick``: smaller sizes, a smoke run.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from grassdyn.width import TwoLayer, infinite_width_flow, random_features_flow  # noqa: E402


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def naive_ntk(net: TwoLayer, X: np.ndarray) -> np.ndarray:
    """The NTK from the Jacobian built parameter by parameter (no autodiff, no closed-form contraction)."""
    n, m, d, h = X.shape[0], net.m, net.d, net.h
    Z = X @ net.U.T / np.sqrt(d)
    phi, der = net.sigma(Z) / np.sqrt(m), net.sigma.derivative(Z)
    K = np.zeros((n, n))
    for a in range(h):
        J = np.zeros((n, m * (d + h)))
        col = 0
        for i in range(m):
            for b in range(h):
                J[:, col] = phi[:, i] if a == b else 0.0
                col += 1
            for k in range(d):
                J[:, col] = net.W[i, a] * der[:, i] * X[:, k] / np.sqrt(m * d)
                col += 1
        K += J @ J.T
    return K / h


def flow_table(n: int, widths: list[int]) -> None:
    rng = np.random.default_rng(0)
    d, h = 16, 3
    X = rng.standard_normal((n, d))
    Xp = X + 0.3 * rng.standard_normal((n, d))
    t = np.linspace(0.0, 10.0, 11)
    print(f"random_features_flow: n = {n} pairs (r = {2 * n} feature rows), d = {d}, h = {h}, relu, 11 times")
    print(f"{'m':>9} {'seconds':>9} {'time ratio':>11} {'width ratio':>12} {'infinite-width s':>17} "
          f"{'distance at t=10':>17}")
    base = None
    for m in widths:
        net = TwoLayer(d, m, h, output="grassmann", rng=1)
        finite, seconds = timed(lambda net=net: random_features_flow(net, X, Xp, t))
        infinite, inf_seconds = timed(lambda net=net: infinite_width_flow(net, X, Xp, t))
        base = base or (m, seconds)
        print(f"{m:>9} {seconds:>9.3f} {seconds / base[1]:>11.2f} {m / base[0]:>12.0f} {inf_seconds:>17.3f} "
              f"{finite.distance_to(infinite)[-1]:>17.3g}")


def ntk_table(sizes: list[tuple[int, int]]) -> None:
    print("\nTwoLayer.ntk (closed form) against a per-parameter Jacobian loop, d = 8, h = 2, relu")
    print(f"{'n':>5} {'m':>6} {'closed s':>10} {'loop s':>10} {'speed-up':>9} {'max|diff|':>10}")
    rng = np.random.default_rng(2)
    for n, m in sizes:
        net = TwoLayer(8, m, 2, rng=3)
        X = rng.standard_normal((n, 8))
        fast, t_fast = timed(lambda net=net, X=X: net.ntk(X))
        slow, t_slow = timed(lambda net=net, X=X: naive_ntk(net, X))
        print(f"{n:>5} {m:>6} {t_fast:>10.4f} {t_slow:>10.4f} {t_slow / t_fast:>9.0f} "
              f"{np.max(np.abs(fast - slow)):>10.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args()
    if args.quick:
        flow_table(20, [1000, 10_000])
        ntk_table([(8, 50)])
    else:
        flow_table(200, [10_000, 100_000, 1_000_000])
        ntk_table([(20, 100), (50, 400)])


if __name__ == "__main__":
    main()
