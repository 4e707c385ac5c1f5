"""The reference embedding path: sentence-transformers on PyTorch, as it ships."""

from __future__ import annotations

import numpy as np

from divlab.diversity.backends import installed


def load_sentence_transformer(model_path: str, device: str, **kwargs):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model_path, device=device, **kwargs)


class TorchEncoder:
    def __init__(self, model_path: str, device: str, batch_size: int):
        self.model = load_sentence_transformer(model_path, device)
        self.batch_size = batch_size
        self.details = {"backend": "torch"}

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class TorchBackend:
    name = "torch"

    def missing(self) -> str | None:
        if not installed("sentence_transformers"):
            return "pip install 'divlab[diversity]'"
        return None

    def load(self, model_path: str, device: str, batch_size: int) -> TorchEncoder:
        return TorchEncoder(model_path, device, batch_size)


BACKEND = TorchBackend()
