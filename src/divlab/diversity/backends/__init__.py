"""Embedding backends by name for `divlab diversity` (`--embed-backend`): "torch" is sentence-transformers as
it ships; "onnx" runs the same model, exported once to ONNX from its local PyTorch weights, in ONNX Runtime.
"auto" takes the first of AUTO_ORDER whose packages are installed, so a machine without onnxruntime keeps the
torch path. A backend is an object with `name`, `missing()` (None, or the pip command that installs it) and
`load(model_path, device, batch_size)` -> an encoder with `encode(texts) -> unit-norm float32 rows` and
`details` (what the run's diversity.json records of it)."""

from __future__ import annotations

import importlib

from divlab.errors import ConfigError, DivlabError
from divlab.registry import Registry

BACKENDS = Registry("embedding backend", "divlab.embed_backends", "embed_backend", builtin={
    "torch": "divlab.diversity.backends.torch_backend:BACKEND",
    "onnx": "divlab.diversity.backends.onnx_backend:BACKEND",
})
# Fastest first: measured in benchmarks/diversity_offline.py (docs/diversity.md, "Embedding backends").
AUTO_ORDER = ("onnx", "torch")


def installed(*modules: str) -> bool:
    """Whether every module imports (an import, not a spec lookup: a package present but broken counts as
    missing)."""
    try:
        for module in modules:
            importlib.import_module(module)
    except ImportError:
        return False
    return True


def resolve(name: str):
    """The backend object for a name; "auto" -> the first installed of AUTO_ORDER. A named backend whose
    packages are missing is refused with the command that installs them."""
    if name == "auto":
        name = next((n for n in AUTO_ORDER if BACKENDS.get(n).missing() is None), AUTO_ORDER[-1])
    if name not in BACKENDS:
        known = ", ".join(BACKENDS.names())
        raise ConfigError("embed_backend", name, f"unknown embedding backend; known: auto, {known}")
    backend = BACKENDS.get(name)
    install = backend.missing()
    if install is not None:
        raise DivlabError(f"the {name} embedding backend is not installed: {install}")
    return backend
