"""Write the intersphinx inventories the documentation build reads (``docs/_intersphinx/*.inv``).

The build must not touch the network (only a package index is reachable where
the suite runs, and a build that depends on six websites is flaky anyway), and
the packages do not ship their ``objects.inv`` in their wheels. So the site
carries small inventories of its own: the external names grassdyn's docstrings
and pages link to, with their addresses in each project's published
documentation. The build is nitpicky, so a reference to an external name
missing here fails it, naming the reference: add the name below and run

    python docs/_intersphinx/make_inventories.py

The addresses follow each project's URL scheme for its stable documentation;
they were written by hand, not downloaded.
"""

from __future__ import annotations

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: project -> [(name, domain:role, address relative to the project's root URL)].
#: ``$`` at the end of an address stands for the name, as in Sphinx's own inventories.
INVENTORIES: dict[str, list[tuple[str, str, str]]] = {
    "python": [
        ("tomllib", "py:module", "library/tomllib.html#module-$"),
        ("ValueError", "py:exception", "library/exceptions.html#$"),
        ("TypeError", "py:exception", "library/exceptions.html#$"),
        ("float", "py:class", "library/functions.html#$"),
        ("int", "py:class", "library/functions.html#$"),
    ],
    "numpy": [
        ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#$"),
        ("numpy.random.Generator", "py:class", "reference/random/generator.html#$"),
        ("numpy.linalg.eigh", "py:function", "reference/generated/numpy.linalg.eigh.html#$"),
        ("numpy.linalg.svd", "py:function", "reference/generated/numpy.linalg.svd.html#$"),
        ("numpy.linalg.qr", "py:function", "reference/generated/numpy.linalg.qr.html#$"),
    ],
    "scipy": [
        ("scipy.integrate.solve_ivp", "py:function", "reference/generated/scipy.integrate.solve_ivp.html#$"),
        ("scipy.linalg.expm", "py:function", "reference/generated/scipy.linalg.expm.html#$"),
    ],
    "sympy": [
        ("sympy.core.expr.Expr", "py:class", "modules/core.html#$"),
        ("sympy.core.symbol.Symbol", "py:class", "modules/core.html#$"),
        ("sympy.matrices.dense.Matrix", "py:class", "modules/matrices/dense.html#$"),
    ],
    "matplotlib": [
        ("matplotlib.figure.Figure", "py:class", "api/_as_gen/matplotlib.figure.Figure.html#$"),
        ("matplotlib.axes.Axes", "py:class", "api/_as_gen/matplotlib.axes.Axes.html#$"),
    ],
    "hypothesis": [
        ("hypothesis.given", "py:function", "reference/api.html#$"),
        ("hypothesis.extra.numpy", "py:module", "reference/strategies.html#module-$"),
        ("hypothesis.strategies.SearchStrategy", "py:class", "reference/strategies.html#$"),
        ("hypothesis.strategies.data", "py:function", "reference/strategies.html#$"),
    ],
    "xarray": [
        ("xarray.Dataset", "py:class", "generated/xarray.Dataset.html#$"),
        ("xarray.DataArray", "py:class", "generated/xarray.DataArray.html#$"),
    ],
}


def inventory(project: str, entries: list[tuple[str, str, str]]) -> bytes:
    """An ``objects.inv`` (Sphinx inventory version 2) holding ``entries``."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: stable\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(f"{name} {role} 1 {uri} -\n" for name, role, uri in sorted(entries))
    return header.encode() + zlib.compress(body.encode())


def main() -> None:
    for project, entries in INVENTORIES.items():
        (HERE / f"{project}.inv").write_bytes(inventory(project, entries))


if __name__ == "__main__":
    main()
