"""Bad arguments to the geometry (and interop) fail early, with the right type and a message naming them."""

import numpy as np
import pytest

from grassdyn import grassmann as gm
from grassdyn import interop

W = np.eye(4)[:, :2]
U = np.eye(4)[:, 2:]
V = np.eye(4)[:, 2:] * 0.5  # tangent at W
NOT_ON = 2.0 * W
NAN = np.where(np.eye(4, 2) > 0, np.nan, 0.0)
INF = np.where(np.eye(4, 2) > 0, np.inf, 0.0)
W3 = np.eye(3)[:, :2]

BAD = [
    # points
    pytest.param(
        lambda: gm.check_point(NOT_ON),
        ValueError,
        "W must have orthonormal columns",
        id="check-non-orthonormal",
    ),
    pytest.param(
        lambda: gm.check_point(np.ones(3)), ValueError, "W must have at least 2 dimensions", id="check-1d"
    ),
    pytest.param(
        lambda: gm.check_point(np.eye(2, 3)),
        ValueError,
        r"W must have shape \(\.\.\., d, h\)",
        id="check-h>d",
    ),
    pytest.param(
        lambda: gm.check_point(np.zeros((3, 0))), ValueError, "W must have shape", id="check-h-zero"
    ),
    pytest.param(lambda: gm.check_point(NAN), ValueError, "W contains non-finite", id="check-nan"),
    pytest.param(lambda: gm.check_point(INF), ValueError, "W contains non-finite", id="check-inf"),
    pytest.param(lambda: gm.check_point("abc"), TypeError, "W must be an array", id="check-string"),
    pytest.param(lambda: gm.check_point(W + 0j), TypeError, "W must be real", id="check-complex"),
    pytest.param(
        lambda: gm.check_point([[1, "a"]]), TypeError, "W must be an array of real", id="check-object"
    ),
    # random_point
    pytest.param(lambda: gm.random_point(2, 3), ValueError, "h must be <= d", id="random-h>d"),
    pytest.param(lambda: gm.random_point(-3, 1), ValueError, "d must be >= 1", id="random-negative-d"),
    pytest.param(lambda: gm.random_point(3, 0), ValueError, "h must be >= 1", id="random-h-zero"),
    pytest.param(lambda: gm.random_point(3.0, 1), TypeError, "d must be an integer", id="random-float-d"),
    pytest.param(lambda: gm.random_point(3, True), TypeError, "h must be an integer", id="random-bool-h"),
    pytest.param(lambda: gm.random_point(3, 1, rng="seed"), TypeError, "rng must be", id="random-str-rng"),
    pytest.param(lambda: gm.random_point(3, 1, rng=1.5), TypeError, "rng must be", id="random-float-rng"),
    pytest.param(
        lambda: gm.random_point(3, 1, rng=-1), ValueError, "rng must be a non-negative", id="random-neg-seed"
    ),
    pytest.param(
        lambda: gm.random_point(3, 1, batch=(-2,)), ValueError, "batch must be >= 0", id="random-neg-batch"
    ),
    pytest.param(
        lambda: gm.random_point(3, 1, batch=(2.5,)),
        TypeError,
        "batch must be an integer",
        id="random-float-batch",
    ),
    # angles and distances
    pytest.param(
        lambda: gm.principal_angles(NOT_ON, U), ValueError, "U must have orthonormal", id="angles-bad-U"
    ),
    pytest.param(
        lambda: gm.principal_angles(W, NOT_ON), ValueError, "V must have orthonormal", id="angles-bad-V"
    ),
    pytest.param(
        lambda: gm.principal_angles(W, W3), ValueError, "same ambient dimension d", id="angles-mismatched-d"
    ),
    pytest.param(
        lambda: gm.principal_angles(np.stack([W] * 2), np.stack([U] * 3)),
        ValueError,
        "leading batch axes of U",
        id="angles-batch-mismatch",
    ),
    pytest.param(
        lambda: gm.distance(W, U, "manhattan"), ValueError, "metric must be one of", id="distance-metric"
    ),
    pytest.param(
        lambda: gm.distance(W, U, metric=None), ValueError, "metric must be one of", id="distance-metric-none"
    ),
    pytest.param(
        lambda: gm.distance(W, W[:, :1]), ValueError, "U and V must be points of the same Gr", id="distance-h"
    ),
    pytest.param(lambda: gm.distance(W, NAN), ValueError, "V contains non-finite", id="distance-nan"),
    # exp, log, geodesic, retract
    pytest.param(lambda: gm.exp(W, W), ValueError, r"V must be a tangent vector at W", id="exp-non-tangent"),
    pytest.param(
        lambda: gm.exp(W, np.ones((4, 3))), ValueError, r"V must have shape \(\.\.\., 4, 2\)", id="exp-shape"
    ),
    pytest.param(lambda: gm.exp(NOT_ON, V), ValueError, "W must have orthonormal", id="exp-bad-W"),
    pytest.param(lambda: gm.exp(W, INF), ValueError, "V contains non-finite", id="exp-inf"),
    pytest.param(
        lambda: gm.exp(np.stack([W] * 2), np.stack([V] * 3)),
        ValueError,
        "leading batch axes of W",
        id="exp-batch-mismatch",
    ),
    pytest.param(
        lambda: gm.log(W, W3), ValueError, "W and U must be points of the same Gr", id="log-mismatched-d"
    ),
    pytest.param(lambda: gm.log(W, NOT_ON), ValueError, "U must have orthonormal", id="log-bad-U"),
    pytest.param(
        lambda: gm.geodesic(W, V, np.ones((2, 2))),
        ValueError,
        "t must be a scalar or 1-D",
        id="geodesic-2d-t",
    ),
    pytest.param(
        lambda: gm.geodesic(W, V, [0.0, np.nan]), ValueError, "t contains non-finite", id="geodesic-nan-t"
    ),
    pytest.param(
        lambda: gm.geodesic(W, W, 1.0), ValueError, "V must be a tangent", id="geodesic-non-tangent"
    ),
    pytest.param(
        lambda: gm.retract(W, V, "cayley"), ValueError, "method must be one of", id="retract-method"
    ),
    pytest.param(lambda: gm.retract(W, W, "qr"), ValueError, "V must be a tangent", id="retract-non-tangent"),
    # tangent space and transport
    pytest.param(
        lambda: gm.project_tangent(W, np.ones((3, 2))), ValueError, "G must have shape", id="project-shape"
    ),
    pytest.param(lambda: gm.project_tangent(W, NAN), ValueError, "G contains non-finite", id="project-nan"),
    pytest.param(
        lambda: gm.riemannian_gradient(NOT_ON, V), ValueError, "W must have orthonormal", id="rgrad-bad-W"
    ),
    pytest.param(lambda: gm.inner(W, V, W), ValueError, "V2 must be a tangent", id="inner-non-tangent"),
    pytest.param(lambda: gm.check_tangent(W, W), ValueError, "V must be a tangent", id="check-tangent"),
    pytest.param(
        lambda: gm.transport(W, V, W), ValueError, "X must be a tangent", id="transport-non-tangent-X"
    ),
    pytest.param(
        lambda: gm.transport(W, V, V, method="schild"),
        ValueError,
        "method must be one of",
        id="transport-method",
    ),
    pytest.param(
        lambda: gm.transport(W, V, V, method="projection", retraction="svd"),
        ValueError,
        "retraction must be one of",
        id="transport-retraction",
    ),
    # projectors
    pytest.param(lambda: gm.projector(NOT_ON), ValueError, "W must have orthonormal", id="projector-bad-W"),
    pytest.param(
        lambda: gm.from_projector(np.ones((3, 2))),
        ValueError,
        r"P must have shape \(\.\.\., d, d\)",
        id="from-projector-shape",
    ),
    pytest.param(
        lambda: gm.from_projector(np.triu(np.ones((3, 3)))),
        ValueError,
        "P must be symmetric",
        id="from-projector-asymmetric",
    ),
    pytest.param(
        lambda: gm.from_projector(2 * np.eye(3)),
        ValueError,
        "P must be idempotent",
        id="from-projector-not-idempotent",
    ),
    pytest.param(
        lambda: gm.from_projector(np.zeros((3, 3))),
        ValueError,
        "P must have the same integer trace",
        id="from-projector-zero",
    ),
    pytest.param(
        lambda: gm.from_projector(np.stack([np.diag([1.0, 0, 0]), np.diag([1.0, 1, 0])])),
        ValueError,
        "P must have the same integer trace",
        id="from-projector-mixed-rank",
    ),
    # interop
    pytest.param(
        lambda: interop.to_geomstats(NOT_ON), ValueError, "W must have orthonormal", id="interop-to-bad-W"
    ),
    pytest.param(
        lambda: interop.tangent_to_geomstats(W, W), ValueError, "V must be a tangent", id="interop-tangent"
    ),
    pytest.param(
        lambda: interop.tangent_from_geomstats(W, np.ones((3, 3))),
        ValueError,
        "Delta must have shape",
        id="interop-delta-shape",
    ),
    pytest.param(
        lambda: interop.tangent_from_geomstats(W, np.triu(np.ones((4, 4)))),
        ValueError,
        "Delta must be symmetric",
        id="interop-delta-asymmetric",
    ),
    pytest.param(
        lambda: interop.tangent_from_geomstats(W, np.eye(4)),
        ValueError,
        "Delta must be tangent",
        id="interop-delta-not-tangent",
    ),
    pytest.param(lambda: interop.grassmannian(3, 3), ValueError, "h must be < d", id="interop-gr-d-d"),
    pytest.param(lambda: interop.grassmannian(0, 1), ValueError, "d must be >= 1", id="interop-gr-d-zero"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_arguments_raise_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_unchecked_path_skips_validation():
    # check=False is the inner-loop fast path: it trusts the caller and does not raise.
    assert gm.distance(NOT_ON, U, check=False).shape == ()
