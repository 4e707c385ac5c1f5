"""How lm-eval asks the suite's model: a registry of backends, chosen with `divlab evaluate --backend NAME`.

- `hf` (default): lm-eval's HF model around the model divlab loaded (aliases, GGUF files and LoRA adapters
  resolved and merged by divlab); spreads its requests over `accelerate launch` / `torchrun` processes.
- `vllm`: lm-eval's vLLM model, which reads the weights itself (GPU; tensor and data parallel within vLLM).

A backend of one's own: a `divlab.eval_backends` entry point, or "module:attr" as `--backend`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable

from divlab.errors import DivlabError
from divlab.registry import Registry


class BackendError(DivlabError):
    """A backend that cannot run here (its package missing, or launched as it cannot run)."""


@dataclass(frozen=True)
class Backend:
    name: str
    lm_eval_model: str  # lm-eval's `--model` for the same backend (the recorded replay command names it)
    install: str  # how to install what it needs
    # the lm-eval model of rank 0 (or of the one process): build(loaded, config, ranks)
    build: Callable
    # lm-eval's `--model_args` from the HF ones divlab records (pretrained, dtype, peft, tokenizer): (args, config)
    model_args: Callable[[dict, object], dict]
    package: str | None = None  # importable module it needs beyond lm-eval
    uses_loaded_model: bool = True  # False: it reads the weights itself (divlab loads them only for code benchmarks)
    serves_ranks: bool = False  # True: runs under a launcher with several processes (see evalsuite.ranks)
    # its own refusals of the suite's settings on this machine (GPUs, packages they need): check_config(config)
    check_config: Callable[[object], None] | None = None

    def check(self, ranks, config) -> None:
        """Refuse here, before anything is loaded or written, a backend whose package is missing, that cannot
        use the launched processes or the suite's settings here; one line naming what and how to fix it."""
        if self.package and importlib.util.find_spec(self.package) is None:
            raise BackendError(f"--backend {self.name} needs the Python package {self.package!r}, which is not "
                               f"installed: {self.install}")
        if ranks.distributed and not self.serves_ranks:
            raise BackendError(f"--backend {self.name} does not run under a launcher with {ranks.world} processes: "
                               f"start one process (it spreads over GPUs itself) or use --backend hf")
        if self.check_config is not None:
            self.check_config(config)


BACKENDS = Registry("evaluation backend", "divlab.eval_backends", "backend", builtin={
    "hf": "divlab.evalsuite.backends.hf:BACKEND",
    "vllm": "divlab.evalsuite.backends.vllm:BACKEND",
}, check=lambda value: isinstance(value, Backend))


def get_backend(name: str) -> Backend:
    return BACKENDS.get(name)
