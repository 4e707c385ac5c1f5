"""Config of the encrypted-rewriting task: every rewrite field, plus the cipher and the prompt text."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from divlab.errors import ConfigError
from divlab.tasks.rewrite.config import RewriteConfig

DEFAULT_PROMPT = ("Rule: {x} -> {y}\nInput: {z}\nReplace the leftmost occurrence of the rule's left side by its "
                  "right side once (leave the input unchanged when it does not occur), then encrypt the result.")


@dataclass(frozen=True)
class EncryptedConfig:
    rewrite: RewriteConfig = field(default_factory=RewriteConfig)
    cipher_seed: int | None = None  # None: derived from `seed`
    prompt: str = DEFAULT_PROMPT  # placeholders {x}, {y}, {z}

    OWN_FIELDS = ("cipher_seed", "prompt")
    EXCLUSIVE_GROUPS = RewriteConfig.EXCLUSIVE_GROUPS

    def __post_init__(self) -> None:
        for name in ("{x}", "{y}", "{z}"):
            if name not in self.prompt:
                raise ConfigError("prompt", self.prompt, f"must contain the placeholder {name}")
        if len(set(self.rewrite.alphabet)) < 2:
            raise ConfigError("alphabet", self.rewrite.alphabet, "a substitution cipher needs at least 2 letters")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "EncryptedConfig":
        own = {k: v for k, v in values.items() if k in cls.OWN_FIELDS}
        rewrite = RewriteConfig.from_dict({k: v for k, v in values.items() if k not in cls.OWN_FIELDS})
        return cls(rewrite=rewrite, **own)

    def to_dict(self) -> dict:
        return {**self.rewrite.to_dict(), **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "rewrite"}}

    @property
    def seed(self) -> int:
        return self.rewrite.seed
