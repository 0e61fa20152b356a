"""Sphinx configuration of the grassdyn documentation site.

Build: ``sphinx-build -W --keep-going docs docs/_build/html`` (the suite runs the
same build, tests/test_docs.py). The build never touches the network:
intersphinx reads the inventories shipped in ``docs/_intersphinx/`` (see
``docs/_intersphinx/make_inventories.py``) and the notebooks are rendered from
their committed outputs, not executed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# Document the grassdyn next to these docs, not whichever one is installed.
sys.path.insert(0, str(HERE.parent))

import grassdyn  # noqa: E402

project = "grassdyn"
author = "grassdyn developers"
copyright = "grassdyn developers"
release = grassdyn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "grassdyn_api",
    "grassdyn_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_intersphinx", "_templates", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

# Every cross-reference must resolve: a reference to a missing grassdyn name,
# or to a numpy/scipy/... name absent from the shipped inventories, is a warning
# (an error under -W) naming the reference and the page.
nitpicky = True
nitpick_ignore_regex = [
    # numpydoc's type descriptions ("ndarray, shape (..., d, h)", "int or None")
    # are prose, not references; only explicit roles are checked.
    ("py:class", r"(optional|default.*|shape.*|\(.*|.*\)|or|of|and)"),
]

# A module docstring's References list the module's sources, whether or not the
# module docstring itself cites each one: an uncited entry there is no error.
# (A *dangling* citation, [LABEL]_ with no definition, still fails the build.)
suppress_warnings = ["ref.citation"]

autosummary_generate = True
autosummary_ignore_module_all = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_inherit_docstrings = False

numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

intersphinx_mapping = {
    name: (url, str(HERE / "_intersphinx" / f"{name}.inv"))
    for name, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "scipy": "https://docs.scipy.org/doc/scipy/",
        "sympy": "https://docs.sympy.org/latest/",
        "matplotlib": "https://matplotlib.org/stable/",
        "hypothesis": "https://hypothesis.readthedocs.io/en/latest/",
        "xarray": "https://docs.xarray.dev/en/stable/",
    }.items()
}
intersphinx_timeout = 1  # never reached: every inventory is a local file

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_substitutions = {"release": release}
myst_heading_anchors = 3
nb_execution_mode = "off"  # notebooks carry their outputs; tests/test_notebooks.py keeps them current
nb_merge_streams = True

html_theme = "pydata_sphinx_theme"
html_title = f"grassdyn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False
