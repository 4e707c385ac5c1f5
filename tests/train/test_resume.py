"""Interrupted training resumes to exactly the weights of an uninterrupted run."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from divlab.train import RunDirError, train

from .conftest import tiny_config


def weights(run):
    return load_file(run / "model" / "model.safetensors")


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def test_resume_after_interrupt_equals_uninterrupted(tmp_path, smoke_dataset):
    config = tiny_config(epochs=3)
    train(smoke_dataset, tmp_path / "straight", config, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(smoke_dataset, tmp_path / "resumed", config, progress=False, stop_after_steps=23)  # mid-epoch
    state = torch.load(tmp_path / "resumed" / "checkpoint" / "trainer_state.pt", weights_only=False)
    assert state["state"]["step"] == 23 and state["state"]["batch_in_epoch"] > 0
    summary = train(smoke_dataset, tmp_path / "resumed", config, progress=False)
    assert summary["steps"] == json.loads((tmp_path / "straight" / "summary.json").read_text())["steps"]
    assert_same_weights(tmp_path / "straight", tmp_path / "resumed")
    steps = [json.loads(line)["step"] for line in open(tmp_path / "resumed" / "metrics.jsonl")]
    assert steps == sorted(set(steps))  # nothing logged twice


def _launch(dataset, run, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "divlab.cli", "train", str(dataset), "--out", str(run), "--model", "micro",
         "--n-embd", "32", "--batch-size", "16", "--lr", "3e-3", "--epochs", "10", "--threads", "1", "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_process_resumes_to_the_same_weights(tmp_path, smoke_dataset, sig):
    straight = _launch(smoke_dataset, tmp_path / "straight", "--checkpoint-seconds", "0")
    assert straight.wait(timeout=300) == 0, straight.stderr.read()
    run = tmp_path / "killed"
    process = _launch(smoke_dataset, run, "--checkpoint-seconds", "0")
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "checkpoint" / "trainer_state.pt").exists():
        time.sleep(0.05)
    time.sleep(0.1)  # mid-run: the run is ~190 steps with a checkpoint after each
    process.send_signal(sig)
    code = process.wait(timeout=120)
    assert code != 0
    if sig == signal.SIGTERM:
        assert "resume" in process.stderr.read()
    assert not (run / "model").exists()
    again = _launch(smoke_dataset, run, "--checkpoint-seconds", "0")
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert_same_weights(tmp_path / "straight", run)
    steps = [json.loads(line)["step"] for line in open(run / "metrics.jsonl")]
    straight_steps = [json.loads(line)["step"] for line in open(tmp_path / "straight" / "metrics.jsonl")]
    assert steps == straight_steps  # rows logged after the last checkpoint are not repeated


def test_mismatched_run_dir_is_refused_and_untouched(tmp_path, smoke_dataset):
    run = tmp_path / "run"
    train(smoke_dataset, run, tiny_config(), progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in run.rglob("*")}
    with pytest.raises(RunDirError, match="differs in: train.lr: 0.003 -> 0.01"):
        train(smoke_dataset, run, tiny_config(lr=1e-2), progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in run.rglob("*")} == before
    # A finished run asked again returns its summary without training.
    assert train(smoke_dataset, run, tiny_config(), progress=False)["steps"] > 0


def test_bad_inputs_fail_at_once_naming_the_problem(tmp_path, smoke_dataset):
    import shutil

    from divlab.data import DatasetDirError

    with pytest.raises(DatasetDirError, match="not found"):
        train(tmp_path / "missing", tmp_path / "r1", tiny_config(), progress=False)
    broken = tmp_path / "broken"
    shutil.copytree(smoke_dataset, broken)
    (broken / "train.jsonl").unlink()
    with pytest.raises(DatasetDirError, match="incomplete"):
        train(broken, tmp_path / "r2", tiny_config(), progress=False)
    future = tmp_path / "future"
    shutil.copytree(smoke_dataset, future)
    manifest = json.loads((future / "manifest.json").read_text())
    manifest["format_version"] = 99
    (future / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetDirError, match="version 99"):
        train(future, tmp_path / "r3", tiny_config(), progress=False)
    from divlab.models.gpt import ModelConfig

    with pytest.raises(RunDirError, match="shorter than the longest"):
        train(smoke_dataset, tmp_path / "r4", tiny_config(model=ModelConfig(n_layer=1, n_embd=32, n_head=2, n_positions=8)), progress=False)
    assert not any((tmp_path / name).exists() for name in ("r1", "r2", "r3", "r4"))
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not a divlab run"):
        train(smoke_dataset, stranger, tiny_config(), progress=False)
    assert [p.name for p in stranger.iterdir()] == ["notes.txt"]
