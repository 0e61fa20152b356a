"""Matrix-free closed forms for a sparse or LinearOperator C (issue 10, grassdyn/_krylov.py).

Conventions (docs/conventions.md): span W(t) = span(e^{Ct} W0) for Oja's flow;
subspaces are compared through principal angles.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from grassdyn import flows, theory
from grassdyn.grassmann import principal_angles, random_point


def graph_generator(d: int, edges: int, seed: int = 0) -> sp.csr_array:
    """Normalised adjacency of a random graph (an augmentation graph): symmetric, spectrum in [-1, 1]."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, d, edges), rng.integers(0, d, edges)
    A = sp.coo_array((np.ones(edges), (i, j)), shape=(d, d)).tocsr()
    A = A + A.T
    s = 1.0 / np.sqrt(np.maximum(np.asarray(A.sum(axis=1)).ravel(), 1.0))
    return (sp.diags_array(s) @ A @ sp.diags_array(s)).tocsr()


def _max_angle(U, V):
    return float(np.max(principal_angles(U, V, check=False)))


def test_sparse_agrees_with_the_dense_closed_form():
    # d = 1000 keeps the dense eigh cheap; benchmarks/flows.py prints the same comparison at d = 2000
    C = graph_generator(1000, 5000)
    W0 = random_point(1000, 8, rng=1)
    t = np.linspace(0.0, 10.0, 6)
    sparse = flows.grassmann_closed_form(C, W0, t)
    dense = flows.grassmann_closed_form(C.toarray(), W0, t)
    assert _max_angle(sparse.W, dense.W) < 1e-8
    assert sparse.params["matrix_free"] and sparse.stats["max_orthogonality_defect"] < 1e-13


def test_linear_operator_and_sparse_agree_and_the_projector_follows():
    C = graph_generator(300, 1500, seed=2) + 3.0 * sp.eye_array(300)  # a shift changes nothing
    W0 = random_point(300, 3, rng=3, batch=2)
    t = np.array([0.0, 0.5, 4.0, 40.0])
    a = flows.grassmann_closed_form(C, W0, t)
    b = flows.grassmann_closed_form(sla.aslinearoperator(C), W0, t)
    c = flows.grassmann_closed_form(C.toarray(), W0, t)
    assert a.W.shape == (2, 4, 300, 3)
    assert _max_angle(a.W, c.W) < 1e-10 and _max_angle(b.W, c.W) < 1e-10
    P = flows.projector_closed_form(C, W0[0], t)
    np.testing.assert_allclose(P, flows.projector_closed_form(C.toarray(), W0[0], t), atol=1e-10)


def test_limit_and_rate_by_lanczos():
    C = graph_generator(400, 3000, seed=4)
    lam, Q = np.linalg.eigh(C.toarray())
    for h in (1, 3):
        L = flows.limit(C, h)
        assert _max_angle(L, Q[:, ::-1][:, :h]) < 1e-8
        assert theory.rate(C, h) == pytest.approx(lam[-h] - lam[-h - 1], abs=1e-10)
        assert theory.rate(sla.aslinearoperator(C), h) == pytest.approx(lam[-h] - lam[-h - 1], abs=1e-10)


def test_large_d_never_forms_a_dense_matrix():
    d = 20000
    C = graph_generator(d, 60000, seed=5)
    W0 = np.linalg.qr(np.random.default_rng(6).standard_normal((d, 4)))[0]
    tracemalloc.start()
    try:
        traj = flows.grassmann_closed_form(C, W0, [0.0, 1.0, 2.0])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.02 * d * d * 8  # a dense C would be 3.2 GB; the run needs O(nnz + d h)
    assert traj.stats["max_orthogonality_defect"] < 1e-13


def test_eig_with_a_sparse_c_is_checked():
    lam = np.array([2.0, 1.0, 0.0])
    C = sp.diags_array(lam).tocsr()
    W0 = np.ones((3, 1)) / np.sqrt(3)
    traj = flows.grassmann_closed_form(C, W0, [0.0, 1e300], eig=(lam, np.eye(3)))
    np.testing.assert_array_equal(np.abs(traj.W[-1, :, 0]), [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="eig does not decompose C"):
        flows.grassmann_closed_form(C, W0, [1.0], eig=(lam[::-1].copy() * 0 + [3.0, 1.0, 0.0], np.eye(3)))


class _Shape(sla.LinearOperator):
    def __init__(self, shape, dtype, matrix):
        super().__init__(dtype=dtype, shape=shape)
        self.matrix = matrix

    def _matvec(self, x):
        return self.matrix @ x


_SQ = np.diag([1.0, 2.0, 3.0])
BAD = [
    pytest.param(sp.csr_array(np.triu(np.ones((3, 3)))), "symmetric", id="sparse-not-symmetric"),
    pytest.param(sp.csr_array(np.diag([1.0, np.nan, 0.0])), "non-finite", id="sparse-nan"),
    pytest.param(sp.csr_array(np.ones((3, 4))), "square", id="sparse-not-square"),
    pytest.param(_Shape((4, 4), np.float64, np.eye(4)), "ambient dimension", id="operator-wrong-d"),
    pytest.param(_Shape((3, 3), np.complex128, _SQ), "dtype", id="operator-complex"),
    pytest.param(_Shape((3, 3), np.float64, np.triu(np.ones((3, 3)))), "symmetric", id="operator-asym"),
    pytest.param(_Shape((3, 3), np.float64, np.diag([1.0, np.nan, 0.0])), "finite", id="operator-nan"),
]


@pytest.mark.parametrize(("C", "match"), BAD)
def test_bad_operators_raise_naming_c(C, match):
    with pytest.raises(ValueError, match=r"^C") as info:
        flows.grassmann_closed_form(C, np.eye(3)[:, :1], [0.0, 1.0])
    assert match in str(info.value)


def test_unsupported_uses_of_an_operator_say_so():
    C = sp.csr_array(np.diag([2.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="frame"):
        flows.grassmann_closed_form(C, np.eye(3)[:, :2], [1.0], frame="horizontal")
    with pytest.raises(ValueError, match=r"^C: a sparse"):
        flows.euclidean_closed_form(C, np.eye(3)[:, :1], [1.0])
    with pytest.raises(ValueError, match=r"^C: a sparse"):
        theory.largest_angle(C, np.eye(3)[:, :1], [1.0])
    with pytest.raises(ValueError, match=r"^t"):
        flows.grassmann_closed_form(C, np.eye(3)[:, :1], [0.0, np.inf])
    with pytest.raises(ValueError, match=r"^t: with a sparse C"):  # refused at once, never a hang
        flows.grassmann_closed_form(C, np.eye(3)[:, :1], [0.0, 1e300])
