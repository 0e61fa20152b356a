"""grassdyn.sweep: determinism, storage and resumption, interruption, an external scheduler, bad input.

The promises tested: a cell's result depends on the root seed and its
coordinates alone (1 or 2 workers, threads or processes, a sub-grid, an
interrupted and resumed run: the same bits); a store is written as cells
finish, survives SIGINT and SIGKILL of the client, and is completed by a
second run computing only the missing cells; a cell that raises is recorded
with its error; every bad spec or store path is one clear line, exit 2,
with nothing overwritten.
"""

from __future__ import annotations

import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")
zarr = pytest.importorskip("zarr")

import grassdyn as gd  # noqa: E402
from grassdyn.cli import main  # noqa: E402
from grassdyn.sweep import SpecError, StoreError, cell_seed, experiment, loads_spec, make_spec  # noqa: E402
from grassdyn.sweep.store import read_spec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}

#: A cheap built-in sweep (one eigendecomposition per cell), failing cells included (rho = rho* = 0.5).
FINITE = {"experiment": "finite_samples", "grid": {"n": [50, 200], "rho": [0.2, 0.5]}, "seeds": 3, "seed": 11}
#: A slower one (SGD cells of tens of ms) to interrupt mid-run.
SLOW_TOML = """\
experiment = "identifiability"
seeds = 6
seed = 5
[grid]
rho = [0.1, 0.3, 0.6, 0.9]
n = [0, 300]
[fixed]
steps = 1000
lr = 0.05
batch_size = 32
"""


def _values(ds) -> dict[str, np.ndarray]:
    return {v: np.asarray(ds[v].values) for v in ds.data_vars}


def assert_same_sweep(a, b) -> None:
    va, vb = _values(a), _values(b)
    assert sorted(va) == sorted(vb)
    for name in va:
        if va[name].dtype.kind == "f":
            assert np.array_equal(va[name], vb[name], equal_nan=True), name  # bit for bit, NaN where failed
        else:
            assert (va[name] == vb[name]).all(), name


def run_finite(client, **kw):
    return gd.sweep.run(FINITE["experiment"], FINITE["grid"], seeds=FINITE["seeds"], seed=FINITE["seed"],
                        client=client, progress=False, **kw)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as cl:
        yield cl


@pytest.fixture(scope="module")
def finite_reference(client):
    return run_finite(client)


# -- randomness and determinism ------------------------------------------------------------------
def test_cell_seed_depends_on_root_coordinates_and_seed_index_only():
    state = lambda *a: cell_seed(*a).generate_state(4).tolist()  # noqa: E731
    assert state(3, {"a": 1, "b": "x"}, 0) == state(3, {"b": "x", "a": 1}, 0)
    base = state(3, {"a": 1, "b": "x"}, 0)
    others = [state(4, {"a": 1, "b": "x"}, 0), state(3, {"a": 2, "b": "x"}, 0),
              state(3, {"a": 1, "b": "x"}, 1), state(3, {"a": 1.0, "b": "x"}, 0)]
    assert all(o != base for o in others)


def test_one_and_two_workers_give_the_same_bits(finite_reference):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as one:
        single = run_finite(one)
    assert_same_sweep(single, finite_reference)
    ref = finite_reference
    assert (ref.status.values == 1).sum() == 6 and np.isfinite(ref.to_population).sum() == 6


def test_finite_samples_cells_obey_davis_kahan_and_fail_without_a_gap(finite_reference):
    ref = finite_reference
    ok = ref.status.values == 1
    # Yu, Wang & Samworth (2015, Thm 2): ||sin Theta||_F <= 2 min(sqrt(h) ||E||_2, ||E||_F) / gap
    assert np.all(ref.sin_fro.values[ok] <= ref.davis_kahan.values[ok])
    # rho = rho* = 0.5 closes the population gap: those cells fail, naming h
    assert (ref.status.sel(rho=0.5).values == 2).all()
    assert "h: no unique limit" in str(ref.error.values[0, 1, 0])


def test_a_cell_is_the_same_in_a_smaller_grid(client, finite_reference):
    part = gd.sweep.run("finite_samples", {"rho": [0.2], "n": [200]}, seeds=3, seed=11, client=client,
                        progress=False)
    expected = finite_reference.sel(n=200, rho=0.2).to_content.values
    assert np.array_equal(part.to_content.values[0, 0], expected)


