"""`divlab evaluate` under `accelerate launch`: two CPU processes over gloo on 127.0.0.1 ask the very prompts one
process asks and get the very same answers and scores; rank 0 alone writes, and a rerun resumes on every rank
(rank 1's answers come back from rank 0's request cache)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import make_tiny_lm, run_cli

pytest.importorskip("lm_eval")
pytest.importorskip("accelerate")

SUITE = ("--suite", "generalist-offline", "--set", 'benchmarks=["gsm8k", "bbh"]', "--set", 'subtasks.bbh=["navigate"]',
         "--limit", "3", "--set", "max_gen_toks=6")
BENCHMARKS = ("gsm8k", "bbh")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    # one thread per process (2 processes on 2 cores); no GPU even where there is one: the CPU path over gloo
    return {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "CUDA_VISIBLE_DEVICES": "",
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _launch(*args: str) -> subprocess.CompletedProcess:
    # accelerate 1.15 starts one process for `--cpu --num_processes 2` (several need MPI); `--multi_gpu`
    # starts them through torch's launcher, and with no GPU visible each runs on the CPU
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()), "-m", "divlab.cli", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    path = make_tiny_lm(tmp_path_factory.mktemp("dp") / "tiny",
                        ["Question: how many apples? Answer: 42 apples.", "(A) True (B) False", "1 + 2 = 3"] * 20)
    # Weights far from zero, so that the replies differ from prompt to prompt: an answer handed back to the
    # wrong request would show.
    config = GPT2Config.from_pretrained(path, initializer_range=0.6)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_two_processes_score_exactly_as_one_and_only_rank_0_writes(tiny_model, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    run_cli("evaluate", str(tiny_model), *SUITE, "--out", str(one), env=_env())
    launched = _launch("evaluate", str(tiny_model), *SUITE, "--out", str(two))

    single, spread = (json.loads((d / "scores.json").read_text())["benchmarks"] for d in (one, two))
    for name in BENCHMARKS:
        # Exact equality: every request is answered by the same weights with the same greedy decoding; only
        # which process answers it differs.
        assert (spread[name]["score"], spread[name]["metrics"]) == (single[name]["score"], single[name]["metrics"])
        assert spread[name]["lm_eval_replay"]["task_hashes"] == single[name]["lm_eval_replay"]["task_hashes"]
        # per example: prompt, reply, extracted answer and metrics, in the same order
        assert (two / name / "samples.jsonl").read_text() == (one / name / "samples.jsonl").read_text()
        assert single[name]["processes"] == 1 and spread[name]["processes"] == 2
        assert all(n > 0 for n in spread[name]["requests_per_process"]), spread[name]  # rank 1 answered too
    replies = [json.loads(line)["reply"] for line in (one / "gsm8k" / "samples.jsonl").read_text().splitlines()]
    assert len({json.dumps(r) for r in replies}) > 1  # the model's replies depend on the prompt

    # Rank 0 alone writes: the very files of a single-process run (one scores.json, one request cache per
    # benchmark, rank 0's), and one score table on the screen.
    assert _files(two) == _files(one)
    assert list(two.rglob("scores.json")) == [two / "scores.json"]
    assert [p.name for p in two.rglob("requests*")] == ["requests_rank0.db"] * 2
    assert launched.stdout.count("Overall w/o IF") == 1

    # Resumed with two processes: the finished benchmark is skipped on both ranks; the unfinished one gets
    # every answer, rank 1's included, from rank 0's request cache (no process answers anything).
    gsm8k_result = (two / "gsm8k" / "result.json").read_text()
    bbh_samples = (two / "bbh" / "samples.jsonl").read_text()
    (two / "bbh" / "result.json").unlink()
    again = _launch("evaluate", str(tiny_model), *SUITE, "--out", str(two))
    assert "[generalist-offline] bbh" in again.stdout and "[generalist-offline] gsm8k" not in again.stdout
    assert (two / "gsm8k" / "result.json").read_text() == gsm8k_result
    assert (two / "bbh" / "samples.jsonl").read_text() == bbh_samples
    assert json.loads((two / "bbh" / "result.json").read_text())["requests_per_process"] == [0, 0]
