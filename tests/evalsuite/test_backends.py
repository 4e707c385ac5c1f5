"""`divlab evaluate --backend`: the registry, vLLM's refusal where vllm is missing, vLLM's model arguments, and
the pieces of spreading requests over launched processes that need no second process."""

from __future__ import annotations

import importlib.util
import json

import pytest

from divlab.errors import ConfigError
from divlab.evalsuite.backends import Backend, BackendError, get_backend
from divlab.evalsuite.backends.vllm import vllm_model_args
from divlab.evalsuite.ranks import Ranks, interleave, launched, shares
from tests.conftest import run_cli


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_missing_is_refused_in_one_line_before_anything_is_loaded(tmp_path):
    out = tmp_path / "out"
    # a model that does not exist: had anything been loaded first, the error would be about the model
    result = run_cli("evaluate", str(tmp_path / "no-such-model"), "--backend", "vllm", "--out", str(out),
                     check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "'vllm'" in result.stderr and "pip install vllm" in result.stderr
    assert not out.exists()


def test_an_unknown_backend_is_refused_naming_it():
    from divlab.evalsuite import load_suite

    with pytest.raises(ConfigError, match=r"backend='tpu'.*known: hf, vllm"):
        load_suite("generalist-offline", {"backend": "tpu"})


def test_a_backend_that_cannot_use_launched_processes_is_refused_under_a_launcher():
    single = Backend(name="single", lm_eval_model="hf", install="-", build=None, model_args=dict)
    single.check(Ranks())
    with pytest.raises(BackendError, match="2 processes"):
        single.check(Ranks(rank=1, world=2))
    get_backend("hf").check(Ranks(rank=1, world=2))


def test_vllm_model_args_load_what_hf_loads_on_every_gpu():
    hf = {"pretrained": "/models/base", "dtype": "bfloat16", "peft": "/runs/lora", "tokenizer": "/runs/lora"}
    assert vllm_model_args(hf, gpus=4, tensor_parallel=2, seed=7) == {
        "pretrained": "/models/base", "dtype": "bfloat16", "tensor_parallel_size": 2, "data_parallel_size": 2,
        "seed": 7, "tokenizer": "/runs/lora", "lora_local_path": "/runs/lora"}
    plain = vllm_model_args({"pretrained": "org/model", "dtype": "float32"}, gpus=1, tensor_parallel=1, seed=0)
    assert plain == {"pretrained": "org/model", "dtype": "float32", "tensor_parallel_size": 1,
                     "data_parallel_size": 1, "seed": 0}
    with pytest.raises(ConfigError, match="tensor_parallel=2: must divide the 3 visible"):
        vllm_model_args(hf, gpus=3, tensor_parallel=2, seed=0)
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        vllm_model_args(hf, gpus=0, tensor_parallel=1, seed=0)


def test_the_replay_command_names_the_backend_lm_eval_runs():
    from divlab.evalsuite.replay import command_line, lm_eval_settings

    settings = lm_eval_settings(seed=0, chat=False, limit=None, max_gen_toks=0, batch_size=8)
    assert command_line(["gsm8k"], settings, {"pretrained": "m"}, "cuda", "vllm").startswith(
        "lm_eval --model vllm --model_args pretrained=m ")


@pytest.mark.parametrize("count", [0, 1, 2, 5, 130])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_shares_answered_come_back_in_the_order_asked(count, world):
    items = [f"request {i}" for i in range(count)]
    parts = shares(items, world)
    assert sorted(len(p) for p in parts)[-1] - sorted(len(p) for p in parts)[0] <= 1
    assert interleave([[f"answer to {item}" for item in part] for part in parts]) == [
        f"answer to {item}" for item in items]


def test_the_launchers_environment_says_which_process_this_is():
    assert launched({}) == Ranks(0, 1, 0)
    assert launched({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == Ranks(1, 2, 1)
    with pytest.raises(ConfigError, match="WORLD_SIZE='two'"):
        launched({"WORLD_SIZE": "two"})
    with pytest.raises(ConfigError, match="RANK=2: must be below WORLD_SIZE=2"):
        launched({"RANK": "2", "WORLD_SIZE": "2"})


def test_a_directory_from_before_backends_resumes_on_hf_and_refuses_vllm(tmp_path):
    from divlab.errors import RunDirError
    from divlab.evalsuite import load_suite
    from divlab.evalsuite.run import _unfinished

    config = load_suite("generalist-offline", {"benchmarks": ["gsm8k"]})
    identity = {"model": "m", "suite": config.identity()}
    del identity["suite"]["backend"]
    (tmp_path / "suite.json").write_text(json.dumps(identity))
    assert _unfinished("m", config, tmp_path, []) == []
    vllm = load_suite("generalist-offline", {"benchmarks": ["gsm8k"], "backend": "vllm"})
    with pytest.raises(RunDirError, match="backend"):
        _unfinished("m", vllm, tmp_path, [])
