"""Execute the notebooks and store them with their outputs; or check that the stored outputs are current.

    python -m docs.render            # re-execute every notebook in notebooks/ and save it
    python -m docs.render --check    # re-execute, compare with what is stored, save nothing

The notebooks are committed with their outputs so that a reader sees every
figure and number on GitHub and in the documentation's gallery, which renders
the stored outputs without executing anything. ``tests/test_notebooks.py``
runs the ``--check`` comparison, so a change to grassdyn that changes what a
notebook shows fails the suite until the notebook is rendered again.

What "current" means
--------------------
Cell by cell, the stored and the fresh outputs must have the same kinds in the
same order (consecutive stream chunks merged first, since how a kernel splits
its output is not part of it). Text outputs (streams, ``text/plain``,
``text/markdown``, ``text/latex``, ``text/html``) must be equal once memory
addresses (``0x7f...``) are masked, except that numbers are compared as
numbers: integers must be equal, and two printed decimals agree when they
differ by at most one unit in the last digit printed (``0.124`` and ``0.123``: a value on a rounding boundary
may print either way on another platform) or by a relative ``NUMBER_RTOL``
(numbers printed at full precision; BLAS and libm differ in the last bits
between machines), or both lie within ``NUMBER_ATOL`` of each other
(rounding-level quantities such as an orthogonality defect of ``5.6e-16``).
Images are compared by presence and format only: pixels change with
matplotlib and font versions, and what they show is checked through the
numbers printed beside them.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
#: Seconds one cell may take; each notebook is sized to run in a few seconds.
CELL_TIMEOUT = 120
#: Relative tolerance for numbers printed at (nearly) full precision.
NUMBER_RTOL = 1e-9
#: Numbers this small are rounding-level (an orthogonality defect of 5.6e-16):
#: their digits are noise that differs between machines, so any two agree.
NUMBER_ATOL = 1e-12

TEXT_TYPES = ("text/plain", "text/markdown", "text/latex", "text/html")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def notebooks() -> list[Path]:
    """The notebooks in ``notebooks/``, in name order."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def execute(path: Path) -> NotebookNode:
    """Run a notebook top to bottom in a fresh kernel (in a scratch directory) and return it.

    Raises nbclient's ``CellExecutionError`` naming the cell and the error if a cell fails.
    """
    book = nbformat.read(path, as_version=4)
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            client = NotebookClient(book, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                                    resources={"metadata": {"path": scratch}})
            client.execute()
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    return tidy(book)


def _merge_streams(outputs: list) -> list:
    merged: list = []
    for out in outputs:
        if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                and merged[-1].name == out.name):
            merged[-1].text += out.text
        else:
            merged.append(copy.deepcopy(out))
    return merged


def tidy(book: NotebookNode) -> NotebookNode:
    """Merge stream chunks and drop metadata that changes from run to run or machine to machine."""
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
            cell.metadata.pop("execution", None)
    book.metadata.get("language_info", {}).pop("version", None)
    return book


def _texts(out: NotebookNode) -> dict[str, str]:
    if out.output_type == "stream":
        return {out.name: out.text}
    if out.output_type in ("execute_result", "display_data"):
        texts = {key: value for key, value in out.data.items() if key in TEXT_TYPES}
        if "text/plain" in texts:
            # rich HTML reprs (xarray's) carry fresh random element ids on every run: the plain
            # text of the same object is what can be compared
            texts.pop("text/html", None)
        return texts
    if out.output_type == "error":
        return {"error": f"{out.ename}: {out.evalue}"}
    return {}


def _images(out: NotebookNode) -> list[str]:
    data = out.get("data", {})
    return sorted(key for key in data if key.startswith("image/"))


def _last_digit(token: str) -> float:
    """One unit in the last printed digit; 0 for integers (counts, indices), which must be equal."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    if not decimals and not exponent:
        return 0.0
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_agree(a: str, b: str) -> bool:
    """Whether two printed numbers agree to one unit in the last printed digit or ``NUMBER_RTOL``."""
    x, y = float(a), float(b)
    if not (math.isfinite(x) and math.isfinite(y)):
        return a == b
    if not (_last_digit(a) and _last_digit(b)):
        return x == y
    # (1 + 1e-9): 0.124 - 0.123 is a hair above 0.001 in binary.
    unit = max(_last_digit(a), _last_digit(b)) * (1 + 1e-9)
    return abs(x - y) <= max(unit, NUMBER_RTOL * max(abs(x), abs(y)), NUMBER_ATOL)


def text_difference(stored: str, fresh: str) -> str | None:
    """None if the texts agree (numbers compared as numbers), else what first differs."""
    stored, fresh = _ADDRESS.sub("0x…", stored), _ADDRESS.sub("0x…", fresh)
    if _NUMBER.sub("#", stored) != _NUMBER.sub("#", fresh):
        for i, (p, q) in enumerate(zip(stored.splitlines(), fresh.splitlines(), strict=False)):
            if _NUMBER.sub("#", p) != _NUMBER.sub("#", q):
                return f"line {i + 1}: stored {p!r}, now {q!r}"
        return f"stored {len(stored.splitlines())} lines, now {len(fresh.splitlines())}"
    for p, q in zip(_NUMBER.findall(stored), _NUMBER.findall(fresh), strict=True):
        if not numbers_agree(p, q):
            return f"number {p} is now {q}"
    return None


def differences(stored: NotebookNode, fresh: NotebookNode) -> list[str]:
    """How the outputs of a fresh run differ from the stored ones (empty if they are current)."""
    problems = []
    code_stored = [c for c in stored.cells if c.cell_type == "code"]
    code_fresh = [c for c in fresh.cells if c.cell_type == "code"]
    if [c.source for c in code_stored] != [c.source for c in code_fresh]:
        return ["the code cells differ from the stored notebook"]
    for number, (a, b) in enumerate(zip(code_stored, code_fresh, strict=True), start=1):
        first_line = a.source.splitlines()[0][:50] if a.source else ""
        where = f"code cell {number} ({first_line!r})"
        if a.execution_count is None:
            problems.append(f"{where}: stored without outputs (never executed)")
            continue
        outs_a, outs_b = _merge_streams(a.outputs), _merge_streams(b.outputs)
        kinds_a = [(o.output_type, o.get("name")) for o in outs_a]
        kinds_b = [(o.output_type, o.get("name")) for o in outs_b]
        if kinds_a != kinds_b:
            problems.append(f"{where}: stored outputs {kinds_a}, now {kinds_b}")
            continue
        for oa, ob in zip(outs_a, outs_b, strict=True):
            if _images(oa) != _images(ob):
                problems.append(f"{where}: stored images {_images(oa)}, now {_images(ob)}")
            ta, tb = _texts(oa), _texts(ob)
            if sorted(ta) != sorted(tb):
                problems.append(f"{where}: stored output formats {sorted(ta)}, now {sorted(tb)}")
                continue
            for key in ta:
                diff = text_difference(ta[key], tb[key])
                if diff:
                    problems.append(f"{where}, {key}: {diff}")
    return problems


def render(path: Path) -> None:
    """Execute a notebook and save it with its outputs."""
    nbformat.write(execute(path), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs.render", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all in notebooks/)")
    parser.add_argument("--check", action="store_true", help="compare with the stored outputs; save nothing")
    args = parser.parse_args(argv)
    failed = False
    for path in args.paths or notebooks():
        if args.check:
            problems = differences(nbformat.read(path, as_version=4), execute(path))
            for problem in problems:
                print(f"{path.name}: {problem}", file=sys.stderr)
            failed |= bool(problems)
        else:
            render(path)
            print(f"rendered {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
