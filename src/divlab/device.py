"""Which device a job runs on: `auto` is the GPU when CUDA sees one, else the CPU."""

from __future__ import annotations

from divlab.errors import ConfigError


def resolve_device(requested: str = "auto") -> str:
    """'cpu', 'cuda' or 'cuda:N'; a CUDA device that is not there is a ConfigError naming it."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device", requested, "no CUDA device is visible to this process")
        return requested
    if requested != "cpu":
        raise ConfigError("device", requested, "must be auto, cpu, cuda or cuda:N")
    return requested
