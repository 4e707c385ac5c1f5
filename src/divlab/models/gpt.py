"""GPT-2 models for the from-scratch experiments: typed config, presets, and transformers' GPT2LMHeadModel
built from a config (the reference the trainer's compact model, divlab.models.stacked, is tested against).

The trainer trains divlab.models.stacked.StackedGPT, which keeps GPT-2's weight layout: every checkpoint and
final model it writes is a Hugging Face GPT-2 directory, loaded and evaluated with GPT2LMHeadModel.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.typed_config import check_known_fields

# The paper's model (6 layers, width 256, 4 heads) and smaller shapes that fit a 2-core CPU.
MODEL_PRESETS: dict[str, dict[str, int]] = {
    "paper": {"n_layer": 6, "n_embd": 256, "n_head": 4},
    "small": {"n_layer": 3, "n_embd": 128, "n_head": 4},
    "tiny": {"n_layer": 2, "n_embd": 64, "n_head": 4},
    "micro": {"n_layer": 1, "n_embd": 32, "n_head": 2},
}


@dataclass(frozen=True)
class ModelConfig:
    n_layer: int = 6
    n_embd: int = 256
    n_head: int = 4
    n_positions: int = 0  # context; 0 = the longest example of the dataset, rounded up to 8
    dropout: float = 0.0
    init_std: float = 0.02  # GPT-2's initializer range

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_embd", "n_head"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(name, value, "must be an integer >= 1")
        if self.n_embd % self.n_head:
            raise ConfigError("n_head", self.n_head, f"must divide n_embd={self.n_embd}")
        if not isinstance(self.n_positions, int) or self.n_positions < 0:
            raise ConfigError("n_positions", self.n_positions, "must be an integer >= 0 (0: fit the data)")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("dropout", self.dropout, "must be in [0, 1)")
        if not (isinstance(self.init_std, (int, float)) and self.init_std > 0):
            raise ConfigError("init_std", self.init_std, "must be > 0")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ModelConfig":
        check_known_fields(cls, values, "model field")
        return cls(**values)

    @classmethod
    def from_preset(cls, preset: str, overrides: Mapping[str, Any] | None = None) -> "ModelConfig":
        if preset not in MODEL_PRESETS:
            raise ConfigError("model", preset, f"unknown model preset; known: {', '.join(MODEL_PRESETS)}")
        return cls.from_dict({**MODEL_PRESETS[preset], **{k: v for k, v in (overrides or {}).items() if v is not None}})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_model(config: ModelConfig, vocab_size: int, n_positions: int, special_ids: Mapping[str, int]):
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=n_positions,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=config.dropout,
        bos_token_id=special_ids["bos"],
        eos_token_id=special_ids["eos"],
        pad_token_id=special_ids["pad"],
        tie_word_embeddings=True,
    )
    hf_config._attn_implementation = "sdpa"
    return GPT2LMHeadModel(hf_config)
