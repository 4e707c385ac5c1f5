"""lm-eval's vLLM model: vLLM reads the weights itself and spreads over the GPUs it sees (tensor parallel
within a model, data parallel across copies), so it runs as one process, not under a launcher."""

from __future__ import annotations

from divlab.errors import ConfigError
from divlab.evalsuite.backends import Backend


def vllm_model_args(hf_args: dict, *, gpus: int, tensor_parallel: int, seed: int) -> dict:
    """lm-eval's `--model_args` for `--model vllm` from the HF ones divlab records: the same weights, dtype
    and tokenizer; a LoRA adapter applied by vLLM (unmerged); every GPU used, `tensor_parallel` per copy."""
    if gpus < 1:
        raise ConfigError("backend", "vllm", "needs a CUDA GPU; none is visible to this process")
    if tensor_parallel < 1:
        raise ConfigError("tensor_parallel", tensor_parallel, "must be >= 1")
    if gpus < tensor_parallel or gpus % tensor_parallel:
        raise ConfigError("tensor_parallel", tensor_parallel,
                          f"must divide the {gpus} visible GPU(s) (each model copy spans tensor_parallel GPUs)")
    args = {"pretrained": hf_args["pretrained"], "dtype": hf_args["dtype"],
            "tensor_parallel_size": tensor_parallel, "data_parallel_size": gpus // tensor_parallel,
            "seed": seed}
    if "tokenizer" in hf_args:
        args["tokenizer"] = hf_args["tokenizer"]
    if "peft" in hf_args:
        args["lora_local_path"] = hf_args["peft"]
    return args


def model_args(hf_args: dict, config) -> dict:
    import torch

    return vllm_model_args(hf_args, gpus=torch.cuda.device_count(), tensor_parallel=config.tensor_parallel,
                           seed=config.seed)


def build(loaded, config, ranks):
    from lm_eval.models.vllm_causallms import VLLM

    return VLLM(**model_args(loaded.lm_eval_model_args, config), batch_size=config.batch_size)


BACKEND = Backend(name="vllm", lm_eval_model="vllm", install="pip install vllm (a CUDA machine)", build=build,
                  model_args=model_args, package="vllm", uses_loaded_model=False)
