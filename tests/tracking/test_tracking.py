"""Experiment tracking read back through each library's own reader (TensorBoard's event accumulator, MLflow's
client) and compared with what divlab itself wrote: metrics.jsonl and the sweep's store. ~40 s on 2 cores
(a 3-cell smoke sweep, a few-step `divlab train`)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from divlab.cli import main
from divlab.errors import ConfigError
from divlab.tracking import TrackingError, check_installed, flatten, parse_report_to

pytest.importorskip("tensorboard")
pytest.importorskip("mlflow")


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.fixture(autouse=True)
def _mlflow_file_store(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 reads a file store only behind this


def _mlflow(root: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=(root / "mlruns").resolve().as_uri())


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_report_to_values_and_a_missing_library_refused_with_the_install_command(monkeypatch, tmp_path):
    assert parse_report_to(None) == () and parse_report_to(["none"]) == ()
    assert parse_report_to(["tensorboard,mlflow", "tensorboard"]) == ("tensorboard", "mlflow")
    with pytest.raises(ConfigError, match="unknown tracker"):
        parse_report_to(["comet"])
    with pytest.raises(ConfigError, match="none"):
        parse_report_to(["none", "mlflow"])
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    with pytest.raises(TrackingError, match=r"pip install 'divlab\[tracking\]'"):
        check_installed(["tensorboard", "mlflow"])
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(TrackingError, match="pip install wandb"):
        main_args = ["reproduce", "e1", "--preset", "smoke", "--out", str(tmp_path / "e1"), "--report-to", "wandb"]
        from divlab.cli import build_parser

        args = build_parser(main_args).parse_args(main_args)
        args.handler(args)  # refused before any cell runs
    assert not (tmp_path / "e1").exists()


def test_train_reports_loss_and_learning_curve_as_in_metrics_jsonl(tmp_path, capsys):
    assert main(["generate", "--preset", "smoke", "--out", str(tmp_path / "data"), "--quiet"]) == 0
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "data"), "--out", str(out), "--model", "tiny", "--epochs", "1",
                 "--eval-every", "3", "--log-every", "2", "--report-to", "tensorboard", "--report-to", "mlflow",
                 "--quiet"]) == 0
    rows = _rows(out / "metrics.jsonl")
    losses = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    curve = [(r["examples_seen"], r["unseen_accuracy"]) for r in rows if "unseen_accuracy" in r]
    assert len(losses) >= 3 and len(curve) >= 2

    scalars = _scalars(out / "tensorboard")
    assert [(s, pytest.approx(v)) for s, v in losses] == scalars["train/loss"]
    assert [(x, pytest.approx(v)) for x, v in curve] == scalars["curve/unseen_accuracy"]  # against examples

    client = _mlflow(out)
    (run,) = client.search_runs([client.get_experiment_by_name("divlab-train").experiment_id])
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "train/loss")] \
        == [(s, pytest.approx(v)) for s, v in losses]
    summary = json.loads((out / "summary.json").read_text())
    assert run.data.metrics["final/final_loss"] == pytest.approx(summary["final_loss"])
    recorded = json.loads((out / "run_config.json").read_text())["train"]
    assert run.data.params["lr"] == json.dumps(recorded["lr"]) and run.data.params["model.n_embd"] == "64"
    assert run.data.params["dataset"] == str(tmp_path / "data")


def test_train_reports_to_wandb_offline_as_in_metrics_jsonl(tmp_path, capsys, monkeypatch):
    """W&B in offline mode (no account, no network): its run log holds the config, the loss against the
    step (`train/x`), the learning curve against the examples seen (`curve/x`) and the final summary."""
    pytest.importorskip("wandb")
    from tests.tracking.wandb_records import read_offline_run

    monkeypatch.delenv("WANDB_MODE", raising=False)  # offline is divlab's default
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert main(["generate", "--preset", "smoke", "--out", str(tmp_path / "data"), "--quiet"]) == 0
    out = tmp_path / "run"
    assert main(["train", str(tmp_path / "data"), "--out", str(out), "--model", "tiny", "--epochs", "1",
                 "--eval-every", "3", "--log-every", "2", "--report-to", "wandb", "--quiet"]) == 0
    logged = read_offline_run(out / "wandb")
    rows = _rows(out / "metrics.jsonl")
    assert [(h["train/x"], h["train/loss"]) for h in logged["history"] if "train/loss" in h] == \
        [(r["step"], pytest.approx(r["loss"])) for r in rows if "loss" in r]
    assert [(h["curve/x"], h["curve/unseen_accuracy"]) for h in logged["history"] if "curve/unseen_accuracy" in h] == \
        [(r["examples_seen"], pytest.approx(r["unseen_accuracy"])) for r in rows if "unseen_accuracy" in r]
    recorded = json.loads((out / "run_config.json").read_text())["train"]
    assert logged["config"]["lr"] == recorded["lr"] and logged["config"]["model.n_embd"] == 64
    summary = json.loads((out / "summary.json").read_text())
    assert logged["summary"]["final/final_loss"] == pytest.approx(summary["final_loss"])


def test_a_sweep_is_one_experiment_each_cell_a_run_with_its_config_and_results(tmp_path, capsys):
    out = tmp_path / "e1"
    assert main(["reproduce", "e1", "--preset", "smoke", "--out", str(out), "--quiet", "--no-report",
                 "--workers", "1", "--set", "train.eval_every=4", "--report-to", "mlflow,tensorboard"]) == 0
    with sqlite3.connect(out / "results.sqlite") as store:
        cells = {cell_id: (json.loads(config), json.loads(result))
                 for cell_id, config, result in store.execute("SELECT cell_id, config, result FROM cells")}
    assert len(cells) == 3

    client = _mlflow(out)  # the MLflow store lies beside the sweep's database
    experiment = client.get_experiment_by_name("e1/smoke")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == set(cells)
    for cell_id, (config, result) in cells.items():
        run = runs[cell_id]
        flat = flatten(config)
        assert run.data.params == {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True)
                                   for k, v in flat.items()}
        assert run.data.tags["divlab.group"] == "e1/smoke"
        assert run.data.metrics["final/unseen.accuracy"] == pytest.approx(result["unseen"]["accuracy"])
        assert run.data.metrics["final/train.final_loss"] == pytest.approx(result["train"]["final_loss"])
        rows = _rows(out / "cells" / cell_id / "metrics.jsonl")
        history = client.get_metric_history(run.info.run_id, "curve/seen_accuracy")
        assert [(m.step, m.value) for m in history] == \
            [(r["examples_seen"], pytest.approx(r["seen_accuracy"])) for r in rows if "seen_accuracy" in r]
        scalars = _scalars(out / "tensorboard" / cell_id)
        assert scalars["train/loss"] == [(r["step"], pytest.approx(r["loss"])) for r in rows if "loss" in r]


def _curves_match_metrics_jsonl(out: Path, cell_ids) -> None:
    """Each cell's TensorBoard run holds its own loss and learning curve, row for row as its metrics.jsonl."""
    for cell_id in cell_ids:
        rows = _rows(out / "cells" / cell_id / "metrics.jsonl")
        scalars = _scalars(out / "tensorboard" / cell_id)
        assert scalars["train/loss"] == [(r["step"], pytest.approx(r["loss"])) for r in rows if "loss" in r]
        assert scalars["curve/unseen_accuracy"] == \
            [(r["examples_seen"], pytest.approx(r["unseen_accuracy"])) for r in rows if "unseen_accuracy" in r]


