"""all-MiniLM-L6-v2 (or any sentence-transformers model that traces) in ONNX Runtime on the CPU.

sentence-transformers' own ONNX backend needs optimum-onnx, whose releases (0.1.0) pin transformers < 4.58,
while divlab runs transformers 5; so divlab exports the model itself (onnx_export.py) and runs it here with
the model's own tokenizer (sentence-transformers' `preprocess`: same truncation, same padding). Its
embeddings match the torch path's (cosine >= 0.9999999 on 2,000 real instructions; docs/diversity.md)."""

from __future__ import annotations

import importlib.metadata

import numpy as np

from divlab.diversity.backends import installed
from divlab.diversity.backends.onnx_export import exported_model, tokenizer_of
from divlab.errors import ConfigError


class OnnxEncoder:
    def __init__(self, model_path: str, batch_size: int):
        import onnxruntime
        import torch

        from divlab.diversity.backends.torch_backend import load_sentence_transformer

        self.path = exported_model(model_path)
        self.tokenize = tokenizer_of(load_sentence_transformer(model_path, "cpu"))
        options = onnxruntime.SessionOptions()
        # The caller's thread setting holds for both backends, so their timings compare like for like.
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: spinning burns the cores the tokenizer between batches and
        # any other process need (on 2 busy cores, 1.26x faster than with spinning, which only matched torch).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.batch_size = batch_size
        self.details = {"backend": "onnx", "onnxruntime": importlib.metadata.version("onnxruntime"),
                        "threads": options.intra_op_num_threads, "file": str(self.path)}

    def _run(self, texts: list[str]) -> np.ndarray:
        features = self.tokenize(texts)
        return self.session.run(None, {n: features[n].numpy() for n in self.inputs})[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        # Longest first, as sentence-transformers batches: a batch pads to its longest text, so similar lengths
        # together waste the least.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[start:start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        sorted_vectors = np.concatenate([self._run([texts[i] for i in batch]) for batch in batches])
        vectors = np.empty_like(sorted_vectors)
        vectors[order] = sorted_vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class OnnxBackend:
    name = "onnx"

    def missing(self) -> str | None:
        if not installed("onnxruntime", "sentence_transformers"):
            return "pip install onnxruntime (in divlab's diversity extra)"
        return None

    def load(self, model_path: str, device: str, batch_size: int) -> OnnxEncoder:
        if device != "cpu":
            raise ConfigError("device", device, "the onnx embedding backend runs on the CPU; use the torch backend")
        return OnnxEncoder(model_path, batch_size)


BACKEND = OnnxBackend()
