"""Training hyperparameters (paper §1.3: AdamW, lr 1e-3, linear schedule; the rest is ours, see docs)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from divlab.models.gpt import ModelConfig
from divlab.errors import ConfigError

SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup")


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    # Batch size in examples, or (when batch_tokens > 0) in tokens, padding included.
    batch_size: int = 64
    batch_tokens: int = 0
    lr: float = 1e-3
    warmup_steps: int = -1  # -1: warmup_ratio of the steps
    warmup_ratio: float = 0.02
    schedule: str = "linear"
    epochs: float = 1.0
    max_steps: int = 0  # > 0 overrides epochs
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    seed: int = 0
    threads: int = 0  # 0: every core this process may use
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | fp32 | bf16
    compile: bool = False
    checkpoint_seconds: float = 120.0
    log_every: int = 20
    eval_every: int = 0  # > 0: a learning-curve point (unseen and seen exact match) every this many steps
    eval_examples: int = 1000  # examples of each test split scored at each point (the same ones each time)

    def __post_init__(self) -> None:
        if isinstance(self.model, Mapping):
            object.__setattr__(self, "model", ModelConfig(**self.model))
        object.__setattr__(self, "betas", tuple(self.betas))
        positive_ints = ("batch_size", "log_every", "eval_examples")
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, value, "must be an integer >= 1")
        for name in ("batch_tokens", "max_steps", "seed", "threads", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(name, value, "must be an integer >= 0")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ConfigError("lr", self.lr, "must be > 0")
        if not (isinstance(self.epochs, (int, float)) and self.epochs > 0):
            raise ConfigError("epochs", self.epochs, "must be > 0")
        if self.warmup_steps < -1:
            raise ConfigError("warmup_steps", self.warmup_steps, "must be >= 0 (or -1 for warmup_ratio of the steps)")
        if not (isinstance(self.warmup_ratio, (int, float)) and 0 <= self.warmup_ratio < 1):
            raise ConfigError("warmup_ratio", self.warmup_ratio, "must be in [0, 1)")
        if self.schedule not in SCHEDULES:
            raise ConfigError("schedule", self.schedule, f"unknown schedule; known: {', '.join(SCHEDULES)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError("device", self.device, "must be auto, cpu or cuda")
        if self.dtype not in ("auto", "fp32", "bf16"):
            raise ConfigError("dtype", self.dtype, "must be auto, fp32 or bf16")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("weight_decay" if self.weight_decay < 0 else "grad_clip", min(self.weight_decay, self.grad_clip), "must be >= 0")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(key, values[key], f"unknown training field; known: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    # Fields that may differ between a run and its resumption without changing the result.
    RESUMABLE_DIFFERENCES = ("checkpoint_seconds", "log_every", "compile", "eval_every", "eval_examples")