def test_a_batched_group_reports_each_cell_to_its_own_run(tmp_path, capsys):
    """Three cells trained as one batched model: each row goes to the run of the cell that wrote it (the
    cells' curves differ, so a row sent to the wrong run, or to none, fails the comparison)."""
    out = tmp_path / "e1"
    assert main(["reproduce", "e1", "--preset", "smoke", "--out", str(out), "--quiet", "--no-report",
                 "--workers", "1", "--batch-cells", "3", "--set", "train.eval_every=4",
                 "--report-to", "tensorboard,mlflow"]) == 0
    with sqlite3.connect(out / "results.sqlite") as store:
        cells = {cell_id: json.loads(result) for cell_id, result in store.execute("SELECT cell_id, result FROM cells")}
    assert len(cells) == 3
    _curves_match_metrics_jsonl(out, cells)
    losses = {cell_id: tuple(r["loss"] for r in _rows(out / "cells" / cell_id / "metrics.jsonl") if "loss" in r)
              for cell_id in cells}
    assert len(set(losses.values())) == 3  # three different curves, each in its own run
    client = _mlflow(out)
    runs = {r.info.run_name: r for r in client.search_runs([client.get_experiment_by_name("e1/smoke").experiment_id])}
    assert set(runs) == set(cells)
    for cell_id, result in cells.items():
        assert runs[cell_id].data.metrics["final/unseen.accuracy"] == pytest.approx(result["unseen"]["accuracy"])


