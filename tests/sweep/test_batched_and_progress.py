"""Batched sweeps (cells of one shape trained as one stacked model) and the live progress display."""

import json
import sqlite3

import pytest

from divlab.errors import ConfigError
from divlab.report import write_report
from divlab.sweep import run_sweep


def _results(run):
    with sqlite3.connect(run / "results.sqlite") as db:
        return {json.dumps(json.loads(p), sort_keys=True): (s, json.loads(r) if r else None)
                for p, s, r in db.execute("select point, status, result from cells")}


def test_batched_sweep_scores_like_the_cell_by_cell_sweep(tmp_path):
    overrides = {"train.eval_every": 4}
    assert run_sweep("e1", "smoke", tmp_path / "one", workers=1, threads=1, progress=False, overrides=overrides)["done"] == 3
    counts = run_sweep("e1", "smoke", tmp_path / "batched", workers=1, threads=1, progress=False, overrides=overrides,
                       batch_cells=3)
    assert counts["done"] == 3
    alone, batched = _results(tmp_path / "one"), _results(tmp_path / "batched")
    assert alone.keys() == batched.keys()
    for point in alone:
        a, b = alone[point][1], batched[point][1]
        assert b["train"]["group_size"] == 3 and a["train"]["group_size"] == 1
        assert b["train"]["steps"] == a["train"]["steps"]
        assert abs(b["train"]["final_loss"] - a["train"]["final_loss"]) < 1e-3
        assert len(b["curve"]) == len(a["curve"]) > 1
    page = write_report(tmp_path / "batched")
    curves = list(page.parent.glob("*-curves.png"))
    assert len(curves) == 1 and curves[0].name in page.read_text()  # accuracy against examples seen, every cell


def test_batched_sweep_of_unlike_cells_is_refused_before_anything_runs(tmp_path):
    preset = tmp_path / "shapes.toml"
    preset.write_text("""
[dataset]
alphabet = "abcd"
budget = 240
num_train_rules = 6
num_test_rules = 8
num_test_examples = 40
num_seen_test_examples = 40
[model]
n_embd = 32
n_head = 2
[train]
epochs = 1
[grid]
"model.n_layer" = [1, 2]
""")
    with pytest.raises(ConfigError, match=r"--batch-cells.*differ in model.n_layer \(1 and 2\)"):
        run_sweep("e1", str(preset), tmp_path / "run", batch_cells=2, progress=False)
    assert not (tmp_path / "run").exists()


def test_progress_shows_running_cells_and_the_sweeps_eta_as_log_lines(tmp_path, capsys):
    # Not a terminal (pytest captures stderr): periodic lines, here every 0.3 s.
    run_sweep("e1", "smoke", tmp_path / "run", workers=1, threads=1, progress_interval=0.3,
              overrides={"train.epochs": 40})
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[e1/smoke")]
    running = [line for line in lines if "step " in line]
    assert running, lines
    assert any("cells done" in line and "sweep eta" in line and "loss" in line for line in running), running
    assert sum("done: num_train_rules=" in line for line in lines) == 3


def test_progress_in_a_terminal_draws_a_bar_per_running_cell(tmp_path):
    import io

    from divlab.sweep.progress import SweepProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    cell = tmp_path / "cells" / "abc"
    cell.mkdir(parents=True)
    (cell / "progress.json").write_text(json.dumps({"step": 300, "total_steps": 1200, "loss": 0.25, "elapsed_s": 60.0,
                                                     "eta_s": 180.0}))
    screen = Terminal()
    display = SweepProgress(tmp_path, "e1/cpu", total=4, done=1, labels={"abc": "I=2048", "def": "I=4"}, workers=2,
                            enabled=True, interval=3600, stream=screen)
    display.start("abc")
    display.start("def")  # started, no progress written yet
    running, eta = display.snapshot()
    # The running cells end in 180 s; the one queued cell then takes a whole cell's 240 s.
    assert eta == 180.0 + 240.0
    display.refresh()
    display.finish("def", ok=False)
    display.close()
    text = screen.getvalue()
    assert "I=2048" in text and "300/1200" in text and "loss 0.2500" in text and "sweep eta 7m00s" in text
