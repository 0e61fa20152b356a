"""Critical points of the Grassmannian and unconstrained flows, their stability, and collapse."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from grassdyn._validation import as_int
from grassdyn.symbolic._common import (
    _as_matrix,
    _check_descending,
    _check_size,
    _classify,
    _clusters,
    _descending_facts,
    _frame_symbols,
    _latex_list,
    _merge_float_ties,
    _SignOracle,
    _spectrum,
    t_symbol,
)
from grassdyn.symbolic.charts import grassmann_chart, linearize


# -- critical points of the Grassmannian flow -----------------------------------------------------
@dataclass(frozen=True)
class CriticalPoint:
    r"""The critical point ``span{e_i : i in I}`` of Oja's flow for ``C = diag(lam)``.

    Attributes
    ----------
    indices : tuple of int
        ``I`` (0-based).
    eigenvalues : tuple of sympy.Expr
        Spectrum of the flow linearised in the graph chart at ``X = 0``
        (``h (d - h)`` values, with multiplicity, ordered as ``vec X``).
    index : int or None
        Number of unstable (positive) directions; ``None`` if undetermined.
    classification : str
        One of :data:`CLASSIFICATIONS`.
    critical_dimension : int
        Dimension of the critical set through this point: 0 if isolated,
        ``sum j (m - j)`` over repeated eigenvalues otherwise.
    jacobian : sympy.ImmutableMatrix, shape (h (d - h), h (d - h))
        Of the chart field at ``X = 0``, in ``vec X`` (column-major) coordinates.
    assumptions : str
        What the signs rest on (the descending order for symbolic spectra).
    d : int
        Ambient dimension.
    """

    indices: tuple[int, ...]
    eigenvalues: tuple[sp.Expr, ...]
    index: int | None
    classification: str
    critical_dimension: int
    jacobian: sp.ImmutableMatrix
    assumptions: str
    d: int

    @property
    def frame(self) -> sp.ImmutableMatrix:
        """The coordinate frame ``[e_i for i in I]``, shape ``(d, h)``."""
        return sp.ImmutableMatrix(sp.eye(self.d).extract(list(range(self.d)), list(self.indices)))

    def to_latex(self) -> str:
        return CriticalPoints((self,), self.d, len(self.indices), self.assumptions).to_latex()


@dataclass(frozen=True)
class CriticalPoints(Sequence[CriticalPoint]):
    """All critical points of Oja's flow for ``C = diag(eigenvalues)``: a list of :class:`CriticalPoint`."""

    points: tuple[CriticalPoint, ...]
    d: int
    h: int
    assumptions: str

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[CriticalPoint]:
        return iter(self.points)

    def __getitem__(self, k: Any) -> Any:
        return self.points[k]

    def by_indices(self, I: Sequence[int]) -> CriticalPoint:
        """The critical point of the index set ``I``."""
        key = tuple(sorted(I))
        for p in self.points:
            if p.indices == key:
                return p
        raise KeyError(f"no critical point with indices {key}")

    def to_latex(self) -> str:
        """A LaTeX table (subset, spectrum, index, class) with the assumptions as a caption."""
        rows = []
        for p in self.points:
            subset = "\\{" + ", ".join(str(i + 1) for i in p.indices) + "\\}"
            spec = _latex_list(p.eigenvalues)
            cls = p.classification + (f" (critical set of dim. {p.critical_dimension})"
                                       if p.critical_dimension else "")
            idx = "?" if p.index is None else str(p.index)
            rows.append(f"${subset}$ & ${spec}$ & {idx} & {cls} \\\\")
        return "\n".join([
            "\\begin{table}",
            "\\centering",
            "\\begin{tabular}{llrl}",
            "$I$ & spectrum of the linearisation & index & class \\\\",
            "\\hline",
            *rows,
            "\\end{tabular}",
            f"\\caption{{Critical points $\\mathrm{{span}}\\{{e_i : i \\in I\\}}$ of "
            f"$\\dot W = (I - WW^\\top) C W$ on $\\mathrm{{Gr}}({self.d}, {self.h})$, "
            f"$C = \\mathrm{{diag}}(\\lambda)$, linearised in the graph chart. "
            f"Assumption: {self.assumptions}.}}",
            "\\end{table}",
        ])


