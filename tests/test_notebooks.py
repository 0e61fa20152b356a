"""The notebooks in ``notebooks/`` are stored with their outputs, and those outputs are current.

Each notebook is re-executed in a fresh kernel and compared with what is stored
by ``docs/render.py`` (numbers as numbers, to one unit in the last printed
digit; images by presence: the rule is documented there). A failing cell fails
the test naming the cell; stale outputs fail it naming each cell that changed.
Refresh them all with ``python -m docs.render``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("grassdyn_docs_render", ROOT / "docs" / "render.py")
render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render)

NOTEBOOKS = render.notebooks()


def test_there_are_at_least_three_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    unexecuted = [i for i, c in enumerate(book.cells) if c.cell_type == "code" and c.execution_count is None]
    assert not unexecuted, f"{path.name}: cells {unexecuted} stored without outputs: `python -m docs.render`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_current(path):
    fresh = render.execute(path)  # raises, naming the cell, if a cell fails
    problems = render.differences(nbformat.read(path, as_version=4), fresh)
    assert not problems, (
        f"{path.name}: stored outputs are stale; run `python -m docs.render {path.relative_to(ROOT)}`:\n  "
        + "\n  ".join(problems)
    )


# -- the comparison itself: it must catch what it is meant to catch ---------------------------------


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("0.124", "0.123", True),  # one unit in the last printed digit: a rounding boundary
        ("0.124", "0.122", False),
        ("1.5e-09", "1.6e-09", True),
        ("1.5e-09", "1.8e-09", False),
        ("0.8165449826234567", "0.8165449826234571", True),  # last bits of a full-precision print
        ("0.8165449826234567", "0.8165449836234567", False),
        ("5.551115123125783e-16", "4.440892098500626e-16", True),  # rounding-level: noise
        ("2.1e-11", "2.4e-11", False),
        ("3", "4", False),  # integers (counts, indices) must be equal
        ("12", "12", True),
        ("3.", "4.", False),
    ],
)
def test_numbers_agree(a, b, agree):
    assert render.numbers_agree(a, b) is agree


def test_text_difference_names_what_changed():
    same = ("rate 0.991 at <obj 0x7f3a2b1c9d00>", "rate 0.990 at <obj 0x7f00aa11bb22>")
    assert render.text_difference(*same) is None
    assert "0.991 is now 0.95" in render.text_difference("rate 0.991", "rate 0.95")
    assert "line 2" in render.text_difference("a 1.0\nstable", "a 1.0\nsaddle")


def _book(outputs):
    cell = nbformat.v4.new_code_cell("print(x)", execution_count=1, outputs=outputs)
    return nbformat.v4.new_notebook(cells=[cell])


def test_differences_catch_stale_outputs():
    stream = nbformat.v4.new_output("stream", name="stdout", text="slope 0.5012\n")
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})
    stored = _book([stream, png])
    # Chunking of a stream is not part of the output; a number within its last digit is the same.
    same = _book([nbformat.v4.new_output("stream", name="stdout", text="slope "),
                  nbformat.v4.new_output("stream", name="stdout", text="0.5013\n"), png])
    assert render.differences(stored, same) == []
    changed = _book([nbformat.v4.new_output("stream", name="stdout", text="slope 0.61\n"), png])
    assert any("0.5012 is now 0.61" in p for p in render.differences(stored, changed))
    no_figure = _book([stream])
    assert render.differences(stored, no_figure)
    never_run = _book([])
    never_run.cells[0].execution_count = None
    assert "never executed" in render.differences(never_run, stored)[0]
