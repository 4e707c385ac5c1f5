"""A suite: which benchmarks, on how many problems, with which decoding. Suites are TOML presets
(`presets/suites/`) or a file of one's own; `--set` overrides a field."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from divlab.errors import ConfigError


@dataclass(frozen=True)
class SuiteConfig:
    name: str = "generalist"
    description: str = ""
    benchmarks: tuple[str, ...] = ("humaneval", "mbpp", "gsm8k", "math", "theoremqa", "mmlu", "ifeval", "bbh")
    # benchmarks of the full suite this one leaves out, with the reason (said in scores.json and on screen)
    omitted: dict[str, str] = field(default_factory=dict)
    limit: int = 0  # first N examples of each lm-eval task (BBH: of each of its 27) and of each code benchmark; 0: all
    limits: dict[str, int] = field(default_factory=dict)  # benchmark -> its own limit
    # benchmark -> the subtasks to run (BBH's task names, MATH's subjects); others run whole
    subtasks: dict[str, list[str]] = field(default_factory=dict)
    max_gen_toks: int = 0  # cap on generated tokens for every generative task; 0: each task's own
    batch_size: int = 8
    chat: str = "auto"  # auto: the chat template when the tokenizer has one
    data: dict[str, str] = field(default_factory=dict)  # benchmark -> local file (else its file in the data dir)
    seed: int = 0
    device: str = "auto"
    backend: str = "hf"  # how lm-eval asks the model: hf, vllm (evalsuite.backends)
    tensor_parallel: int = 1  # vllm: GPUs per model copy (the visible GPUs hold copies side by side)

    def __post_init__(self):
        from divlab.evalsuite.benchmark import BENCHMARKS
        from divlab.registry import is_reference

        # A benchmark of one's own given as "module:attr" is known by its name from here on (its results
        # directory, its row in the scores).
        object.__setattr__(self, "benchmarks", tuple(BENCHMARKS.get(n).name if is_reference(n) else n
                                                     for n in self.benchmarks))
        for name in list(self.benchmarks) + list(self.data) + list(self.limits) + list(self.subtasks):
            if name not in BENCHMARKS:
                BENCHMARKS.get(name)  # the registry's one error for an unknown name
        if len(set(self.benchmarks)) != len(self.benchmarks):
            raise ConfigError("benchmarks", list(self.benchmarks), "names a benchmark twice")
        for name in ("limit", "max_gen_toks"):
            if getattr(self, name) < 0:
                raise ConfigError(name, getattr(self, name), "must be >= 0 (0: no limit)")
        for name, value in self.limits.items():
            if not isinstance(value, int) or value < 0:
                raise ConfigError(f"limits.{name}", value, "must be an integer >= 0 (0: no limit)")
        from divlab.evalsuite.backends import BACKENDS

        if self.backend not in BACKENDS:
            BACKENDS.get(self.backend)  # the registry's one error for an unknown name
        if self.tensor_parallel < 1:
            raise ConfigError("tensor_parallel", self.tensor_parallel, "must be >= 1")
        if self.batch_size < 1:
            raise ConfigError("batch_size", self.batch_size, "must be >= 1")
        if self.chat not in ("auto", "true", "false"):
            raise ConfigError("chat", self.chat, "must be auto, true or false")

    @classmethod
    def from_dict(cls, values: dict) -> "SuiteConfig":
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(key, values[key], f"unknown suite field; known: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict:
        return {**asdict(self), "benchmarks": list(self.benchmarks)}

    def limit_of(self, benchmark: str) -> int | None:
        return self.limits.get(benchmark, self.limit) or None

    def identity(self) -> dict:
        """What decides the scores (a rerun into the same directory must match it)."""
        d = self.to_dict()
        for unrelated in ("description", "batch_size", "device", "tensor_parallel"):
            d.pop(unrelated)
        return d


def load_suite(name: str, overrides: dict | None = None) -> SuiteConfig:
    """A shipped suite preset by name, or a `.toml` file, with `overrides` (field -> value) applied."""
    from divlab.preset_files import find_preset

    values, _ = find_preset(("suites",), name, field="suite")
    values = {"name": name.removesuffix(".toml"), **values, **(overrides or {})}
    return SuiteConfig.from_dict(values)
