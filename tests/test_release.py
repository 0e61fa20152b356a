"""The release: CITATION.cff is valid, the version is set once, and the wheel works on its own.

The wheel test builds the sdist and the wheel (``python -m build``: the wheel
is built from the sdist, so a file missing from the sdist fails it too),
checks them with ``twine check``, installs the wheel into a fresh virtual
environment (not editable, outside the source tree, with no ``PYTHONPATH``),
and runs ``python -c "import grassdyn ..."`` and ``grassdyn report --quick``
there. To stay fast and offline, the fresh environment borrows this
environment's third-party packages through a ``.pth`` line instead of
downloading them; the wheel's declared dependencies are still checked
against the versions it imports. (A ``.pth`` file inside the borrowed directory,
such as an editable install of grassdyn, is not processed, and the wheel's
own site-packages come first on ``sys.path``: the test asserts that
grassdyn is imported from the wheel.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import grassdyn

ROOT = Path(__file__).resolve().parents[1]


def _cff(text: str):
    from cffconvert import Citation

    return Citation(text)


def test_citation_cff_is_valid_and_names_the_papers():
    text = (ROOT / "CITATION.cff").read_text()
    _cff(text).validate()  # raises naming the offending key
    assert "arXiv.2309.02011" in text and "arXiv.2504.13101" in text


def test_citation_version_is_the_package_version():
    assert str(_cff((ROOT / "CITATION.cff").read_text()).cffobj["version"]) == grassdyn.__version__


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("cff-version: 1.2.0\nmessage: m\ntitle: t\n", "authors"),
        ("cff-version: 1.2.0\nmessage: m\ntitle: t\nauthors:\n  - name: x\ndoi: not-a-doi\n", "not-a-doi"),
    ],
    ids=["missing-authors", "bad-doi"],
)
def test_invalid_citation_cff_is_rejected_naming_the_problem(text, names):
    with pytest.raises(Exception, match=names):
        _cff(text).validate()


def test_version_is_set_in_one_place():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "grassdyn.__version__" }' in pyproject
    assert "\nversion =" not in pyproject.split("[tool.setuptools.dynamic]")[0]


def _run(args: list, ok: tuple[int, ...] = (0,), **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    command = " ".join(map(str, args))
    assert result.returncode in ok, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _package_files() -> set[str]:
    """Every file of the package in the source tree except Python caches: what the wheel must hold."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "grassdyn").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.mark.slow
def test_wheel_installs_and_runs_on_its_own(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)])
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in dist.iterdir())
    wheel = wheels[0]
    assert wheel.name == f"grassdyn-{grassdyn.__version__}-py3-none-any.whl"
    _run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdists[0])])

    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
    missing = sorted(_package_files() - in_wheel)
    assert not missing, f"package files missing from {wheel.name}: {missing}"
    assert "grassdyn/py.typed" in in_wheel
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel), "LICENSE not in the wheel"

    # Nothing of the source tree may leak in: no PYTHONPATH (with it, pip would even take the
    # source tree's grassdyn.egg-info, which the build leaves, for an installed grassdyn).
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    clean_env["MPLBACKEND"] = "Agg"
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "-q", str(wheel)], env=clean_env)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib], env=clean_env).stdout.strip())
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_borrowed_dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    # The wheel's declared dependencies, checked against what the fresh environment imports.
    requirements = (
        "from importlib.metadata import distribution, version\n"
        "from packaging.requirements import Requirement\n"
        "reqs = [Requirement(r) for r in distribution('grassdyn').requires or []]\n"
        "bad = [str(r) for r in reqs\n"
        "       if r.marker is None and not r.specifier.contains(version(r.name), True)]\n"
        "print(len(reqs)); assert not bad, bad"
    )
    assert int(_run([str(python), "-c", requirements], env=clean_env).stdout) >= 5

    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = (
        "import pathlib, grassdyn as gd; "
        "print(pathlib.Path(gd.__file__).resolve()); print(gd.__version__); "
        "W = gd.grassmann.random_point(6, 2, rng=0); "
        "print(gd.grassmann.distance(W, W) < 1e-12, type(gd.Trajectory).__name__)"
    )
    out = _run([str(python), "-c", probe], cwd=work, env=clean_env).stdout.split()
    assert Path(out[0]).is_relative_to(site.resolve()), f"grassdyn imported from {out[0]}, not the wheel"
    assert out[1:] == [grassdyn.__version__, "True", "type"]

    # Exit 1 (a check failed) or 3 (inconclusive) still means a complete report: the claims'
    # verdicts are tested in test_report.py; here what matters is that the installed command runs.
    command = [str(env_dir / "bin" / "grassdyn"), "report", "--quick", "--quiet", "--out", str(work / "r")]
    report = _run(command, ok=(0, 1, 3), cwd=work, env=clean_env)
    written = {p.name for p in (work / "r").iterdir()}
    assert {"summary.md", "results.json", "config.toml", "dynamics.png"} <= written, (written, report.stderr)
