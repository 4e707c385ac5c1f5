"""`divlab evaluate --backend`: the registry, vLLM's refusal where vllm is missing, vLLM's model arguments, and
the pieces of spreading requests over launched processes that need no second process."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import types

import pytest

from divlab.errors import ConfigError
from divlab.evalsuite.backends import Backend, BackendError, get_backend
from divlab.evalsuite.backends.vllm import vllm_model_args
from divlab.evalsuite.ranks import Ranks, in_order, launched, local_device, shares
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
    single.check(Ranks(), None)
    with pytest.raises(BackendError, match="2 processes"):
        single.check(Ranks(rank=1, world=2), None)
    get_backend("hf").check(Ranks(rank=1, world=2), None)


@pytest.fixture
def fake_vllm(monkeypatch):
    """vllm "installed" (never imported by these tests: only its presence is looked up), on `gpus[0]` GPUs."""
    from divlab.evalsuite.backends import vllm

    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    monkeypatch.setitem(sys.modules, "vllm", module)
    gpus = [1]
    monkeypatch.setattr(vllm, "_gpus", lambda: gpus[0])
    return gpus


@pytest.mark.parametrize("gpus, settings, refusal", [
    (0, {}, r"backend='vllm': needs a CUDA GPU"),
    (3, {"tensor_parallel": 2}, r"tensor_parallel=2: must divide the 3 visible GPU"),
    (4, {"tensor_parallel": 2}, r"backend='vllm': runs 2 model copies on the 4 visible GPUs.*'ray'"),
])
def test_vllm_settings_this_machine_cannot_run_are_refused_before_anything_is_written(
        fake_vllm, monkeypatch, tmp_path, gpus, settings, refusal):
    from divlab.evalsuite import evaluate_suite, load_suite

    fake_vllm[0] = gpus
    monkeypatch.setitem(sys.modules, "ray", None)  # not installed
    config = load_suite("generalist-offline", {"backend": "vllm", **settings})
    with pytest.raises(ConfigError, match=refusal) as refused:
        evaluate_suite(str(tmp_path / "no-such-model"), config, tmp_path / "out")  # refused before the model
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_vllm_runs_the_gpus_it_can(fake_vllm, monkeypatch):
    fake_vllm[0] = 4
    monkeypatch.setitem(sys.modules, "ray", types.ModuleType("ray"))
    monkeypatch.setattr(sys.modules["ray"], "__spec__", importlib.machinery.ModuleSpec("ray", None), raising=False)
    from divlab.evalsuite import load_suite

    get_backend("vllm").check(Ranks(), load_suite("generalist-offline", {"backend": "vllm", "tensor_parallel": 2}))
    monkeypatch.setitem(sys.modules, "ray", None)
    get_backend("vllm").check(Ranks(), load_suite("generalist-offline", {"backend": "vllm", "tensor_parallel": 4}))


def test_vllm_allows_the_lora_adapters_rank(fake_vllm, tmp_path):
    from divlab.evalsuite import load_suite
    from divlab.evalsuite.backends.vllm import max_lora_rank

    config = load_suite("generalist-offline", {"backend": "vllm"})
    adapter = tmp_path / "lora"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 64, "base_model_name_or_path": "org/base"}))
    args = get_backend("vllm").model_args({"pretrained": "org/base", "dtype": "bfloat16", "peft": str(adapter)},
                                          config)
    assert args["lora_local_path"] == str(adapter) and args["max_lora_rank"] == 64
    assert "max_lora_rank" not in get_backend("vllm").model_args({"pretrained": "org/base", "dtype": "bf16"}, config)
    assert [max_lora_rank(r) for r in (4, 16, 17, 48, 64, 200)] == [16, 16, 32, 64, 64, 256]


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
    assert len(parts) == world
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    answers = [[f"answer to {item}" for item in part] for part in parts]
    assert in_order(answers) == [f"answer to {item}" for item in items]


def test_each_rank_gets_a_contiguous_block_keeping_a_documents_answer_choices_together():
    # lm-eval's loglikelihood requests: (context, continuation), a document's choices next to each other
    requests = [(f"doc {d}", f" choice {c}") for d in range(5) for c in range(4 if d % 2 else 2)]
    parts = shares(requests, 3, key=lambda args: args[0])
    assert in_order(parts) == requests
    contexts = [{args[0] for args in part} for part in parts]
    assert all(a.isdisjoint(b) for i, a in enumerate(contexts) for b in contexts[i + 1:])  # no document split
    assert [len(p) for p in parts] == [6, 6, 2]
    # one document larger than a share: it stays whole, the other ranks answer the rest
    assert [len(p) for p in shares([("a", 1)] * 5 + [("b", 1)], 2, key=lambda args: args[0])] == [5, 1]


def test_launched_processes_share_the_gpus_round_robin():
    assert local_device("cuda", Ranks(rank=5, world=6, local_rank=5), gpus=lambda: 4) == "cuda:1"
    assert local_device("cuda", Ranks(rank=1, world=2, local_rank=1), gpus=lambda: 2) == "cuda:1"
    assert local_device("cuda", Ranks(), gpus=lambda: 4) == "cuda"
    assert local_device("cuda:3", Ranks(rank=1, world=2, local_rank=1), gpus=lambda: 4) == "cuda:3"
    assert local_device("cpu", Ranks(rank=1, world=2, local_rank=1), gpus=lambda: 0) == "cpu"


def test_the_launchers_environment_says_which_process_this_is():
    assert launched({}) == Ranks(0, 1, 0, 1)
    # no LOCAL_WORLD_SIZE: every process counted as on this machine (the memory check errs on the safe side)
    assert launched({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == Ranks(1, 2, 1, 2)
    assert launched({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}) == Ranks(3, 4, 1, 2)
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
