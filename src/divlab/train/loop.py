"""The training loop: AdamW with warm-up and a linear (or other) schedule, loss on answers only,
length-bucketed batches, periodic atomic checkpoints and exact resumption.

Interrupting (Ctrl-C, SIGTERM) saves a checkpoint at the end of the current step; SIGKILL loses at most
`checkpoint_seconds` of work. Running the same command again resumes from the last checkpoint (model,
optimizer, scheduler, RNG state and the position in the epoch's batch list) and reaches the same weights as
an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

import divlab
from divlab.data import read_manifest
from divlab.hf import quiet_transformers
from divlab.machine import available_cores
from divlab.models.gpt import build_model, non_embedding_parameters
from divlab.models.tokenizer import CharTokenizer
from divlab.seeding import stream_entropy
from divlab.train.batching import collate, epoch_batches, tokenize_split
from divlab.train.checkpoint import find_checkpoint, load_state, save_checkpoint, save_model_dir
from divlab.train.config import TrainConfig

RUN_CONFIG = "run_config.json"
METRICS = "metrics.jsonl"


class RunDirError(RuntimeError):
    pass


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RunDirError("device=cuda was requested but no CUDA device is available")
    return torch.device(requested)


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
    train = {k: v for k, v in run_config["train"].items() if k not in TrainConfig.RESUMABLE_DIFFERENCES}
    return {"train": train, "dataset": run_config["dataset"]["files_sha256"]}


def prepare_run_dir(run_dir: Path, run_config: dict) -> bool:
    """Create the run dir or check it holds this very run; True when there is something to resume."""
    path = run_dir / RUN_CONFIG
    if path.is_file():
        existing = json.loads(path.read_text())
        if _comparable(existing) != _comparable(run_config):
            differences = sorted(
                k for k in set(existing["train"]) | set(run_config["train"])
                if existing["train"].get(k) != run_config["train"].get(k) and k not in TrainConfig.RESUMABLE_DIFFERENCES
            )
            if existing["dataset"]["files_sha256"] != run_config["dataset"]["files_sha256"]:
                differences.append("dataset")
            raise RunDirError(
                f"{run_dir} holds a different run (differs in: {', '.join(differences)}); use another --out or delete it"
            )
        return True
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunDirError(f"{run_dir} exists and is not a divlab run directory; refusing to write into it")
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(run_config, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return False


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


def train(dataset_dir, run_dir, config: TrainConfig, *, progress: bool = True, stop_after_steps: int = 0) -> dict:
    """Train (or resume) a model; returns a summary. `stop_after_steps` (tests) interrupts like SIGTERM."""
    quiet_transformers()
    dataset_dir, run_dir = Path(dataset_dir), Path(run_dir)
    identity = dataset_identity(dataset_dir)
    tokenizer = CharTokenizer(identity["alphabet"])
    threads = set_threads(config.threads)
    device = pick_device(config.device)

    data = tokenize_split(dataset_dir, "train", tokenizer)
    longest = int(data.lengths.max())
    context = config.model.n_positions or int(math.ceil(longest / 8) * 8)
    if context < longest:
        raise RunDirError(f"n_positions={context} is shorter than the longest training example ({longest} tokens)")

    run_config = {
        "divlab_version": divlab.__version__,
        "train": config.to_dict(),
        "context": context,
        "dataset": identity,
    }
    resuming = prepare_run_dir(run_dir, run_config)
    if (run_dir / "model" / "config.json").is_file() and (run_dir / "summary.json").is_file():
        return json.loads((run_dir / "summary.json").read_text())

    batches_per_epoch = len(epoch_batches(data, config.batch_size, config.batch_tokens, config.seed, 0))
    total_steps = config.max_steps or max(1, int(round(config.epochs * batches_per_epoch)))
    warmup = config.warmup_steps if config.warmup_steps >= 0 else int(0.02 * total_steps)

    torch.manual_seed(stream_entropy(config.seed, "init") % (2**63))
    special = {"bos": tokenizer.bos_id, "eos": tokenizer.eos_id, "pad": tokenizer.pad_id}
    model = build_model(config.model, tokenizer.vocab_size, context, special)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=config.betas, fused=device.type == "cuda",
    )
    from transformers import get_scheduler

    scheduler = get_scheduler(config.schedule, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)
    step, epoch, batch_in_epoch, tokens_seen, padded_tokens, elapsed = 0, 0, 0, 0, 0, 0.0

    checkpoint_dir = run_dir / "checkpoint"
    found = find_checkpoint(checkpoint_dir) if resuming else None
    if found is not None:
        state = load_state(found)
        from safetensors.torch import load_file

        missing, unexpected = model.load_state_dict(load_file(found / "model.safetensors"), strict=False)
        if unexpected or set(missing) - {"lm_head.weight"}:  # the head is tied to the embeddings
            raise RunDirError(f"checkpoint {found} does not match the model: missing {missing}, unexpected {unexpected}")
        model.tie_weights()
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if state.get("rng_cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        tokens_seen, padded_tokens, elapsed = state["tokens_seen"], state["padded_tokens"], state["elapsed"]
    model.to(device)
    if found is not None:  # optimizer state must follow the parameters' device
        optimizer.load_state_dict(optimizer.state_dict())
    forward = torch.compile(model) if config.compile else model
    autocast = autocast_for(device, config.dtype)

    def save(reason: str) -> None:
        state = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
            "step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
            "tokens_seen": tokens_seen, "padded_tokens": padded_tokens, "elapsed": elapsed + (time.perf_counter() - started), "reason": reason,
        }
        save_checkpoint(checkpoint_dir, model, tokenizer, state)

    metrics = open(run_dir / METRICS, "a", encoding="utf-8")
    started = time.perf_counter()
    last_save = started
    window_tokens, window_start = 0, started
    loss_value = float("nan")
    model.train()
    bar = tqdm(total=total_steps, initial=step, desc=f"train {run_dir.name}", unit="step", disable=not progress, dynamic_ncols=True)
    interrupted = None
    with _StopRequest() as stop:
        batches = epoch_batches(data, config.batch_size, config.batch_tokens, config.seed, epoch)
        while step < total_steps:
            if batch_in_epoch >= len(batches):
                epoch, batch_in_epoch = epoch + 1, 0
                batches = epoch_batches(data, config.batch_size, config.batch_tokens, config.seed, epoch)
            input_ids, labels = collate(data, batches[batch_in_epoch], tokenizer.pad_id)
            input_ids, labels = input_ids.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with autocast():
                loss = forward(input_ids=input_ids, labels=labels).loss
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            batch_in_epoch += 1
            real_tokens = int(data.lengths[batches[batch_in_epoch - 1]].sum())  # padding excluded
            tokens_seen += real_tokens
            padded_tokens += int(input_ids.numel())
            window_tokens += real_tokens
            bar.update(1)
            if step % config.log_every == 0 or step == total_steps:
                loss_value = float(loss.detach())
                now = time.perf_counter()
                rate = window_tokens / max(now - window_start, 1e-9)
                window_tokens, window_start = 0, now
                record = {"step": step, "epoch": epoch, "loss": loss_value, "lr": scheduler.get_last_lr()[0],
                          "tokens_per_s": rate, "tokens_seen": tokens_seen, "elapsed_s": elapsed + now - started}
                metrics.write(json.dumps(record) + "\n")
                metrics.flush()
                bar.set_postfix(loss=f"{loss_value:.4f}", tok_s=f"{rate:,.0f}")
            if stop_after_steps and step >= stop_after_steps and step < total_steps:
                stop.signal = signal.SIGTERM
            if stop.signal is not None:
                save("interrupted")
                interrupted = stop.signal
                break
            if time.perf_counter() - last_save >= config.checkpoint_seconds and step < total_steps:
                save("periodic")
                last_save = time.perf_counter()
    bar.close()
    metrics.close()
    if interrupted is not None:
        raise KeyboardInterrupt(f"training interrupted at step {step}/{total_steps}; run the same command to resume")

    total_elapsed = elapsed + time.perf_counter() - started
    save_model_dir(model, tokenizer, run_dir / "model")
    summary = {
        "steps": step,
        "epochs": step / batches_per_epoch,
        "tokens_seen": tokens_seen,
        "padding_fraction": 1 - tokens_seen / max(padded_tokens, 1),
        "final_loss": loss_value,
        "elapsed_s": total_elapsed,
        "tokens_per_s": tokens_seen / max(total_elapsed, 1e-9),
        "parameters": sum(p.numel() for p in model.parameters()),
        "non_embedding_parameters": non_embedding_parameters(model),
        "context": context,
        "threads": threads,
        "device": str(device),
    }
    tmp = run_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, run_dir / "summary.json")
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return summary


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
