"""The ``grassdyn`` command: version, help, and one clear line for every bad configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grassdyn import __version__
from grassdyn.cli import main
from grassdyn.report.config import ConfigError, dumps_config, load_config, loads_config


def test_version_from_the_installed_command():
    # the console script pip installs beside the interpreter of this environment
    command = Path(sys.executable).with_name("grassdyn")
    result = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"grassdyn {__version__}"


def test_help_lists_the_report_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "report" in capsys.readouterr().out


def test_report_help_documents_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    for option in ("--config", "--out", "--quick", "--quiet"):
        assert option in out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: grassdyn" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--fast"])
    assert exc.value.code == 2
    assert "--fast" in capsys.readouterr().err


BAD_CONFIGS = [
    ("unknown-top-key", "speed = 1", "'speed'"),
    ("unknown-section", "[modle]\nd = 3", "'modle'"),
    ("unknown-key", "[model]\ndim = 16", "'dim' in [model]"),
    ("section-as-value", "model = 3", "[model] must be a table"),
    ("int-as-string", '[model]\nd = "16"', "[model] d must be an integer"),
    ("float-for-int", "[model]\nd = 16.0", "[model] d must be an integer"),
    ("bool-for-number", "[model]\nrho = true", "[model] rho must be a number"),
    ("scalar-for-array", "[dynamics]\nlrs = 0.1", "[dynamics] lrs must be an array"),
    ("string-in-array", '[dynamics]\nlrs = [0.1, "x"]', "[dynamics] lrs[1] must be a number"),
    ("empty-array", "[width]\nwidths = []", "[width] widths must not be empty"),
    ("unknown-loss", '[model]\nloss = "triplet"', "[model] loss = 'triplet'"),
    ("h-above-d", "[dynamics]\nh = 20", "[dynamics] h = 20: must be < [model] d = 16"),
    ("width-above-d", "[width]\nwidths = [1, 40]", "[width] widths"),
    ("rho-above-one", "[model]\nrho = 1.5", "[model] rho = 1.5: must be <= 1"),
    ("rho-negative", "[model]\nrho = -0.1", "[model] rho = -0.1: must be >= 0"),
    ("rhos-outside", "[identifiability]\nrhos = [0.0, 1.2]", "[identifiability] rhos[1] = 1.2"),
    ("lr-zero", "[finite]\nlr = 0.0", "[finite] lr = 0.0: must be > 0"),
    ("lrs-negative", "[dynamics]\nlrs = [0.1, -0.1]", "[dynamics] lrs[1] = -0.1: must be > 0"),
    ("lr-not-dividing", "[dynamics]\nlrs = [0.08, 0.03]", "[dynamics] lrs: 0.03 must divide"),
    ("negative-seed", "seed = -1", "seed = -1: must be >= 0"),
    ("too-few-points", "[finite]\nbatch_sizes = [8]", "[finite] batch_sizes: needs at least 2"),
    ("model-too-small", "[model]\nd = 5", "[model] d = 5: must be >= k + m"),
    ("stability-h", "[stability]\nh = 4", "[stability] h = 4"),
    ("repeated-eigenvalues", "[stability]\neigenvalues = [2, 2, 1]", "must be distinct"),
    ("not-toml", "[model\nd = 3", "is not valid TOML"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configuration_gives_one_clear_line(tmp_path, capsys, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    status = main(["report", "--quick", "--config", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("grassdyn report: error: ")
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_config_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nowhere.toml"
    assert main(["report", "--config", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err


def test_a_partial_configuration_keeps_the_other_defaults():
    cfg = loads_config("[model]\nrho = 0.3\n")
    assert cfg["model"]["rho"] == 0.3
    default = load_config()
    assert cfg["model"]["d"] == default["model"]["d"] and cfg["finite"] == default["finite"]


def test_quick_differs_from_the_default_and_both_round_trip():
    quick, full = load_config(quick=True), load_config()
    assert quick != full
    for cfg in (quick, full):
        assert loads_config(dumps_config(cfg)) == cfg


def test_integers_are_accepted_for_floats():
    assert loads_config("[finite]\nlr = 1")["finite"]["lr"] == 1.0


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError, match=r"\[model\] noise = -1.0"):
        loads_config("[model]\nnoise = -1.0")
    assert issubclass(ConfigError, ValueError)


def test_progress_draws_only_when_asked():
    import io

    from grassdyn.report.progress import Progress

    quiet, loud = io.StringIO(), io.StringIO()
    for progress in (Progress(None, quiet), Progress(True, loud)):
        progress.stage("stage", 2)
        progress.step()
        progress.finish()
    assert quiet.getvalue() == ""  # a StringIO is not a terminal
    assert "stage" in loud.getvalue() and "2/2" in loud.getvalue() and loud.getvalue().endswith("\n")