def test_dataset_layout_and_attributes(finite_reference, tmp_path, client):
    ds = finite_reference
    assert ds.to_population.dims == ("n", "rho", "seed")
    assert ds.n.values.tolist() == [50, 200] and ds.seed.values.tolist() == [0, 1, 2]
    assert ds.attrs["grassdyn_version"] == gd.__version__ and ds.attrs["experiment"] == "finite_samples"
    assert ds.attrs["parameters"]["loss"] == "contrastive" and "n" not in ds.attrs["parameters"]
    assert ds.attrs["spec"]["grid"] == FINITE["grid"]
    # the store is plain Zarr that xarray reads without grassdyn
    store = tmp_path / "f.zarr"
    gd.sweep.run("finite_samples", {"n": [50]}, seeds=2, store=store, client=client, progress=False)
    assert xr.open_zarr(store, consolidated=False).sin_fro.shape == (1, 2)


# -- the NTK change against the width -------------------------------------------------------------
#: Two widths 16x apart, two losses, five seeds, ten steps: ~5 ms a cell.
NTK = {"grid": {"m": [32, 512], "loss": ["supervised", "barlow_twins"]}, "seeds": 5, "seed": 4,
       "fixed": {"steps": 10, "n_times": 3, "n": 8}}


@pytest.fixture(scope="module")
def ntk_sweep(client):
    return gd.sweep.run("ntk_change", NTK["grid"], fixed=NTK["fixed"], seeds=NTK["seeds"], seed=NTK["seed"],
                        client=client, progress=False)


def test_ntk_change_cells_have_fixed_shapes_and_are_reproduced_bit_for_bit(ntk_sweep, client):
    from grassdyn.sweep.experiments import ntk_change

    ds = ntk_sweep
    assert (ds.status.values == 1).all()
    assert ds.ntk_change.dims == ("m", "loss", "seed") and ds.ntk_change_t.shape == (2, 2, 5, 3)
    # recorded at steps 0, 5, 10: no change at the start, the last record is the final value
    assert (ds.ntk_change_t.values[..., 0] == 0).all()
    assert np.array_equal(ds.ntk_change_t.values[..., -1], ds.ntk_change.values)
    part = gd.sweep.run("ntk_change", {"m": [512], "loss": ["barlow_twins"]}, fixed=NTK["fixed"], seeds=5,
                        seed=NTK["seed"], client=client, progress=False)
    for var in ("ntk_change", "ntk_change_t", "linearisation_distance", "final_loss"):
        assert np.array_equal(part[var].values[0, 0], ds[var].sel(m=512, loss="barlow_twins").values), var
    direct = ntk_change(m=32, loss="supervised", **NTK["fixed"],
                        rng=cell_seed(NTK["seed"], {"m": 32, "loss": "supervised"}, 2))
    cell = ds.linearisation_distance.sel(m=32, loss="supervised").values[2]
    assert direct["linearisation_distance"] == cell


def test_the_supervised_ntk_change_falls_with_the_width(ntk_sweep):
    # lazy training (Jacot et al. 2018): O(m^(-1/2)), a factor 1/4 from m = 32 to 512. Each cell draws its
    # own data and network, and at m = 32 a single seed can come out below one at m = 512 (3 of 60 root
    # seeds of this grid had such a pair), so the test is on medians over the 5 seeds: over 60 root seeds
    # their ratio was at most 0.34 (median 0.12), never near 1 or the 0.5 asked here.
    change = ntk_sweep.ntk_change.sel(loss="supervised").values
    assert np.median(change[1]) < 0.5 * np.median(change[0])


def test_the_ntk_figures_carry_the_lazy_training_rate(ntk_sweep):
    from grassdyn.sweep.plots import figures

    drawn = {stem: [line.get_label() for line in fig.axes[0].lines] for stem, fig in figures(ntk_sweep)}
    assert {"ntk_change__m_loss", "linearisation_distance__m_loss"} <= set(drawn)  # phase diagrams
    drawn = {stem: [line.get_label() for line in fig.axes[0].lines]
             for stem, fig in figures(ntk_sweep.sel(loss=["supervised"]))}
    assert drawn["ntk_change__m"] == ["median over seeds", "∝ m^(-1/2) (lazy training)"]


