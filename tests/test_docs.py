"""The documentation: every public name documented, the site builds with warnings as errors, the guide runs.

The site build (``sphinx-build -W --keep-going``) is the expensive test (about
20 s of CPU); the others are cheap and pin down the failure modes it relies
on: a public name without a docstring, a broken cross-reference, a citation
without a definition.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import grassdyn_api  # noqa: E402

BUILD_FLAGS = ["-W", "--keep-going", "-q", "-b", "html"]


def _sphinx(srcdir: Path, outdir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", *BUILD_FLAGS, *extra, str(srcdir), str(outdir / "html"),
         "-d", str(outdir / "doctrees")],
        cwd=ROOT, capture_output=True, text=True,
    )


# -- the public API ------------------------------------------------------------------------------


def test_every_public_name_has_a_docstring():
    missing = grassdyn_api.undocumented(grassdyn_api.walk())
    assert not missing, "public names without a docstring (#: comment for a constant): " + ", ".join(missing)


def test_walk_covers_the_documented_entry_points():
    import grassdyn

    modules = {m.name: m for m in grassdyn_api.walk()}
    submodules = [n for n in grassdyn.__all__ if isinstance(getattr(grassdyn, n), type(grassdyn))]
    assert submodules and all(f"grassdyn.{n}" in modules for n in submodules)
    names = grassdyn_api.documented_names(list(modules.values()))
    # Re-exported names are documented once, where first exported.
    assert {"grassdyn.Trajectory", "grassdyn.ssl.Alignment", "grassdyn.flows.integrate"} <= names
    assert "grassdyn.ssl.quadratic.Alignment" not in names
    assert not any(part.startswith("_") for n in modules for part in n.split("."))


def test_walk_reports_an_undocumented_public_name(tmp_path, monkeypatch):
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A package."""\n__all__ = ["sub", "documented", "bare", "LIMIT"]\n'
                                     "from fakepkg import sub\n"
                                     "def documented():\n    '''Has one.'''\n"
                                     "def bare():\n    pass\n"
                                     "LIMIT = 3\n")
    (pkg / "sub.py").write_text("'''A submodule without __all__.'''\n"
                                "#: Documented by a comment.\nKNOWN = 1\n"
                                "class Thing:\n    pass\n"
                                "def _private():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = grassdyn_api.walk("fakepkg")
    assert [m.name for m in modules] == ["fakepkg", "fakepkg.sub"]
    assert grassdyn_api.undocumented(modules) == ["fakepkg.bare", "fakepkg.LIMIT", "fakepkg.sub.Thing"]
    assert {m.name for m in modules[1].members} == {"KNOWN", "Thing"}


def test_all_naming_a_missing_attribute_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "brokenpkg.py").write_text('"""Doc."""\n__all__ = ["ghost"]\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AttributeError, match=r"brokenpkg\.__all__ names 'ghost'"):
        grassdyn_api.walk("brokenpkg")


def test_module_references_are_copied_into_function_docstrings():
    flows = importlib.import_module("grassdyn.flows")
    lines = ["Limit [YHM94]_ and [NOPE99]_.", "", "Examples", "--------", ">>> 1"]
    grassdyn_api._add_cited_references(None, "function", "grassdyn.flows.limit", flows.limit, {}, lines)
    text = "\n".join(lines)
    assert ".. [YHM94] W.-Y. Yan, U. Helmke, J. B. Moore" in text
    # A label defined nowhere is left dangling, for Sphinx to report.
    assert ".. [NOPE99]" not in text
    assert text.count("References\n----------") == 1


# -- the build ---------------------------------------------------------------------------------


def test_broken_references_fail_the_build_naming_them(tmp_path):
    """The site's settings (nitpicky, offline intersphinx) turn a bad reference into an error.

    A small project with the site's conf.py minus the API generator: a
    reference to a name in a shipped inventory resolves without the network,
    and references to missing names fail, each named.
    """
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""
        site = {{"__file__": {str(DOCS / "conf.py")!r}}}
        exec(open(site["__file__"]).read(), site)
        globals().update({{k: v for k, v in site.items() if not k.startswith("__")}})
        extensions = [e for e in extensions if e not in ("grassdyn_api", "grassdyn_gallery", "myst_nb")]
        extensions.append("myst_parser")
        source_suffix = {{".rst": "restructuredtext", ".md": "markdown"}}
        exclude_patterns = []
    """))
    (src / "index.md").write_text("# Page\n\n{func}`numpy.linalg.eigh`, {class}`matplotlib.figure.Figure`.\n")
    ok = _sphinx(src, tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    assert "numpy.org/doc/stable/reference/generated/numpy.linalg.eigh.html" in (
        tmp_path / "ok" / "html" / "index.html").read_text()
    (src / "index.md").write_text("# Page\n\n{func}`grassdyn.flows.no_such_flow`, {func}`numpy.no_such`.\n")
    bad = _sphinx(src, tmp_path / "bad")
    assert bad.returncode != 0
    assert "grassdyn.flows.no_such_flow" in bad.stderr and "numpy.no_such" in bad.stderr


def _fresh_checkout(root: Path) -> Path:
    """What the build needs of the repository, as a fresh checkout has it: no generated pages."""
    shutil.copytree(DOCS, root / "docs", ignore=shutil.ignore_patterns(
        "_build", "generated", "grassdyn*.rst", "*.ipynb", "__pycache__"))
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copy(ROOT / "CHANGELOG.md", root / "CHANGELOG.md")
    (root / "grassdyn").symlink_to(ROOT / "grassdyn")
    return root / "docs"


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path):
    # From a copy: a fresh checkout has none of the pages the build generates (which
    # must exist before Sphinx lists its sources), and the tests leave the tree alone.
    result = _sphinx(_fresh_checkout(tmp_path / "checkout"), tmp_path)
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0 and not warnings, "sphinx-build -W failed:\n" + "\n".join(
        warnings or [result.stdout[-2000:], result.stderr[-2000:]]
    )
    html = tmp_path / "html"
    # Every public name has its entry in the API reference.
    from sphinx.util.inventory import InventoryFile

    with open(html / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    documented = {name for role, items in inventory.items() if role.startswith("py:") for name in items}
    modules = grassdyn_api.walk()
    missing = sorted(grassdyn_api.documented_names(modules) - documented)
    missing += sorted(m.name for m in modules if m.name not in documented)
    assert not missing, "public names missing from the API reference: " + ", ".join(missing)
    # The gallery shows every notebook with its stored figures.
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = (html / "gallery" / f"{notebook.stem}.html").read_text()
        assert "<img" in page, f"gallery page of {notebook.name} shows no figure"
    pages = ("guide/flows", "guide/derivation", "guide/theorems", "guide/report", "conventions", "citing")
    for page in pages:
        assert (html / f"{page}.html").exists(), page


# -- the guide's examples run ---------------------------------------------------------------------


GUIDE_PAGES = sorted((DOCS / "guide").glob("*.md"))


@pytest.mark.parametrize("page", [p for p in GUIDE_PAGES if "```python" in p.read_text()],
                         ids=lambda p: p.stem)
def test_guide_examples_run(page):
    """The python blocks of a guide page, run in order in one namespace (theorem tests call themselves)."""
    namespace: dict = {"__name__": f"guide_{page.stem}"}
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S), start=1):
        exec(compile(block, f"{page.relative_to(ROOT)} (python block {number})", "exec"), namespace)