def critical_points(eigenvalues: Sequence[Any], h: int, *, tol: float | None = None) -> CriticalPoints:
    r"""Critical points of Oja's flow for ``C = diag(eigenvalues)`` and their stability.

    Parameters
    ----------
    eigenvalues : sequence of numbers or sympy expressions, length d
        The diagonal of ``C``. Symbolic entries are taken as real, distinct
        and in descending order (entries given as the identical expression
        count as repeated); the result's ``assumptions`` says so.
    h : int
        Subspace dimension, ``1 <= h < d``.
    tol : float >= 0, optional
        Float eigenvalues within ``tol`` of each other are taken as one
        repeated eigenvalue. By default those equal up to rounding (within
        8 ulps, as ``0.1 + 0.2`` and ``0.3``) are, with a ``UserWarning``:
        a sign decided by a rounding error would otherwise turn a point of a
        critical manifold into a saddle. ``tol=0`` keeps the floats exactly
        as given.

    Returns
    -------
    CriticalPoints
        One :class:`CriticalPoint` per h-subset ``I`` (lexicographic order).

    Raises
    ------
    ValueError
        If sympy can disprove the descending order of a symbolic spectrum
        (``[a, a + 1]``: ``a - (a + 1) = -1 < 0``; ``[a, b, a]``: a repeated
        eigenvalue split by a different one). An order sympy cannot decide
        (``[a, b]`` for real symbols) is the stated assumption, not an error:
        it is what the symbolic classification is conditional on, and it is
        recorded in ``assumptions``. Also if the table would hold more than
        :data:`~grassdyn.symbolic.SYMBOLIC_MAX_SIZE` linearised directions.

    Notes
    -----
    For each ``I`` the flow is written in the graph chart around
    ``span{e_i : i in I}`` (:func:`grassmann_chart`) and linearised at
    ``X = 0`` (:func:`linearize`); the spectrum is whatever that derivation
    gives (for distinct eigenvalues it is ``lam_j - lam_i``, ``i in I``,
    ``j not in I`` [YHM94]_). Signs are exact for numbers and decided by
    ``sympy.ask`` from the descending order for symbols. Convention: stable
    means all eigenvalues negative, which for a distinct descending spectrum
    is the top-h eigenspace only. A zero eigenvalue (a repeated eigenvalue
    split between ``I`` and its complement) makes the point
    ``"non-hyperbolic"``: it lies on a critical manifold of dimension
    ``critical_dimension`` (a product of Grassmannians ``Gr(m, j)``).

    Examples
    --------
    >>> pts = critical_points([3, 2, 1], 1)
    >>> [(p.indices, p.eigenvalues, p.classification) for p in pts]
    [((0,), (-1, -2), 'stable'), ((1,), (1, -1), 'saddle'), ((2,), (2, 1), 'unstable')]
    >>> critical_points([2, 2, 1], 1)[0].classification, critical_points([2, 2, 1], 1)[0].critical_dimension
    ('non-hyperbolic', 1)
    """
    lam = _spectrum(eigenvalues)
    d = len(lam)
    h = as_int(h, "h", minimum=1)
    if h >= d:
        raise ValueError(f"h must satisfy 1 <= h < d = {d}, got h = {h}")
    _check_size(math.comb(d, h) * h * (d - h), f"eigenvalues of length d = {d} with h = {h}: "
                f"C(d, h) h (d - h) = {math.comb(d, h) * h * (d - h)} linearised directions")
    lam = _merge_float_ties(lam, tol)
    _check_descending(lam)
    sign, text = _descending_facts(lam)
    clusters = _clusters(lam)
    C = sp.diag(*lam)
    points = []
    for I in itertools.combinations(range(d), h):
        chart = grassmann_chart(C, I)
        lin = linearize(chart.rhs, {chart.X: sp.zeros(*chart.X.shape)})
        signs = [sign(v) for v in lin.eigenvalues]
        index = None if any(s is None for s in signs) else sum(s > 0 for s in signs)
        dim = sum(len(set(g) & set(I)) * len(set(g) - set(I)) for g in clusters)
        points.append(CriticalPoint(I, lin.eigenvalues, index, _classify(signs), dim, lin.jacobian, text, d))
    return CriticalPoints(tuple(points), d, h, text)