@pytest.mark.parametrize(("fixed", "message"), [
    ({"steps": 10, "n_times": 4}, "steps = 10 must be a multiple of n_times - 1 = 3"),
    ({"loss": "barlow_twins", "output": "grassmann", "off_diagonal": 0.5},
     "off_diagonal = 0.5: Barlow Twins"),
    ({"loss": "mse"}, "loss must be one of"),
    ({"h": 4}, "h must be <= the 3 content factors"),
    ({"output": "stiefel"}, "output must be one of"),
], ids=["n_times", "barlow-grassmann", "loss", "h", "output"])
def test_bad_ntk_change_parameters_name_the_key(fixed, message):
    text = 'experiment = "ntk_change"\n[grid]\nm = [8, 16]\n[fixed]\n' + "".join(
        f"{k} = {v!r}\n".replace("'", '"') for k, v in fixed.items())
    with pytest.raises(SpecError, match=re.escape(message)):
        loads_spec(text)


# -- failures, storage and resumption -------------------------------------------------------------
CALLS: list[tuple[int, int]] = []


@experiment("test_sweep_toy", replace=True)
def toy(*, x: int, scale: float = 1.0, rng: np.random.SeedSequence) -> dict[str, object]:
    CALLS.append((x, int(rng.spawn_key[-1])))
    if x == 2:
        raise RuntimeError("x = 2 is cursed")
    return {"value": scale * np.random.default_rng(rng).standard_normal(), "vec": np.arange(3.0) * x}


def test_failed_cells_are_recorded_and_the_sweep_goes_on(client):
    ds = gd.sweep.run("test_sweep_toy", {"x": [1, 2, 3]}, seeds=2, client=client, progress=False)
    assert ds.status.values.tolist() == [[1, 1], [2, 2], [1, 1]]
    assert "RuntimeError: x = 2 is cursed" in str(ds.error.values[1, 0])
    assert np.isnan(ds.value.values[1]).all() and np.isfinite(ds.value.values[[0, 2]]).all()
    assert ds.vec.dims == ("x", "seed", "vec_dim_0") and ds.vec.values[2, 1].tolist() == [0.0, 3.0, 6.0]


def test_inconsistent_outputs_fail_the_cell_not_the_sweep(client):
    @experiment("test_sweep_shapes", replace=True)
    def shapes(*, k: int, rng):
        return {"v": np.zeros(k)}

    ds = gd.sweep.run("test_sweep_shapes", {"k": [2, 3]}, client=client, progress=False)
    assert sorted(ds.status.values.ravel().tolist()) == [1, 2]
    assert "shape" in " ".join(map(str, ds.error.values.ravel()))

    @experiment("test_sweep_names", replace=True)
    def names(*, k: int, rng):
        return {"k": 1.0} if k == 1 else {"v": float(k)}

    ds = gd.sweep.run("test_sweep_names", {"k": [1, 2]}, client=client, progress=False)
    assert ds.status.values.ravel().tolist() == [2, 1]
    assert "output name 'k' is taken" in str(ds.error.values[0, 0])


def test_resume_computes_only_missing_cells(client, tmp_path):
    store = tmp_path / "toy.zarr"
    first = gd.sweep.run(toy, {"x": [1, 3, 4]}, seeds=2, store=store, client=client, progress=False)
    # forget two cells, as a crash before their status was written would
    status = zarr.open_group(str(store), mode="r+")["status"]
    status[0, 1] = 0
    status[2, 0] = 0
    CALLS.clear()
    second = gd.sweep.run(toy, {"x": [1, 3, 4]}, seeds=2, store=store, client=client, progress=False)
    assert sorted(CALLS) == [(1, 1), (4, 0)]
    assert_same_sweep(first, second)
    CALLS.clear()
    gd.sweep.run(toy, {"x": [1, 3, 4]}, seeds=2, store=store, client=client, progress=False)
    assert CALLS == []


