"""lm-eval's vLLM model: vLLM reads the weights itself and spreads over the GPUs it sees (tensor parallel
within a model, data parallel across copies), so it runs as one process, not under a launcher."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from divlab.errors import ConfigError
from divlab.evalsuite.backends import Backend


def model_copies(*, gpus: int, tensor_parallel: int) -> int:
    """How many copies of the model vLLM runs side by side (its data_parallel_size) on `gpus` GPUs."""
    if gpus < 1:
        raise ConfigError("backend", "vllm", "needs a CUDA GPU; none is visible to this process")
    if tensor_parallel < 1:
        raise ConfigError("tensor_parallel", tensor_parallel, "must be >= 1")
    if gpus < tensor_parallel or gpus % tensor_parallel:
        raise ConfigError("tensor_parallel", tensor_parallel,
                          f"must divide the {gpus} visible GPU(s) (each model copy spans tensor_parallel GPUs)")
    return gpus // tensor_parallel


def vllm_model_args(hf_args: dict, *, gpus: int, tensor_parallel: int, seed: int, lora_rank: int | None = None) -> dict:
    """lm-eval's `--model_args` for `--model vllm` from the HF ones divlab records: the same weights, dtype
    and tokenizer; a LoRA adapter applied by vLLM (unmerged; `lora_rank` its rank, which vLLM must allow);
    every GPU used, `tensor_parallel` per copy."""
    args = {"pretrained": hf_args["pretrained"], "dtype": hf_args["dtype"],
            "tensor_parallel_size": tensor_parallel,
            "data_parallel_size": model_copies(gpus=gpus, tensor_parallel=tensor_parallel), "seed": seed}
    if "tokenizer" in hf_args:
        args["tokenizer"] = hf_args["tokenizer"]
    if "peft" in hf_args:
        args["lora_local_path"] = hf_args["peft"]
        if lora_rank is not None:
            args["max_lora_rank"] = max_lora_rank(lora_rank)
    return args


def max_lora_rank(rank: int) -> int:
    """vLLM's max_lora_rank for an adapter of rank `rank`: lm-eval's default 16 (vLLM refuses adapters above
    it), else the next power of two, which vLLM accepts where it allows only listed ranks."""
    return max(16, 1 << (rank - 1).bit_length())


def adapter_rank(adapter: str | Path) -> int | None:
    """The rank `r` of a LoRA adapter directory (its adapter_config.json), None where it says none."""
    rank = json.loads((Path(adapter) / "adapter_config.json").read_text()).get("r")
    return int(rank) if rank is not None else None


def _gpus() -> int:
    import torch

    return torch.cuda.device_count()


def model_args(hf_args: dict, config) -> dict:
    lora_rank = adapter_rank(hf_args["peft"]) if "peft" in hf_args else None
    return vllm_model_args(hf_args, gpus=_gpus(), tensor_parallel=config.tensor_parallel, seed=config.seed,
                           lora_rank=lora_rank)


def check_config(config) -> None:
    """vLLM's refusals, before anything is loaded or written: no GPU, tensor_parallel not dividing the GPUs,
    several model copies without ray (lm-eval runs each copy as a ray actor)."""
    gpus = _gpus()
    copies = model_copies(gpus=gpus, tensor_parallel=config.tensor_parallel)
    if copies > 1 and importlib.util.find_spec("ray") is None:
        raise ConfigError("backend", "vllm", f"runs {copies} model copies on the {gpus} visible GPUs, which needs "
                          f"the Python package 'ray' (pip install ray); or --set tensor_parallel={gpus}, or "
                          f"fewer GPUs in CUDA_VISIBLE_DEVICES")


def build(loaded, config, ranks):
    from lm_eval.models.vllm_causallms import VLLM

    return VLLM(**model_args(loaded.lm_eval_model_args, config), batch_size=config.batch_size)


BACKEND = Backend(name="vllm", lm_eval_model="vllm", install="pip install vllm (a CUDA machine)", build=build,
                  model_args=model_args, package="vllm", uses_loaded_model=False, check_config=check_config)
