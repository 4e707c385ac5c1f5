"""A sentence-transformers model exported to one ONNX file, once per machine: the traced graph runs the whole
model (transformer, pooling, normalisation), so ONNX Runtime returns the sentence embedding itself. It is
exported from the model's local PyTorch weights (never fetched) and kept under the export cache, keyed by the
model folder's files and the versions of the libraries that traced it, written atomically so that a reader
never sees half a file and two processes exporting at once both end with a whole one."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import re
import warnings
from pathlib import Path

from divlab.atomic import atomic_write_bytes, atomic_write_json

OPSET = 17
FORMAT = 1  # bump when the exported graph changes shape (inputs, outputs, what it computes)
EXPORTERS = ("torch", "transformers", "sentence-transformers")


def export_root() -> Path:
    """DIVLAB_EXPORT_DIR, else exports/ beside the embedding cache (DIVLAB_CACHE_DIR or ~/.cache/divlab)."""
    if os.environ.get("DIVLAB_EXPORT_DIR"):
        return Path(os.environ["DIVLAB_EXPORT_DIR"])
    return Path(os.environ.get("DIVLAB_CACHE_DIR", Path.home() / ".cache" / "divlab")) / "exports"


def export_key(model_path: str) -> str:
    """Changes when the model's files or the tracing libraries change (a reinstalled model package at the same
    path, a new torch), so a stale export is never loaded."""
    folder = Path(model_path)
    files = {str(p.relative_to(folder)): [p.stat().st_size, p.stat().st_mtime_ns]
             for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}
    identity = {"model": str(folder.resolve()) if folder.is_dir() else model_path, "files": files,
                "versions": {name: importlib.metadata.version(name) for name in EXPORTERS},
                "opset": OPSET, "format": FORMAT}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def export_path(model_path: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model_path).name or "model")
    return export_root() / f"{slug}-{export_key(model_path)}" / "model.onnx"


def tokenizer_of(model):
    """The model's own text -> tensors step (its truncation and padding): `preprocess` in sentence-transformers
    6, `tokenize` before."""
    return getattr(model, "preprocess", None) or model.tokenize


class _WholeModel:
    """The sentence-transformers model as a function of positional tensors (what the tracer takes)."""

    def __new__(cls, model, names: list[str]):
        import torch

        class Whole(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *tensors):
                return self.model(dict(zip(names, tensors)))["sentence_embedding"]

        return Whole().eval()


def export(model_path: str, target: Path) -> Path:
    """Trace the model on a two-sentence batch with batch and sequence axes dynamic, and write it to target."""
    import torch

    from divlab.diversity.backends.torch_backend import load_sentence_transformer

    # Eager attention: the tracer records plain matrix products (the SDPA path has shape-dependent branches).
    model = load_sentence_transformer(model_path, "cpu", model_kwargs={"attn_implementation": "eager"})
    sample = tokenizer_of(model)(["a short sentence", "a somewhat longer sentence to trace the model with"])
    names = sorted(k for k, v in sample.items() if isinstance(v, torch.Tensor))
    buffer = io.BytesIO()
    # The tracer warns that shape checks become constants; here they hold for every batch (the mask and the token
    # axis always match), which the agreement test checks against the torch path on real instructions.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_WholeModel(model, names), tuple(sample[n] for n in names), buffer, dynamo=False,
                          input_names=names, output_names=["sentence_embedding"], opset_version=OPSET,
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                        "sentence_embedding": {0: "batch"}})
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, buffer.getvalue())
    atomic_write_json(target.with_name("export.json"), {"model": model_path, "inputs": names, "opset": OPSET,
                                                        "format": FORMAT, "key": export_key(model_path)})
    return target


def exported_model(model_path: str) -> Path:
    """The ONNX file of a model, exported now if this machine has none for it yet."""
    target = export_path(model_path)
    return target if target.exists() else export(model_path, target)
