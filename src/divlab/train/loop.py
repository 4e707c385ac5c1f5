"""The training loop: AdamW with warm-up and a linear (or other) schedule, loss on answers only,
length-bucketed batches, periodic atomic checkpoints and exact resumption.

Interrupting (Ctrl-C, SIGTERM) saves a checkpoint at the end of the current step; SIGKILL loses at most
`checkpoint_seconds` of work. Running the same command again resumes from the last checkpoint (model,
optimizer, scheduler, RNG state and the position in the epoch's batch list) and reaches the same weights as
an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

import divlab
from divlab.atomic import atomic_write_json, atomic_write_text
from divlab.data import read_manifest
from divlab.device import resolve_device
from divlab.errors import RunDirError
from divlab.hf import quiet_transformers
from divlab.machine import available_cores
from divlab.models.gpt import build_model, non_embedding_parameters
from divlab.models.tokenizer import CharTokenizer
from divlab.seeding import stream_entropy
from divlab.train.batching import collate, epoch_batches, tokenize_split
from divlab.train.checkpoint import find_checkpoint, load_state, save_checkpoint, save_model_dir
from divlab.train.config import TrainConfig
from divlab.rundir import claim_run_dir

RUN_CONFIG = "run_config.json"
METRICS = "metrics.jsonl"


def autocast_for(device: torch.device, dtype: str):
    use_bf16 = dtype == "bf16" or (dtype == "auto" and device.type == "cuda")
    if use_bf16:
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def set_threads(threads: int) -> int:
    if threads <= 0:
        threads = available_cores()
    torch.set_num_threads(threads)
    return threads


def dataset_identity(dataset_dir: Path) -> dict:
    manifest = read_manifest(dataset_dir)
    if manifest.get("task") != "rewrite":
        raise RunDirError(f"{dataset_dir}: the trainer reads rewrite datasets, this one is task {manifest.get('task')!r}")
    digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()
    return {"path": str(Path(dataset_dir).resolve()), "files_sha256": digest, "alphabet": manifest["config"]["alphabet"]}


def _comparable(run_config: dict) -> dict:
    """What must match for a run directory to be resumed: the training settings (but those that do not
    change the result) and the dataset's content."""
    train = {k: v for k, v in run_config["train"].items() if k not in TrainConfig.RESUMABLE_DIFFERENCES}
    return {"train": train, "dataset": run_config["dataset"]["files_sha256"]}


def prepare_run_dir(run_dir: Path, run_config: dict) -> bool:
    """Create the run dir or check it holds this very run; True when there is something to resume."""
    return claim_run_dir(run_dir, RUN_CONFIG, run_config, "run", compare=_comparable)


class _StopRequest:
    """Turns SIGINT/SIGTERM into a flag checked between steps, so a checkpoint can be written first."""

    def __init__(self):
        self.signal: int | None = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. inside a worker): keep the default handlers
                pass
        return self

    def _handle(self, signum, frame):
        if self.signal is not None:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@dataclass