# -- the unconstrained flow ---------------------------------------------------------------------
@dataclass(frozen=True)
class EuclideanFixedPoints:
    """Fixed points of ``dW/dt = C W``: ``W`` with columns in ``ker C``, and their stability.

    Attributes
    ----------
    kernel : tuple of sympy.ImmutableMatrix
        A basis of ``ker C`` (empty for invertible ``C``: only ``W = 0``).
    dimension : int
        Dimension of the fixed set ``{W : C W = 0}``, ``h dim ker C``.
    jacobian : sympy.ImmutableMatrix, shape (d h, d h)
        Of ``vec W -> vec(C W)`` (``I_h (x) C``).
    eigenvalues : tuple of sympy.Expr
        Its spectrum: each eigenvalue of ``C`` ``h`` times.
    index, classification, assumptions
        As in :class:`CriticalPoint` (the same at every fixed point: the
        flow is linear).
    """

    kernel: tuple[sp.ImmutableMatrix, ...]
    dimension: int
    jacobian: sp.ImmutableMatrix
    eigenvalues: tuple[sp.Expr, ...]
    index: int | None
    classification: str
    assumptions: str

    def to_latex(self) -> str:
        ker = ("\\{0\\}" if not self.kernel else
               "\\mathrm{span}\\{" + _latex_list([v.T for v in self.kernel]) + "\\}")
        return (f"\\dot W = C W:\\ \\text{{fixed points }} \\{{W : \\mathrm{{col}}(W) \\subseteq \\ker C\\}},"
                f"\\ \\ker C = {ker},\\ \\dim = {self.dimension};\\ "
                f"\\operatorname{{spec}} = \\{{{_latex_list(self.eigenvalues)}\\}}\\ "
                f"(\\text{{{self.classification}}}, \\text{{index }} "
                f"{'?' if self.index is None else self.index})"
                f"\\quad \\text{{Assumption: }} \\text{{{self.assumptions}}}")


def euclidean_fixed_points(eigenvalues: Sequence[Any], h: int) -> EuclideanFixedPoints:
    r"""Fixed points and stability of the unconstrained flow ``dW/dt = C W``, ``C = diag(eigenvalues)``.

    Parameters
    ----------
    eigenvalues : sequence of numbers or sympy expressions, length d
    h : int
        Number of columns of ``W``, ``>= 1``.

    Returns
    -------
    EuclideanFixedPoints

    Notes
    -----
    ``C W = 0`` is linear in ``W``: the fixed set is ``{W : col(W) in ker C}``,
    only ``W = 0`` for invertible ``C``. The linearisation is the flow
    itself, ``vec W -> (I_h (x) C) vec W`` [HM94]_, so the origin is stable
    iff ``C`` is negative definite; for a positive definite generator (as in
    SSL) every trajectory grows, fastest along the top eigenvector. Symbolic
    eigenvalues are treated by sympy as generic (non-zero) when the kernel is
    computed; their signs follow only from sympy assumptions on the symbols
    (e.g. ``positive=True``), otherwise the class is ``"undetermined"``.

    Examples
    --------
    >>> fp = euclidean_fixed_points([2, 1, 0], 2)
    >>> fp.dimension, fp.eigenvalues, fp.classification
    (2, (2, 1, 0, 2, 1, 0), 'non-hyperbolic')
    """
    lam = _spectrum(eigenvalues)
    d = len(lam)
    h = as_int(h, "h", minimum=1)
    _check_size(d * h * d * h, f"eigenvalues of length d = {d} with h = {h}: a Jacobian of (d h)^2 entries")
    C = sp.diag(*lam)
    W = _frame_symbols("w", d, h, real=False)
    lin = linearize(C * W, {W: sp.zeros(d, h)})
    kernel = tuple(sp.ImmutableMatrix(v) for v in C.nullspace())
    numeric = all(v.is_number for v in lam)
    text = ("numeric spectrum: signs are exact, no assumption used" if numeric else
            "symbolic eigenvalues generic (non-zero) for the kernel; signs only from the symbols' "
            "own sympy assumptions")
    sign = _SignOracle(None)
    signs = [sign(v) for v in lin.eigenvalues]
    index = None if any(s is None for s in signs) else sum(s > 0 for s in signs)
    return EuclideanFixedPoints(kernel, h * len(kernel), lin.jacobian, lin.eigenvalues, index,
                                _classify(signs), text)


