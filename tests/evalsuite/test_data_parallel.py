"""`divlab evaluate` under `accelerate launch`: two CPU processes over gloo on 127.0.0.1 ask the very prompts one
process asks and get the very same answers and scores; rank 0 alone writes, and a rerun resumes on every rank
(rank 1's answers come back from rank 0's request cache)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import make_tiny_lm, run_cli

pytest.importorskip("lm_eval")
pytest.importorskip("accelerate")

SUITE = ("--suite", "generalist-offline", "--set", 'benchmarks=["gsm8k", "bbh"]', "--set", 'subtasks.bbh=["navigate"]',
         "--limit", "3", "--set", "max_gen_toks=6")
BENCHMARKS = ("gsm8k", "bbh")


def _env() -> dict:
    # one thread per process (2 processes on 2 cores); no GPU even where there is one: the CPU path over gloo
    return {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "CUDA_VISIBLE_DEVICES": "",
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _launch(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    # accelerate 1.15 starts one process for `--cpu --num_processes 2` (several need MPI); `--multi_gpu`
    # starts them through torch's launcher, and with no GPU visible each runs on the CPU. Port 0: the
    # launcher picks a free one.
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_ip", "127.0.0.1", "--main_process_port", "0", "-m", "divlab.cli", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=timeout)
    if check:
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


def _divlab_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("divlab ")]


@pytest.mark.slow
def test_a_refusal_on_rank_0_stops_every_rank_and_only_rank_0_says_why(tiny_model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "suite.json").write_text(json.dumps({"model": "another-model", "suite": {}}))
    result = _launch("evaluate", str(tiny_model), *SUITE, "--out", str(out), check=False, timeout=120)
    assert result.returncode != 0
    # rank 0's refusal, naming the directory's other model, alone: rank 1 leaves quietly, so the launcher
    # waits for rank 0 (had rank 1 failed first, the launcher would have stopped rank 0 before it said why)
    lines = _divlab_lines(result.stderr)
    assert len(lines) == 1 and "holds a different suite evaluation" in lines[0] and "another-model" in lines[0]
    assert "rank      : 0 (local_rank: 0)" in result.stderr  # the launcher's root cause
    assert "gloo" not in result.stderr.lower() and "Connection closed" not in result.stderr, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["suite.json"]


_SPREAD_SCRIPT = textwrap.dedent("""
    import sys
    from divlab.evalsuite.ranks import join, launched, leave, serve, spread, stop_serving

    ranks = launched()
    failing = sys.argv[1]
    join(ranks)

    def answer(method, arguments):
        if failing == f"rank {ranks.rank}":
            raise OSError(f"no memory left for {len(arguments)} requests\\non rank {ranks.rank}")
        return [f"{method}: {args[0]}" for args in arguments]

    if ranks.main:
        try:
            print(spread("generate_until", [(f"q{i}",) for i in range(4)], answer, ranks))
            print(spread("generate_until", [(f"q{i}",) for i in range(4, 6)], answer, ranks))
        except Exception as error:
            stop_serving(ranks, failed=True)
            print(f"rank 0 raised {type(error).__name__}: {error}")
        else:
            stop_serving(ranks)
    else:
        try:
            print(f"rank 1 answered {serve(answer, ranks)}")
        except Exception as error:
            print(f"rank 1 raised {type(error).__name__}: {error}")
    leave(ranks)
""")


@pytest.mark.slow
@pytest.mark.parametrize("failing", ["nobody", "rank 0", "rank 1"])
def test_a_failing_answer_stops_every_rank_and_rank_0_says_why_in_one_line(tmp_path, failing):
    script = tmp_path / "spread.py"
    script.write_text(_SPREAD_SCRIPT)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**_env(), "MASTER_PORT": str(port), "WORLD_SIZE": "2", "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [subprocess.Popen([sys.executable, str(script), failing], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)})
                 for r in range(2)]
    (out0, err0), (out1, err1) = (p.communicate(timeout=120) for p in processes)
    assert [p.returncode for p in processes] == [0, 0], err0 + err1
    if failing == "nobody":  # contiguous shares, answered in order
        assert out0.splitlines() == [str([["generate_until: q0", "generate_until: q1"],
                                          ["generate_until: q2", "generate_until: q3"]]),
                                     str([["generate_until: q4"], ["generate_until: q5"]])]
        assert out1.strip() == "rank 1 answered 3"
    elif failing == "rank 0":  # its own error, once rank 1 handed back its share; rank 1 told to stop
        assert out0.strip() == "rank 0 raised OSError: no memory left for 2 requests\non rank 0"
        assert out1.strip() == "rank 1 raised MainStopped:"
    else:  # rank 1's error raised on rank 0 in one line naming the rank
        assert out0.strip() == ("rank 0 raised RankError: rank 1 of 2 could not answer lm-eval's generate_until "
                                "requests: OSError: no memory left for 2 requests on rank 1")
        assert out1.strip() == "rank 1 raised MainStopped:"
