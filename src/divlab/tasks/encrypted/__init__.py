"""E6, "replace then encrypt" (paper §2.6): the rewrite task for pretrained LLMs, whose output is the
rewritten string passed through a fixed, seeded letter-substitution cipher, rendered as text prompts."""

from divlab.tasks.encrypted.config import EncryptedConfig
from divlab.tasks.encrypted.generator import encrypt, generate_encrypted, make_cipher

__all__ = ["EncryptedConfig", "encrypt", "generate_encrypted", "make_cipher"]