@dataclass(frozen=True)
class CollapseLimit:
    r"""``lim_{t -> oo} e^{Ct} W0 / e^{lam_1 t}`` for the unconstrained flow.

    Attributes
    ----------
    W0 : sympy.ImmutableMatrix, shape (d, h)
    scaled : sympy.ImmutableMatrix, shape (d, h)
        ``e^{-lam_1 t} e^{Ct} W0``.
    limit : sympy.ImmutableMatrix, shape (d, h)
        Its limit, computed by ``sympy.limit`` entrywise.
    is_e1e1T_W0 : bool
        Whether the limit equals ``e_1 e_1^T W0`` exactly.
    rank : int
        Rank of the limit (1 for generic ``W0``): dimension collapse.
    assumptions : str
    """

    W0: sp.ImmutableMatrix
    scaled: sp.ImmutableMatrix
    limit: sp.ImmutableMatrix
    is_e1e1T_W0: bool
    rank: int
    assumptions: str

    def to_latex(self) -> str:
        return (f"\\lim_{{t\\to\\infty}} {sp.latex(self.scaled)} = {sp.latex(self.limit)}"
                f"\\ (\\operatorname{{rank}} = {self.rank})\\quad \\text{{Assumption: {self.assumptions}}}")


def rank_one_collapse(eigenvalues: Sequence[Any], h: int, W0: object = None) -> CollapseLimit:
    r"""Dimension collapse of ``dW/dt = C W``: ``e^{Ct} W0 / e^{lam_1 t} -> e_1 e_1^T W0``.

    Parameters
    ----------
    eigenvalues : sequence, length d >= 2
        All numbers (with ``lam_1`` strictly largest), or all sympy symbols,
        taken as distinct and descending (``lam_1 > lam_k`` is encoded by
        writing ``lam_k = lam_1 - g_k`` with positive gap symbols ``g_k``).
    h : int
        Columns of ``W``, ``>= 1``.
    W0 : sympy Matrix, shape (d, h), optional
        Initial matrix; by default a matrix of symbols ``w_{r,c}``.

    Returns
    -------
    CollapseLimit

    Notes
    -----
    ``W(t) = e^{Ct} W0`` [HM94]_; its entries in row ``k`` scale as
    ``e^{(lam_k - lam_1) t}``, so every column turns to ``e_1``: for h >= 2
    the columns become parallel (docs/conventions.md, dimension collapse).

    Examples
    --------
    >>> res = rank_one_collapse([2, 1], 2)
    >>> res.limit, res.rank, res.is_e1e1T_W0
    (Matrix([
    [w_{1,1}, w_{1,2}],
    [      0,       0]]), 1, True)
    """
    lam = _spectrum(eigenvalues)
    d = len(lam)
    h = as_int(h, "h", minimum=1)
    if d < 2:
        raise ValueError(f"eigenvalues must have length d >= 2, got {d}")
    if h > d:
        raise ValueError(f"h must be <= d = {d} (W0 of full column rank), got h = {h}")
    _check_size(d * h, f"eigenvalues of length d = {d} with h = {h}: a limit for each of d h entries")
    t = t_symbol
    if all(v.is_number for v in lam):
        if any(not (lam[0] > v) for v in lam[1:]):
            raise ValueError(f"eigenvalues: the first must be strictly the largest, got {lam}")
        subs: dict[sp.Expr, sp.Expr] = {}
        text = "numeric spectrum with a strictly largest first eigenvalue"
    elif all(isinstance(v, sp.Symbol) for v in lam) and len(set(lam)) == d:
        gaps = [sp.Symbol(f"g_{k + 1}", positive=True) for k in range(1, d)]
        subs = {lam[k]: lam[0] - gaps[k - 1] for k in range(1, d)}
        text = "symbolic eigenvalues distinct and descending: " + ", ".join(
            f"{lam[0]} - {lam[k]} = g_{k + 1} > 0" for k in range(1, d))
    else:
        raise ValueError("eigenvalues must be all numbers or all distinct sympy symbols")
    if W0 is None:
        W = _frame_symbols("w", d, h, real=False)
    else:
        W = _as_matrix(W0, "W0")
        if W.shape != (d, h):
            raise ValueError(f"W0 must have shape ({d}, {h}), got {W.shape}")
    scaled = sp.ImmutableMatrix(sp.diag(*[sp.exp((v - lam[0]) * t) for v in lam]) * W)
    limit = sp.ImmutableMatrix(scaled.xreplace(subs).applyfunc(lambda e: sp.limit(e, t, sp.oo)))
    e1 = sp.eye(d)[:, 0]
    is_proj = (limit - e1 * e1.T * W).applyfunc(sp.simplify).is_zero_matrix
    return CollapseLimit(W, scaled, limit, bool(is_proj), sp.Matrix(limit).rank(), text)
