"""E6, "replace then encrypt" (paper §2.6): the rewrite task for pretrained LLMs, whose output is the
rewritten string passed through a fixed, seeded letter-substitution cipher, rendered as text prompts."""

from divlab.tasks.encrypted.config import EncryptedConfig
from divlab.tasks.encrypted.generator import encrypt, generate_encrypted, make_cipher
from divlab.tasks.registry import TaskSpec, register_task

TASK = register_task(
    TaskSpec(
        name="encrypted",
        config_class=EncryptedConfig,
        generate=generate_encrypted,
        description="replace-then-encrypt rewriting as prompt/completion text for pretrained LLMs (paper §2.6)",
    )
)

__all__ = ["EncryptedConfig", "TASK", "encrypt", "generate_encrypted", "make_cipher"]
