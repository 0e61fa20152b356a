"""The gallery: every notebook in ``notebooks/``, copied into ``docs/gallery/`` when the build starts.

myst-nb renders the copies from their stored outputs (``nb_execution_mode =
"off"``); ``tests/test_notebooks.py`` keeps those outputs current. A notebook
added to ``notebooks/`` joins the gallery without editing the docs (its index
globs), and a removed one leaves it.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_notebooks(source: Path, gallery: Path) -> list[Path]:
    """Copy ``source/*.ipynb`` into ``gallery`` (only those that changed); remove stale copies."""
    copied = []
    for path in sorted(source.glob("*.ipynb")):
        target = gallery / path.name
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
        copied.append(target)
    for stale in set(gallery.glob("*.ipynb")) - set(copied):
        stale.unlink()
    return copied


def _config_inited(app, config) -> None:
    srcdir = Path(app.srcdir)
    copy_notebooks(srcdir.parent / "notebooks", srcdir / "gallery")


def setup(app):
    # Before Sphinx lists the source files, so that the copies are among them.
    app.connect("config-inited", _config_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