def test_a_store_of_another_spec_is_refused_naming_the_difference(client, tmp_path):
    store = tmp_path / "toy.zarr"
    gd.sweep.run(toy, {"x": [1, 3]}, seeds=2, store=store, client=client, progress=False)
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    with pytest.raises(SpecError, match=r"seeds: 2 vs 3"):
        gd.sweep.run(toy, {"x": [1, 3]}, seeds=3, store=store, client=client, progress=False)
    with pytest.raises(SpecError, match=r"\[grid\] x: \[1, 3\] vs \[1, 4\]"):
        gd.sweep.run(toy, {"x": [1, 4]}, seeds=2, store=store, client=client, progress=False)
    with pytest.raises(SpecError, match=r"\[fixed\] scale"):
        gd.sweep.run(toy, {"x": [1, 3]}, fixed={"scale": 2.0}, seeds=2, store=store, client=client,
                     progress=False)
    assert before == {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}


# -- interruption: kill the client mid-run, resume, compare with an uninterrupted run -------------
def _done(store: Path) -> int:
    try:
        return int((zarr.open_group(str(store), mode="r")["status"][...] != 0).sum())
    except Exception:
        return 0


@pytest.fixture(scope="module")
def tcp_cluster():
    """In-process workers behind a TCP scheduler: a `--scheduler ADDRESS` for the command, cheaply."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=":0") as cluster:
        yield cluster


def _interrupt(command: list[str], store: Path, at_least: int, sig: int) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group and send ``sig`` once ``at_least`` cells are stored."""
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _done(store) < at_least and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep finished before it could be interrupted"
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, signal.SIGKILL)  # the client and its local cluster, all at once
        else:
            os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def test_interrupted_sweeps_resume_to_the_same_bits(tmp_path, tcp_cluster, capsys):
    spec_file = tmp_path / "slow.toml"
    spec_file.write_text(SLOW_TOML)
    store = tmp_path / "slow.zarr"
    total = loads_spec(SLOW_TOML).total
    command = [sys.executable, "-m", "grassdyn.cli", "sweep", str(spec_file), "--out", str(store)]
    command += ["--workers", "1"]
    # Ctrl-C: the cells received are written, the command says how to resume
    first = _interrupt(command, store, 3, signal.SIGINT)
    assert first.returncode == 130 and "--resume" in first.stderr and "Traceback" not in first.stderr
    kept = _done(store)
    assert 3 <= kept < total
    # resumed on a running scheduler, then the client killed outright: the completed cells survive
    _interrupt([*command[:-2], "--resume", "--scheduler", tcp_cluster.scheduler_address], store, kept + 3,
               signal.SIGKILL)
    kept_after_kill = _done(store)
    assert kept + 3 <= kept_after_kill < total
    # resumed to the end on another scheduler, with threads instead of processes
    assert main(["sweep", str(spec_file), "--out", str(store), "--resume", "--quiet",
                 "--scheduler", tcp_cluster.scheduler_address]) == 0
    resumed = gd.sweep.open_sweep(store)
    assert (resumed.status.values == 1).all()
    with distributed.Client(tcp_cluster) as client:
        uninterrupted = gd.sweep.run_spec(loads_spec(SLOW_TOML), client=client, progress=False)
    assert_same_sweep(resumed, uninterrupted)


