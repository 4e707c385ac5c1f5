"""Fine-tuning hyperparameters. Defaults are the paper's code-generation settings (brief §3.1, V3 App. B.1:
lr 1e-5, batch 4, gradient accumulation 1, 3 epochs, max length 768, 8-bit loading); LoRA's own shape is
not given for that experiment, so rank 16 / alpha 32 on every linear layer is ours (E6 presets set 512/1024)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.typed_config import check_known_fields


@dataclass(frozen=True)
class FinetuneConfig:
    lr: float = 1e-5
    batch_size: int = 4
    grad_accum: int = 1
    epochs: float = 3.0
    max_steps: int = 0  # > 0 overrides epochs
    max_length: int = 768
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    warmup_ratio: float = 0.03
    schedule: str = "linear"
    weight_decay: float = 0.0
    load_in_8bit: str = "auto"  # auto: when CUDA and bitsandbytes are present | true | false
    prompt_format: str = "auto"  # auto: the model's chat template when it has one, else plain text | chat | plain
    seed: int = 0
    save_steps: int = 50  # checkpoints to resume from
    logging_steps: int = 10
    threads: int = 0  # torch threads on CPU (0: every core this process may use)
    device: str = "auto"  # auto | cpu | cuda

    def __post_init__(self) -> None:
        if isinstance(self.target_modules, list):
            object.__setattr__(self, "target_modules", tuple(self.target_modules))
        positive = ("lr", "batch_size", "grad_accum", "max_length", "lora_r", "lora_alpha", "save_steps",
                    "logging_steps")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(name, getattr(self, name), "must be > 0")
        if self.max_steps <= 0 and not self.epochs > 0:
            raise ConfigError("epochs", self.epochs, "must be > 0 (or set max_steps)")
        for name in ("lora_dropout", "warmup_ratio"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(name, getattr(self, name), "must be in [0, 1)")
        choices = {"load_in_8bit": ("auto", "true", "false"), "prompt_format": ("auto", "chat", "plain"),
                   "device": ("auto", "cpu", "cuda"),
                   "schedule": ("linear", "cosine", "constant", "constant_with_warmup")}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if isinstance(value, bool) and name == "load_in_8bit":
                object.__setattr__(self, name, str(value).lower())
            elif value not in allowed:
                raise ConfigError(name, value, f"must be one of {', '.join(allowed)}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "FinetuneConfig":
        check_known_fields(cls, values)
        return cls(**values)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        if isinstance(out["target_modules"], tuple):
            out["target_modules"] = list(out["target_modules"])
        return out
