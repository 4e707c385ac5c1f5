"""Named random streams.

Every stream is derived by hashing (seed, purpose, ...) into a numpy SeedSequence, never by adding offsets,
so streams never overlap and any chunk of a dataset can be regenerated on its own.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_entropy(seed: int, *names: object) -> int:
    key = "\x1f".join([str(int(seed)), *map(str, names)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:16], "little")


def stream(seed: int, *names: object) -> np.random.Generator:
    """A Generator for the stream named `names` under `seed` (PCG64, hashed entropy)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(stream_entropy(seed, *names))))