# -- an external scheduler and worker --------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_on_an_external_scheduler_and_worker(tmp_path, finite_reference):
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        # with its nanny, which restarts the worker when it dies
        procs.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                       "--no-dashboard"], env=ENV, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        with distributed.Client(address, timeout="30s") as remote:
            remote.wait_for_workers(1, timeout=30)
            ds = run_finite(address, store=tmp_path / "remote.zarr")
            assert_same_sweep(ds, finite_reference)

            def dies_once(*, x: int, marker: str, rng) -> dict[str, float]:
                # defined here so that it travels by value to the external worker
                import os
                import pathlib

                if x == 1 and not pathlib.Path(marker).exists():
                    pathlib.Path(marker).write_text("the worker died here once")
                    os._exit(1)
                return {"v": float(x)}

            marker = tmp_path / "died"
            ds = gd.sweep.run(dies_once, {"x": [0, 1, 2]}, fixed={"marker": str(marker)}, client=address,
                              progress=False)
        # the worker died in a cell; Dask restarted it and ran the cell again
        assert marker.exists() and (ds.status.values == 1).all() and ds.v.values.ravel().tolist() == [0, 1, 2]
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_an_unreachable_scheduler_is_answered_within_ten_seconds(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(F + '[grid]\nn = [10]\n')
    start = time.monotonic()
    code = main(["sweep", str(spec), "--out", str(tmp_path / "s.zarr"), "--scheduler",
                 f"tcp://127.0.0.1:{_free_port()}", "--quiet"])
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err and len(err.strip().splitlines()) == 1


# -- bad input ----------------------------------------------------------------------------------
F = 'experiment = "finite_samples"\n'
BAD_SPECS = [
    ("unknown-experiment", 'experiment = "nope"\n[grid]\nx = [1]', "unknown experiment 'nope'"),
    ("unknown-parameter", F + '[grid]\nn = [10]\nlrr = [1]', "[grid] lrr: unknown"),
    ("unknown-fixed", F + '[grid]\nn = [10]\n[fixed]\nfoo = 1', "[fixed] foo: unknown"),
    ("empty-axis", F + '[grid]\nn = []', "[grid] n must not be empty"),
    ("scalar-axis", F + '[grid]\nn = 10', "[grid] n must be a list"),
    ("duplicates", F + '[grid]\nn = [10, 20, 10]', "duplicate value 10"),
    ("mixed-types", F + '[grid]\nn = [10, "a"]', "mixes number and string"),
    ("no-grid", 'experiment = "finite_samples"', "grid: missing"),
    ("empty-grid", F + '[grid]', "at least one axis"),
    ("missing-required", F + '[grid]\nrho = [0.1]', "[grid] n: required"),
    ("both-grid-and-fixed", F + '[grid]\nn = [10]\n[fixed]\nn = 5', "also on the grid"),
    ("bad-value", F + '[grid]\nn = [10]\nrho = [0.5, 1.5]', "rho must be <= 1"),
    ("bad-choice", F + '[grid]\nn = [10]\n[fixed]\nloss = "x"', "loss must be one of"),
    ("seeds-zero", F + 'seeds = 0\n[grid]\nn = [10]', "seeds = 0: must be >= 1"),
    ("seeds-type", F + 'seeds = "4"\n[grid]\nn = [10]', "seeds must be an integer"),
    ("unknown-key", F + 'seedz = 4\n[grid]\nn = [10]', "unknown key 'seedz'"),
    ("reserved-axis", F + '[grid]\nn = [10]\nstatus = [1]', "[grid] status: reserved"),
    ("seed-on-grid", F + '[grid]\nn = [10]\nseed = [1, 2]', "[grid] seed: reserved"),
    ("not-toml", F + '[grid\n', "is not valid TOML"),
    ("too-many-cells", F + "seeds = 1000\n[grid]\nn = [" + ", ".join(str(10 + i) for i in range(101)) + "]",
     "exceed the limit of 100,000"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD_SPECS], ids=[b[0] for b in BAD_SPECS])
def test_bad_specs_name_the_key(text, message):
    with pytest.raises(SpecError) as exc:
        loads_spec(text)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_force_lifts_the_cell_limit():
    spec = make_spec("finite_samples", {"n": list(range(10, 111))}, seeds=1000, force=True)
    assert spec.total == 101_000


@pytest.mark.parametrize("case", ["unknown-parameter", "too-many-cells", "not-toml"])
def test_the_command_prints_one_line_and_exits_2(case, tmp_path, capsys):
    text = dict((b[0], b[1]) for b in BAD_SPECS)[case]
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "x.zarr")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("grassdyn sweep: error:")
    assert not (tmp_path / "x.zarr").exists()


def _not_a_sweep(kind: str, path: Path) -> None:
    if kind == "file":
        path.write_text("precious")
    elif kind == "directory":
        path.mkdir()
        (path / "notes.txt").write_text("precious")
    else:
        zarr.open_group(str(path), mode="w").create_array("a", shape=(2,), dtype="f8")[...] = [1.0, 2.0]