@pytest.mark.slow
def test_ray_workers_on_a_cluster_report_though_they_never_saw_the_sweeps_environment(tmp_path, monkeypatch):
    """A two-node Ray cluster (127.0.0.1) started before the sweep: its workers do not inherit the
    environment that tells a cell where to report, so it travels in the tasks' runtime_env."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from divlab.sweep import run_sweep
    from divlab.sweep.backends import _loopback_only
    from divlab.tracking import ENV, configure_sweep

    monkeypatch.delenv(ENV, raising=False)
    out = tmp_path / "ray"
    with _loopback_only():
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                                 "include_dashboard": False})
        try:
            cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            configure_sweep(["tensorboard"], out, "e1/smoke")  # after the nodes started, as on a real cluster
            counts = run_sweep("e1", "smoke", out, backend="ray", threads=1, progress=False,
                               overrides={"train.eval_every": 4})
        finally:
            monkeypatch.delenv(ENV, raising=False)
            ray.shutdown()
            cluster.shutdown()
    assert counts["done"] == 3
    _curves_match_metrics_jsonl(out, [p.name for p in (out / "cells").iterdir()])


class _Broken:
    """A tracker whose server is gone once the run has begun."""

    def __init__(self, *, run_name, **_):
        self.run_name = run_name

    def log_params(self, params):
        pass

    def log_metrics(self, metrics, step):
        raise ConnectionError("tracking server unreachable")

    log_summary = log_metrics

    def close(self):
        raise ConnectionError("tracking server unreachable")


def test_a_failing_tracker_is_dropped_with_a_warning_and_the_cell_still_finishes(tmp_path, monkeypatch, capsys):
    """A cell run in this process (as a worker runs it) reporting to TensorBoard and to a tracker that fails
    at its first metric: the cell's result comes back, TensorBoard still gets every row, one warning."""
    from divlab import tracking
    from divlab.sweep.cell import run_cell
    from divlab.sweep.runner import load_experiment

    monkeypatch.setitem(tracking.BACKENDS, "broken", f"{__name__}:_Broken")
    monkeypatch.setitem(tracking.REQUIRES, "broken", ("json", "-"))
    monkeypatch.delenv(tracking.ENV, raising=False)
    tracking.configure_sweep(["broken", "tensorboard"], tmp_path, "e1/smoke")
    try:
        cell = load_experiment("e1", "smoke", None, {"train.eval_every": 4}).cells()[0]
        outcome = run_cell(cell.cell_id, cell.config, str(tmp_path), 1)
    finally:
        monkeypatch.delenv(tracking.ENV, raising=False)
    assert outcome["ok"], outcome.get("error")
    assert capsys.readouterr().err.count("tracker _Broken failed") == 1
    _curves_match_metrics_jsonl(tmp_path, [cell.cell_id])


def test_a_suite_evaluation_is_one_run_with_every_score(tmp_path):
    from divlab.evalsuite.suite import SuiteConfig
    from divlab.tracking.results import log_scores

    scores = {"benchmarks": {"gsm8k": {"score": 12.5, "metrics": {"exact_match": 12.5}},
                             "ifeval": {"score": 40.0, "metrics": {"prompt_level_strict": 40.0}}},
              "aggregates": {"overall": 26.25, "missing": []}}
    config = SuiteConfig(name="generalist-offline", benchmarks=("gsm8k", "ifeval"))
    log_scores(["mlflow", "tensorboard"], "some/model", config, scores, tmp_path)
    client = _mlflow(tmp_path)
    (run,) = client.search_runs([client.get_experiment_by_name("divlab-evaluate/generalist-offline").experiment_id])
    assert run.data.metrics == {"final/benchmarks.gsm8k.score": 12.5,
                                "final/benchmarks.gsm8k.metrics.exact_match": 12.5,
                                "final/benchmarks.ifeval.score": 40.0,
                                "final/benchmarks.ifeval.metrics.prompt_level_strict": 40.0,
                                "final/aggregates.overall": 26.25}
    assert run.data.params["model"] == "some/model" and run.data.params["suite.benchmarks"] == '["gsm8k", "ifeval"]'
    assert _scalars(tmp_path / "tensorboard")["final/aggregates.overall"] == [(0, 26.25)]


def test_finetune_hands_report_to_to_trl_and_its_loss_matches_metrics_jsonl(tmp_path):
    pytest.importorskip("trl")
    from tests.conftest import make_tiny_lm

    rows = [{"prompt": f"Colour of thing {i}?", "completion": ["red", "blue", "green"][i % 3]} for i in range(12)]
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "manifest.json").write_text("{}")
    model = make_tiny_lm(tmp_path / "tiny", [r["prompt"] + " " + r["completion"] for r in rows] * 5, vocab_size=300)
    out = tmp_path / "run"
    assert main(["finetune", str(model), str(data), "--out", str(out), "--max-steps", "3", "--logging-steps", "1",
                 "--batch-size", "4", "--max-length", "64", "--report-to", "tensorboard,mlflow", "--quiet"]) == 0
    losses = [(r["step"], r["loss"]) for r in _rows(out / "metrics.jsonl") if "loss" in r]
    assert [s for s, _ in losses] == [1, 2, 3]
    assert _scalars(out / "tensorboard")["train/loss"] == [(s, pytest.approx(v, rel=1e-5)) for s, v in losses]
    client = _mlflow(out)
    (run,) = client.search_runs([client.get_experiment_by_name("divlab-finetune").experiment_id])
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")] == \
        [(s, pytest.approx(v, rel=1e-5)) for s, v in losses]
    assert "TENSORBOARD_LOGGING_DIR" not in __import__("os").environ  # the environment is restored
