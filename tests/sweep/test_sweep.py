"""Sweeps end to end: every experiment's smoke preset, kills, failures, bad input."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from divlab.experiments import experiment_names, load_experiment
from divlab.report import write_report
from divlab.errors import RunDirError
from divlab.sweep import SweepError, run_sweep, sweep_status
from divlab.sweep.store import SCHEMA_VERSION, ResultStore, StoreError
from divlab.tasks import ConfigError


@pytest.mark.parametrize("experiment", ["e1", "e2", "e3", "e4", "e5"])
def test_smoke_preset_runs_end_to_end_and_reports(tmp_path, experiment):
    counts = run_sweep(experiment, "smoke", tmp_path / "run", workers=2, threads=1, progress=False)
    spec = load_experiment(experiment, "smoke")
    assert counts == {"pending": 0, "running": 0, "done": len(spec.cells()), "failed": 0}
    store = ResultStore(tmp_path / "run")
    rows = store.rows("done")
    store.close()
    assert {r["cell_id"] for r in rows} == {c.cell_id for c in spec.cells()}
    for row in rows:
        assert 0.0 <= row["result"]["unseen"]["accuracy"] <= 1.0
        assert row["result"]["train"]["steps"] > 0
    report = write_report(tmp_path / "run")
    page = report.read_text()
    assert f'{experiment}.png' in page and (report.parent / f"{experiment}.png").stat().st_size > 5000
    # The page shows the database's numbers (not typed-in ones).
    assert f"{rows[0]['result']['unseen']['accuracy']:.3f}" in page


def test_every_experiment_has_paper_cpu_and_smoke_presets():
    for experiment in experiment_names():
        for preset in ("paper", "cpu", "smoke"):
            assert load_experiment(experiment, preset).cells()


def test_seeds_are_a_grid_axis():
    cells = load_experiment("e1", "smoke", seeds=3).cells()
    assert len(cells) == 9 and len({c.cell_id for c in cells}) == 9
    assert {c.seed for c in cells} == {0, 1, 2}


def _sweep_process(run, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "divlab.cli", "reproduce", "e1", "--preset", "smoke", "--out", str(run),
         "--workers", "1", "--threads", "1", "--quiet", "--no-report", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _done_cells(run):
    if not (run / "results.sqlite").exists():
        return {}
    with sqlite3.connect(run / "results.sqlite") as db:
        try:
            return {cid: (fin, res) for cid, fin, res in db.execute("SELECT cell_id, finished_at, result FROM cells WHERE status='done'")}
        except sqlite3.OperationalError:  # polled while the sweep is still creating its store
            return {}


def test_sigkill_mid_sweep_loses_nothing_and_runs_nothing_twice(tmp_path):
    reference = tmp_path / "reference"
    assert run_sweep("e1", "smoke", reference, workers=1, threads=1, progress=False)["done"] == 3
    run = tmp_path / "killed"
    process = _sweep_process(run)
    deadline = time.time() + 240
    while time.time() < deadline and len(_done_cells(run)) < 1:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers, like a machine going down
    process.wait()
    before = _done_cells(run)
    assert 1 <= len(before) < 3
    rerun = _sweep_process(run)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    after = _done_cells(run)
    assert len(after) == 3
    for cell_id, (finished_at, result) in before.items():
        assert after[cell_id][0] == finished_at  # finished cells were not run again
    expected = _done_cells(reference)
    for cell_id, (_, result) in after.items():
        assert json.loads(result)["unseen"] == json.loads(expected[cell_id][1])["unseen"]
    with sqlite3.connect(run / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == 3


def test_workers_end_when_the_sweep_process_is_killed_alone(tmp_path):
    """SIGKILL of the sweep's own pid (not its group) must not leave a worker training on: it would write the
    same cell directory as the sweep run again to resume it."""
    run = tmp_path / "orphans"
    process = _sweep_process(run, "--set", "train.epochs=200")
    deadline = time.time() + 240
    while time.time() < deadline and not list(run.glob("cells/*/progress.json")):
        time.sleep(0.1)
    assert list(run.glob("cells/*/progress.json")), "no cell started training"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.killpg(process.pid, 0)  # any process left in the sweep's group (its workers)?
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("a worker outlived the sweep process by 20 s")


FAILING_PRESET = """
description = "one cell whose context is too short for its data"
[dataset]
alphabet = "abcd"
x_len = [1, 2]
y_len = [1, 2]
z_len = [6, 6]
budget = 100
num_train_rules = 5
num_test_rules = 4
num_test_examples = 20
num_seen_test_examples = 20
[model]
n_layer = 1
n_embd = 16
n_head = 2
[train]
batch_size = 32
[grid]
context = [{ label = "fits", model = { n_positions = 0 } }, { label = "too-short", model = { n_positions = 8 } }]
[report]
kind = "e1"
"""


def test_failed_cell_keeps_its_traceback_and_is_retried(tmp_path):
    preset = tmp_path / "failing.toml"
    preset.write_text(FAILING_PRESET)
    run = tmp_path / "run"
    counts = run_sweep("e1", str(preset), run, workers=1, threads=1, progress=False)
    assert counts["done"] == 1 and counts["failed"] == 1
    status = sweep_status(run)
    (failed,) = status["failed"]
    assert failed["point"] == {"context": "too-short"}
    assert "Traceback" in failed["error"] and "shorter than the longest" in failed["error"]
    counts = run_sweep("e1", str(preset), run, workers=1, threads=1, progress=False)
    assert counts["done"] == 1 and counts["failed"] == 1
    assert sweep_status(run)["failed"][0]["attempts"] == 2
    assert "Failed cells" in write_report(run).read_text()


def test_bad_input_fails_before_any_cell_runs(tmp_path):
    with pytest.raises(ConfigError, match="unknown experiment"):
        run_sweep("e9", "smoke", tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="unknown preset"):
        run_sweep("e1", "huge", tmp_path / "b", progress=False)
    bad = tmp_path / "bad.toml"
    bad.write_text(FAILING_PRESET.replace('context = [', '"dataset.num_train_rules" = [1000000]\ncontext = ['))
    with pytest.raises(ConfigError, match="num_train_rules"):
        run_sweep("e1", str(bad), tmp_path / "c", progress=False)
    assert not any((tmp_path / name).exists() for name in "abc")
    run_sweep("e1", "smoke", tmp_path / "e1run", workers=1, threads=1, progress=False)
    with pytest.raises(RunDirError, match="holds a different sweep .differs in: .*experiment: 'e1' -> 'e2'"):
        run_sweep("e2", "smoke", tmp_path / "e1run", progress=False)
    # A changed setting is another sweep too: its cells never pool with these in one report.
    with pytest.raises(RunDirError, match=r"config\.base\.train\.lr: .* -> 0\.01.*another --out"):
        run_sweep("e1", "smoke", tmp_path / "e1run", overrides={"train.lr": 0.01}, progress=False)
    # An edited preset file is refused with the edit named, and nothing in the run directory changes.
    own = tmp_path / "own.toml"
    own.write_text(FAILING_PRESET.replace('context = [', '"dataset.num_train_rules" = [8]\ncontext = ['))
    run_sweep("e1", str(own), tmp_path / "ownrun", workers=1, threads=1, progress=False)
    before = (tmp_path / "ownrun" / "results.sqlite").read_bytes()
    own.write_text(own.read_text().replace("[8]", "[16]"))
    with pytest.raises(RunDirError, match=r"config\.axes\.dataset\.num_train_rules: \[\[8, .* -> \[\[16, "):
        run_sweep("e1", str(own), tmp_path / "ownrun", progress=False)
    assert (tmp_path / "ownrun" / "results.sqlite").read_bytes() == before
    with sqlite3.connect(tmp_path / "e1run" / "results.sqlite") as db:
        db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer divlab"):
        ResultStore(tmp_path / "e1run")
    with pytest.raises(SweepError, match="newer divlab"):
        run_sweep("e1", "smoke", tmp_path / "e1run", progress=False)


def test_ray_backend_runs_two_cells(tmp_path):
    pytest.importorskip("ray")
    counts = run_sweep("e5", "smoke", tmp_path / "ray", backend="ray", threads=1, progress=False)
    assert counts["done"] == 2 and counts["failed"] == 0
    local = tmp_path / "local"
    run_sweep("e5", "smoke", local, workers=1, threads=1, progress=False)
    ray_rows = {r["cell_id"]: r["result"]["unseen"] for r in ResultStore(tmp_path / "ray").rows("done")}
    local_rows = {r["cell_id"]: r["result"]["unseen"] for r in ResultStore(local).rows("done")}
    assert ray_rows == local_rows


def test_local_ray_cluster_binds_loopback_only(tmp_path):
    ray = pytest.importorskip("ray")
    from divlab.experiments import load_experiment
    from divlab.sweep.backends import run_ray

    cell = load_experiment("e1", "smoke").cells()[0]
    seen, outcomes = [], []
    run_ray([[(cell.cell_id, cell.config)]], str(tmp_path), 1,
            on_start=lambda _: seen.extend(node["NodeManagerAddress"] for node in ray.nodes()),
            on_result=lambda _, outcome: outcomes.append(outcome))
    assert seen == ["127.0.0.1"]
    assert outcomes[0]["ok"], outcomes[0].get("error")