@pytest.mark.parametrize("kind", ["file", "directory", "foreign-zarr"])
def test_a_path_that_is_not_a_sweep_store_is_refused_untouched(kind, tmp_path, capsys, client):
    target = tmp_path / "target.zarr"
    _not_a_sweep(kind, target)
    files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
    before = [(p, p.read_bytes(), p.stat().st_mtime_ns) for p in files]
    spec = tmp_path / "s.toml"
    spec.write_text(F + '[grid]\nn = [10]\n')
    for extra in ([], ["--resume"]):
        assert main(["sweep", str(spec), "--out", str(target), *extra]) == 2
        assert "is not a grassdyn sweep store" in capsys.readouterr().err
    with pytest.raises(StoreError):
        gd.sweep.run("finite_samples", {"n": [10]}, store=target, client=client, progress=False)
    assert before == [(p, p.read_bytes(), p.stat().st_mtime_ns) for p in files]


def test_an_existing_sweep_needs_resume(tmp_path, capsys, client):
    store = tmp_path / "f.zarr"
    gd.sweep.run("finite_samples", {"n": [10]}, store=store, client=client, progress=False)
    spec = tmp_path / "s.toml"
    spec.write_text(F + '[grid]\nn = [10]\n')
    assert main(["sweep", str(spec), "--out", str(store)]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert read_spec(store).grid == {"n": (10,)}


def test_core_works_without_the_sweep_extra():
    code = (
        "import sys\n"
        "for m in ('dask', 'distributed', 'xarray', 'zarr'):\n"
        "    sys.modules[m] = None\n"
        "import grassdyn as gd\n"
        "from grassdyn.cli import main\n"
        "W = gd.grassmann.random_point(4, 2, rng=0)\n"
        "assert gd.sweep.make_spec('finite_samples', {'n': [10]}).total == 1\n"
        "try:\n"
        "    gd.sweep.run('finite_samples', {'n': [10]})\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "sys.exit(main(['sweep', 'x.toml', '--out', 'x.zarr']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert 'pip install "grassdyn[sweep]"' in result.stdout
    assert result.returncode == 2 and 'pip install "grassdyn[sweep]"' in result.stderr


# -- figures ----------------------------------------------------------------------------------------
def test_sweep_plot_draws_the_declared_figures_with_their_theory(tmp_path, client, capsys):
    store = tmp_path / "ident.zarr"
    ds = gd.sweep.run("identifiability", {"rho": [0.2, 0.8], "n": [0, 100]}, seeds=2,
                      fixed={"steps": 20, "lr": 0.05, "batch_size": 16}, store=store, client=client,
                      progress=False)
    assert main(["sweep", "plot", str(store), "--out", str(tmp_path / "plots")]) == 0
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert "distance__rho_n.png" in names and "flow_distance__rho_n.png" in names
    assert not [n for n in names if n.endswith(".tmp")]
    fig = gd.plotting.phase_diagram(ds, "distance", "rho", "n", vlines={"rho*": 0.5})
    # rho* = 0.5 sits half-way between the cells at rho = 0.2 (0) and 0.8 (1)
    assert [line.get_xdata()[0] for line in fig.axes[0].lines] == [pytest.approx(0.5)]
    with pytest.raises(ValueError, match="select one value of n"):
        gd.plotting.sweep_lines(ds, "distance", "rho")
    fig = gd.plotting.sweep_lines(ds, "distance", "rho", hue="n", vlines={"rho*": 0.5})
    assert len(fig.axes[0].lines) == 3


def test_line_figures_carry_the_power_laws(finite_reference):
    from grassdyn.sweep.plots import figures

    drawn = {stem: [line.get_label() for line in fig.axes[0].lines]
             for stem, fig in figures(finite_reference.sel(rho=[0.2]))}
    assert drawn["to_population__n"] == ["median over seeds", "∝ n^(-1/2)"]


def test_benchmark_quick_runs(monkeypatch, capsys):
    # in this process (the script's --quick uses thread workers): no second interpreter to start
    monkeypatch.setattr(sys, "argv", ["sweep.py", "--quick"])
    runpy.run_path(str(ROOT / "benchmarks" / "sweep.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "per-cell overhead" in out and "speed-up of 2 workers over 1" in out