class TrainState:
    """Where a run stands: everything a checkpoint restores besides the weights, optimizer and RNG."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    tokens_seen: int = 0  # real tokens, padding excluded
    padded_tokens: int = 0
    elapsed: float = 0.0  # seconds of training before this process started


@dataclass
class _Run:
    """The objects one training process works with."""

    config: TrainConfig
    run_dir: Path
    tokenizer: CharTokenizer
    data: object  # a tokenized split (train.batching)
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    total_steps: int
    state: TrainState
    started: float = 0.0  # perf_counter when this process began training

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoint"

    def elapsed(self) -> float:
        return self.state.elapsed + time.perf_counter() - self.started


def _build(config: TrainConfig, tokenizer: CharTokenizer, context: int, device: torch.device, total_steps: int):
    """Model (seeded from the config), AdamW without decay on biases and norms, and the schedule."""
    from transformers import get_scheduler

    torch.manual_seed(stream_entropy(config.seed, "init") % (2**63))
    special = {"bos": tokenizer.bos_id, "eos": tokenizer.eos_id, "pad": tokenizer.pad_id}
    model = build_model(config.model, tokenizer.vocab_size, context, special)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=config.betas, fused=device.type == "cuda",
    )
    warmup = config.warmup_steps if config.warmup_steps >= 0 else int(0.02 * total_steps)
    scheduler = get_scheduler(config.schedule, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)
    return model, optimizer, scheduler


def _restore(run: _Run) -> bool:
    """Load the newest checkpoint into the run (weights, optimizer, schedule, RNG, position); False if none."""
    found = find_checkpoint(run.checkpoint_dir)
    if found is None:
        return False
    from safetensors.torch import load_file

    saved = load_state(found)
    missing, unexpected = run.model.load_state_dict(load_file(found / "model.safetensors"), strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:  # the head is tied to the embeddings
        raise RunDirError(f"checkpoint {found} does not match the model: missing {missing}, unexpected {unexpected}")
    run.model.tie_weights()
    run.optimizer.load_state_dict(saved["optimizer"])
    run.scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng_cpu"])
    if saved.get("rng_cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["rng_cuda"])
    run.state = TrainState(**{k: saved[k] for k in TrainState.__dataclass_fields__})
    return True


def _save(run: _Run, reason: str) -> None:
    state = {
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if run.device.type == "cuda" else None,
        **dataclasses.asdict(run.state), "elapsed": run.elapsed(), "reason": reason,
    }
    save_checkpoint(run.checkpoint_dir, run.model, run.tokenizer, state)


def _step(run: _Run, forward, autocast, batch) -> torch.Tensor:
    """One optimizer step on one batch (indices into the split); returns the loss (not synchronized)."""
    input_ids, labels = collate(run.data, batch, run.tokenizer.pad_id)
    input_ids, labels = input_ids.to(run.device, non_blocking=True), labels.to(run.device, non_blocking=True)
    with autocast():
        loss = forward(input_ids=input_ids, labels=labels).loss
    loss.backward()
    if run.config.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    state = run.state
    state.step += 1
    state.batch_in_epoch += 1
    state.tokens_seen += int(run.data.lengths[batch].sum())
    state.padded_tokens += int(input_ids.numel())
    return loss


class _MetricsLog:
    """metrics.jsonl: one row every `log_every` steps. On resume, rows past the checkpoint's step (written
    after it, then lost to the interruption) are dropped, so each step appears once."""

    def __init__(self, path: Path, resume_step: int):
        if path.is_file():
            kept = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                    if line.endswith("\n") and json.loads(line)["step"] <= resume_step]
            atomic_write_text(path, "".join(kept))
        self.handle = open(path, "a", encoding="utf-8")
        self.window_tokens, self.window_start = 0, time.perf_counter()

    def count(self, tokens: int) -> None:
        self.window_tokens += tokens

    def write(self, run: _Run, loss: float) -> float:
        now = time.perf_counter()
        rate = self.window_tokens / max(now - self.window_start, 1e-9)
        self.window_tokens, self.window_start = 0, now
        state = run.state
        record = {"step": state.step, "epoch": state.epoch, "loss": loss, "lr": run.scheduler.get_last_lr()[0],
                  "tokens_per_s": rate, "tokens_seen": state.tokens_seen, "elapsed_s": run.elapsed()}
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()
        return rate

    def close(self) -> None:
        self.handle.close()


def _finish(run: _Run, batches_per_epoch: int, final_loss: float, threads: int) -> dict:
    """The final model directory and summary.json (written last: a run is finished when it exists)."""
    save_model_dir(run.model, run.tokenizer, run.run_dir / "model")
    state, total_elapsed = run.state, run.elapsed()
    summary = {
        "steps": state.step,
        "epochs": state.step / batches_per_epoch,
        "tokens_seen": state.tokens_seen,
        "padding_fraction": 1 - state.tokens_seen / max(state.padded_tokens, 1),
        "final_loss": final_loss,
        "elapsed_s": total_elapsed,
        "tokens_per_s": state.tokens_seen / max(total_elapsed, 1e-9),
        "parameters": sum(p.numel() for p in run.model.parameters()),
        "non_embedding_parameters": non_embedding_parameters(run.model),
        "context": run.model.config.n_positions,
        "threads": threads,
        "device": str(run.device),
    }
    atomic_write_json(run.run_dir / "summary.json", summary, sort_keys=False)
    shutil.rmtree(run.checkpoint_dir, ignore_errors=True)
    return summary


def train(dataset_dir, run_dir, config: TrainConfig, *, progress: bool = True, stop_after_steps: int = 0) -> dict:
    """Train (or resume) a model; returns a summary. `stop_after_steps` (tests) interrupts like SIGTERM."""
    quiet_transformers()
    dataset_dir, run_dir = Path(dataset_dir), Path(run_dir)
    identity = dataset_identity(dataset_dir)
    tokenizer = CharTokenizer(identity["alphabet"])
    threads = set_threads(config.threads)
    device = torch.device(resolve_device(config.device))

    data = tokenize_split(dataset_dir, "train", tokenizer)
    longest = int(data.lengths.max())
    context = config.model.n_positions or int(math.ceil(longest / 8) * 8)
    if context < longest:
        raise RunDirError(f"n_positions={context} is shorter than the longest training example ({longest} tokens)")

    run_config = {"divlab_version": divlab.__version__, "train": config.to_dict(), "context": context,
                  "dataset": identity}
    resuming = prepare_run_dir(run_dir, run_config)
    if (run_dir / "model" / "config.json").is_file() and (run_dir / "summary.json").is_file():
        return json.loads((run_dir / "summary.json").read_text())

    batches_per_epoch = len(epoch_batches(data, config.batch_size, config.batch_tokens, config.seed, 0))
    total_steps = config.max_steps or max(1, int(round(config.epochs * batches_per_epoch)))
    model, optimizer, scheduler = _build(config, tokenizer, context, device, total_steps)
    run = _Run(config, run_dir, tokenizer, data, device, model, optimizer, scheduler, total_steps, TrainState())
    restored = resuming and _restore(run)
    model.to(device)
    if restored:  # optimizer state must follow the parameters' device
        optimizer.load_state_dict(optimizer.state_dict())
    forward = torch.compile(model) if config.compile else model
    autocast = autocast_for(device, config.dtype)

    state = run.state
    metrics = _MetricsLog(run_dir / METRICS, state.step)
    run.started = last_save = time.perf_counter()
    loss_value = float("nan")
    model.train()
    bar = tqdm(total=total_steps, initial=state.step, desc=f"train {run_dir.name}", unit="step", disable=not progress,
               dynamic_ncols=True)
    interrupted = None
    with _StopRequest() as stop:
        batches = epoch_batches(data, config.batch_size, config.batch_tokens, config.seed, state.epoch)
        while state.step < total_steps:
            if state.batch_in_epoch >= len(batches):
                state.epoch, state.batch_in_epoch = state.epoch + 1, 0
                batches = epoch_batches(data, config.batch_size, config.batch_tokens, config.seed, state.epoch)
            tokens_before = state.tokens_seen
            loss = _step(run, forward, autocast, batches[state.batch_in_epoch])
            metrics.count(state.tokens_seen - tokens_before)
            bar.update(1)
            if state.step % config.log_every == 0 or state.step == total_steps:
                loss_value = float(loss.detach())
                rate = metrics.write(run, loss_value)
                bar.set_postfix(loss=f"{loss_value:.4f}", tok_s=f"{rate:,.0f}")
            if stop_after_steps and stop_after_steps <= state.step < total_steps:
                stop.signal = signal.SIGTERM
            if stop.signal is not None:
                _save(run, "interrupted")
                interrupted = stop.signal
                break
            if time.perf_counter() - last_save >= config.checkpoint_seconds and state.step < total_steps:
                _save(run, "periodic")
                last_save = time.perf_counter()
    bar.close()
    metrics.close()
    if interrupted is not None:
        raise KeyboardInterrupt(f"training interrupted at step {state.step}/{total_steps}; run the same command to resume")
    return _finish(run, batches_per_epoch, loss_value, threads)


def load_trained(run_or_model_dir) -> tuple:
    """(model, tokenizer) from a run dir (its final model, else its last checkpoint) or a model dir."""
    from transformers import GPT2LMHeadModel

    quiet_transformers()
    path = Path(run_or_model_dir)
    for candidate in (path / "model", path, path / "checkpoint"):
        if (candidate / "config.json").is_file() and (candidate / "divlab_tokenizer.json").is_file():
            model = GPT2LMHeadModel.from_pretrained(candidate, attn_implementation="sdpa")
            return model, CharTokenizer.load(candidate)
    raise RunDirError(f"no trained model in {path} (expected {path}/model with config.json and divlab_tokenizer.json)")
