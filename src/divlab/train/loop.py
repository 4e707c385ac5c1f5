"""The training loop: AdamW with warm-up and a linear (or other) schedule, loss on answers only,
length-bucketed batches, learning curves, periodic atomic checkpoints and exact resumption.

One process trains a *group* of M >= 1 models of one shape as one stacked model (divlab.models.stacked):
`train()` is a group of one; `train_group()` trains cells of a grid that differ only by their data and seed.
Each member keeps everything a model trained alone has (its seed's initialisation and batch order, its own
gradient clipping, its own run directory with metrics.jsonl, model/ and summary.json), so a member reaches
the weights it reaches alone. A member whose loss stops being finite is marked failed; the others go on.

Interrupting (Ctrl-C, SIGTERM) saves a checkpoint at the end of the current step; SIGKILL loses at most
`checkpoint_seconds` of work. Running the same command again resumes from the last checkpoint (weights,
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import divlab
from divlab.atomic import atomic_write_json
from divlab.data import read_manifest
from divlab.device import resolve_device
from divlab.errors import ConfigError, DivlabError, RunDirError
from divlab.hf import quiet_transformers
from divlab.machine import available_cores
from divlab.models.stacked import StackedGPT, export_member
from divlab.models.tokenizer import CharTokenizer
from divlab.rundir import claim_run_dir
from divlab.seeding import stream_entropy
from divlab.train.batching import collate_stacked, epoch_batches, tokenize_split
from divlab.train.checkpoint import find_checkpoint, load_member_weights, load_state, member_dir, save_checkpoint
from divlab.train.config import TrainConfig
from divlab.train.curves import MetricsLog, eval_splits, learning_curve_point

RUN_CONFIG = "run_config.json"
GROUP_CONFIG = "group.json"


class TrainingFailed(DivlabError):
    """A run that cannot go on (its loss is no longer finite)."""


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
    from divlab.tasks import find_task, get_task, task_names

    manifest = read_manifest(dataset_dir)
    name = manifest.get("task")
    task = find_task(name)
    if task is None or not task.character_rows:  # the task says its rows' format
        readable = ", ".join(n for n in task_names() if get_task(n).character_rows)
        raise RunDirError(f"{dataset_dir}: the trainer reads datasets of tasks with character rows ({readable}: "
                          f"x, y, z, target over a character alphabet); this one is task {name!r}")
    digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()
    # A task whose config alphabet is only the inputs' letters names the model's symbols as "vocabulary".
    alphabet = manifest.get("vocabulary") or manifest["config"]["alphabet"]
    return {"path": str(Path(dataset_dir).resolve()), "files_sha256": digest, "alphabet": alphabet}


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
    """Where a group stands: everything a checkpoint restores besides the weights, optimizer and RNG."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    elapsed: float = 0.0  # seconds of training before this process started
    # Per member:
    tokens_seen: list = field(default_factory=list)  # real tokens, padding excluded
    padded_tokens: list = field(default_factory=list)
    examples_seen: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # None, or why the member stopped


@dataclass
class Member:
    """One model of a group: its data, run directory and seed."""

    dataset_dir: Path
    run_dir: Path
    config: TrainConfig
    data: object = None  # the tokenized train split
    run_config: dict = field(default_factory=dict)
    finished: bool = False


@dataclass
class _Group:
    """The objects one training process works with."""

    config: TrainConfig  # the members' shared settings (member 0's; seeds may differ)
    members: list[Member]
    group_dir: Path
    tokenizer: CharTokenizer
    device: torch.device
    model: StackedGPT
    optimizer: torch.optim.Optimizer
    scheduler: object
    total_steps: int
    state: TrainState
    started: float = 0.0  # perf_counter when this process began training

    @property
    def checkpoint_dir(self) -> Path:
        return self.group_dir / "checkpoint"

    @property
    def special_ids(self) -> dict:
        t = self.tokenizer
        return {"bos": t.bos_id, "eos": t.eos_id, "pad": t.pad_id}

    def elapsed(self) -> float:
        return self.state.elapsed + time.perf_counter() - self.started

    def alive(self) -> list[int]:
        return [i for i, reason in enumerate(self.state.failed) if reason is None]


def _shared_settings(members: list[Member]) -> TrainConfig:
    """The group's settings: every member's, seeds apart. Anything else differing is refused by name."""
    first = members[0].config.to_dict()
    ignored = {"seed", *TrainConfig.RESUMABLE_DIFFERENCES}
    for member in members[1:]:
        other = member.config.to_dict()
        for key in first:
            if key not in ignored and first[key] != other[key]:
                name = key if key != "model" else "model." + next(k for k in first["model"] if first["model"][k] != other["model"][k])
                raise ConfigError("batch", name, f"the models of one batched group differ in {name}: "
                                  f"{members[0].run_dir.name} and {member.run_dir.name}; only the data and the seed may differ")
    return members[0].config


def _build(config: TrainConfig, members: list[Member], vocab: int, context: int, device: torch.device, total_steps: int):
    """The stacked model (each member initialised from its own seed), AdamW without decay on biases and norms
    (fused kernels on CPU and CUDA: one kernel for all parameters), and the schedule."""
    from transformers import get_scheduler

    model = StackedGPT(config.model, vocab, context, len(members))
    for i, member in enumerate(members):
        model.init_member(i, member.config.seed)
    model.to(device)
    names = model.hf_names()
    decay = [p for n, p in names if model.decays(n)]
    no_decay = [p for n, p in names if not model.decays(n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr, betas=config.betas, fused=device.type in ("cpu", "cuda"),
    )
    warmup = config.warmup_steps if config.warmup_steps >= 0 else int(config.warmup_ratio * total_steps)
    scheduler = get_scheduler(config.schedule, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)
    return model, optimizer, scheduler


def clip_per_member(parameters, max_norm: float, members: int) -> None:
    """Each member's gradient clipped by its own global norm, exactly as `clip_grad_norm_` does for a model
    trained alone (coefficient max_norm / (norm + 1e-6), capped at 1)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if members == 1:
        torch.nn.utils.clip_grad_norm_(parameters, max_norm)
        return
    squares = torch.stack([g.detach().float().pow(2).flatten(1).sum(1) for g in grads]).sum(0)
    coefficient = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coefficient.view(-1, *[1] * (g.dim() - 1)).to(g.dtype))


def _restore(group: _Group) -> bool:
    """Load the newest checkpoint into the group; False if none."""
    found = find_checkpoint(group.checkpoint_dir)
    if found is None:
        return False
    saved = load_state(found)
    if len(saved["state"]["failed"]) != len(group.members):
        raise RunDirError(f"checkpoint {found} holds {len(saved['state']['failed'])} models, this group {len(group.members)}")
    for i in range(len(group.members)):
        load_member_weights(group.model, i, member_dir(found, i, len(group.members)))
    group.optimizer.load_state_dict(saved["optimizer"])
    group.scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng_cpu"])
    if saved.get("rng_cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["rng_cuda"])
    group.state = TrainState(**saved["state"])
    return True


def _save(group: _Group, reason: str) -> None:
    state = {
        "optimizer": group.optimizer.state_dict(),
        "scheduler": group.scheduler.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if group.device.type == "cuda" else None,
        "state": {**dataclasses.asdict(group.state), "elapsed": group.elapsed()},
        "reason": reason,
    }
    save_checkpoint(group.checkpoint_dir, group.model, group.tokenizer, group.special_ids, state)


def _step(group: _Group, forward, autocast, batches: list[np.ndarray]) -> torch.Tensor:
    """One optimizer step, each member on its own batch; returns the per-member losses (not synchronized)."""
    members = group.members
    input_ids, labels = collate_stacked([m.data for m in members], batches, group.tokenizer.pad_id)
    input_ids, labels = input_ids.to(group.device, non_blocking=True), labels.to(group.device, non_blocking=True)
    with autocast():
        losses = forward(input_ids, labels)
    losses.sum().backward()  # members share no weight: each gets the gradient of its own mean loss
    if group.config.grad_clip > 0:
        clip_per_member(list(group.model.parameters()), group.config.grad_clip, len(members))
    group.optimizer.step()
    group.scheduler.step()
    group.optimizer.zero_grad(set_to_none=True)
    state = group.state
    state.step += 1
    state.batch_in_epoch += 1
    width = input_ids.shape[-1]
    for i, (member, batch) in enumerate(zip(members, batches)):
        state.tokens_seen[i] += int(member.data.lengths[batch].sum())
        state.padded_tokens[i] += len(batch) * width
        state.examples_seen[i] += len(batch)
    return losses


def _finish(group: _Group, batches_per_epoch: int, final_losses: list[float], threads: int) -> list[dict]:
    """Each surviving member's model directory and summary.json (written last: a run is finished when it
    exists); the group's checkpoint is removed once every member is written."""
    state, total_elapsed = group.state, group.elapsed()
    outcomes = []
    for i, member in enumerate(group.members):
        if state.failed[i] is not None:
            atomic_write_json(member.run_dir / "failed.json", {"error": state.failed[i], "step": state.step})
            outcomes.append({"ok": False, "error": state.failed[i]})
            continue
        model_dir = member.run_dir / "model"
        shutil.rmtree(model_dir, ignore_errors=True)
        export_member(group.model, i, model_dir, group.special_ids)
        group.tokenizer.save(model_dir)
        summary = {
            "steps": state.step,
            "epochs": state.step / batches_per_epoch,
            "examples_seen": state.examples_seen[i],
            "tokens_seen": state.tokens_seen[i],
            "padding_fraction": 1 - state.tokens_seen[i] / max(state.padded_tokens[i], 1),
            "final_loss": final_losses[i],
            "elapsed_s": total_elapsed,
            "tokens_per_s": state.tokens_seen[i] / max(total_elapsed, 1e-9),
            "group_size": len(group.members),
            "parameters": sum(p[i].numel() for p in group.model.parameters()),
            "non_embedding_parameters": sum(p[i].numel() for n, p in group.model.hf_names() if ".h." in n),
            "context": group.model.n_positions,
            "threads": threads,
            "device": str(group.device),
        }
        atomic_write_json(member.run_dir / "summary.json", summary, sort_keys=False)
        outcomes.append({"ok": True, "summary": summary})
    shutil.rmtree(group.checkpoint_dir, ignore_errors=True)
    return outcomes


def _check_finite(group: _Group, losses: list[float]) -> None:
    for i in group.alive():
        if not math.isfinite(losses[i]):
            group.state.failed[i] = f"the loss became {losses[i]} at step {group.state.step}"


def _group_dir(members: list[Member], group_dir) -> Path:
    if len(members) == 1:
        return members[0].run_dir
    if group_dir is None:
        raise ConfigError("group_dir", None, "a group of several models needs a directory for its checkpoints")
    return Path(group_dir)


def train(dataset_dir, run_dir, config: TrainConfig, *, progress: bool = True, stop_after_steps: int = 0) -> dict:
    """Train (or resume) one model; returns its summary. `stop_after_steps` (tests) interrupts like SIGTERM."""
    outcome = train_group([(dataset_dir, run_dir, config)], progress=progress, stop_after_steps=stop_after_steps)[0]
    if not outcome["ok"]:
        raise TrainingFailed(f"training {run_dir} failed: {outcome['error']}")
    return outcome["summary"]


def _tokenize(members: list, tokenizer: CharTokenizer, config: TrainConfig) -> int:
    """Tokenize every member's training split; the context length of the group (its longest member's)."""
    contexts = []
    for member in members:
        member.data = tokenize_split(member.dataset_dir, "train", tokenizer)
        # The context covers every split, so that test examples longer than any training one (deeper
        # algebra patterns) are scored, not refused; their extra positions are untrained, as a test of length
        # generalization should find.
        longest = max([int(member.data.lengths.max())] + [int(tokenize_split(member.dataset_dir, split, tokenizer).lengths.max())
                       for split, entry in read_manifest(member.dataset_dir)["splits"].items()
                       if split != "train" and entry.get("rows")])
        context = config.model.n_positions or int(math.ceil(longest / 8) * 8)
        if context < longest:
            raise RunDirError(f"n_positions={context} is shorter than the longest example ({longest} tokens)")
        contexts.append(context)
    return max(contexts)


def _plan_steps(members: list, config: TrainConfig) -> tuple[int, int]:
    """(batches per epoch, total steps), equal for every member of a group."""
    counts = [len(epoch_batches(m.data, config.batch_size, config.batch_tokens, m.config.seed, 0)) for m in members]
    if len(set(counts)) > 1:
        raise ConfigError("batch", counts, "the models of one batched group must take the same number of steps per "
                          "epoch (equal training set sizes and batch size)")
    total_steps = config.max_steps or max(1, int(round(config.epochs * counts[0])))
    if config.eval_every > total_steps:
        raise ConfigError("eval_every", config.eval_every, f"is larger than the run ({total_steps} steps)")
    return counts[0], total_steps


def _claim_run_dirs(members: list, identities: list, context: int, group_dir: Path) -> list[dict] | None:
    """Create or check every member's run dir (and the group's); the members' outcomes when all are finished."""
    for member, identity in zip(members, identities):
        member.run_config = {"divlab_version": divlab.__version__, "train": member.config.to_dict(),
                             "context": context, "dataset": identity}  # the group's: its longest member's
        prepare_run_dir(member.run_dir, member.run_config)
        (member.run_dir / "failed.json").unlink(missing_ok=True)  # an earlier attempt's failure, tried again now
        member.finished = (member.run_dir / "model" / "config.json").is_file() and (member.run_dir / "summary.json").is_file()
    if all(m.finished for m in members):
        return [{"ok": True, "summary": json.loads((m.run_dir / "summary.json").read_text())} for m in members]
    if any(m.finished for m in members):
        raise RunDirError(f"some runs of group {group_dir} are finished and some not: train the others as their own group")
    if len(members) > 1:
        claim_run_dir(group_dir, GROUP_CONFIG, {"divlab_version": divlab.__version__,
                                                "members": [str(m.run_dir.resolve()) for m in members],
                                                "train": [m.run_config for m in members]}, "group")
    return None


def train_group(runs, group_dir=None, *, progress: bool = True, stop_after_steps: int = 0) -> list[dict]:
    """Train (or resume) several models of one shape together: `runs` is [(dataset_dir, run_dir, config)],
    the configs equal but for their seeds. Returns, per run, {"ok": True, "summary": ...} or
    {"ok": False, "error": why}. `group_dir` holds the group's checkpoint (a single run keeps it in its run dir)."""
    quiet_transformers()
    members = [Member(Path(d), Path(r), c) for d, r, c in runs]
    if not members:
        raise ConfigError("runs", runs, "a group needs at least one run")
    config = _shared_settings(members)
    group_dir = _group_dir(members, group_dir)
    identities = [dataset_identity(m.dataset_dir) for m in members]
    if len({i["alphabet"] for i in identities}) > 1:
        raise ConfigError("batch", [i["alphabet"] for i in identities], "the datasets of one group must share an alphabet")
    tokenizer = CharTokenizer(identities[0]["alphabet"])
    threads = set_threads(config.threads)
    device = torch.device(resolve_device(config.device))

    context = _tokenize(members, tokenizer, config)
    batches_per_epoch, total_steps = _plan_steps(members, config)
    # Nothing is written before here: bad input leaves no trace.
    finished = _claim_run_dirs(members, identities, context, group_dir)
    if finished is not None:
        return finished

    model, optimizer, scheduler = _build(config, members, tokenizer.vocab_size, context, device, total_steps)
    blank = TrainState(tokens_seen=[0] * len(members), padded_tokens=[0] * len(members),
                       examples_seen=[0] * len(members), failed=[None] * len(members))
    group = _Group(config, members, group_dir, tokenizer, device, model, optimizer, scheduler, total_steps, blank)
    torch.manual_seed(stream_entropy(config.seed, "dropout") % (2**63))  # dropout, when p > 0; a resume restores it
    if _restore(group):
        optimizer.load_state_dict(optimizer.state_dict())  # optimizer state follows the parameters' device
    forward = torch.compile(model) if config.compile else model
    autocast = autocast_for(device, config.dtype)
    evaluation = eval_splits([m.dataset_dir for m in members], tokenizer, config.eval_examples) if config.eval_every else None
    return _loop(group, forward, autocast, batches_per_epoch, threads, evaluation, progress, stop_after_steps)


def _loop(group: _Group, forward, autocast, batches_per_epoch, threads, evaluation, progress, stop_after_steps):
    config, state, members, total_steps = group.config, group.state, group.members, group.total_steps
    logs = [MetricsLog(m.run_dir, state.step, total_steps) for m in members]
    group.started = last_save = time.perf_counter()
    losses = [float("nan")] * len(members)
    group.model.train()
    label = members[0].run_dir.name if len(members) == 1 else f"{group.group_dir.name} ({len(members)} models)"
    bar = tqdm(total=total_steps, initial=state.step, desc=f"train {label}", unit="step", disable=not progress,
               dynamic_ncols=True)
    interrupted = None

    def epoch_plans(epoch):
        return [epoch_batches(m.data, config.batch_size, config.batch_tokens, m.config.seed, epoch) for m in members]

    with _StopRequest() as stop:
        plans = epoch_plans(state.epoch)
        window_start, window_tokens = time.perf_counter(), 0
        while state.step < total_steps and group.alive():
            if state.batch_in_epoch >= batches_per_epoch:
                state.epoch, state.batch_in_epoch = state.epoch + 1, 0
                plans = epoch_plans(state.epoch)
            before = sum(state.tokens_seen)
            step_losses = _step(group, forward, autocast, [plan[state.batch_in_epoch] for plan in plans])
            window_tokens += sum(state.tokens_seen) - before
            bar.update(1)
            last = state.step == total_steps
            rows: dict[int, dict] = {}
            if state.step % config.log_every == 0 or last:
                losses = [float(v) for v in step_losses.detach().float().cpu().tolist()]
                _check_finite(group, losses)
                now = time.perf_counter()
                rate, window_start, window_tokens = window_tokens / max(now - window_start, 1e-9), now, 0
                lr = group.scheduler.get_last_lr()[0]
                rows = {i: {"loss": losses[i], "lr": lr, "tokens_per_s": rate / len(members)} for i in group.alive()}
                bar.set_postfix(loss=f"{np.nanmean(losses):.4f}", tok_s=f"{rate:,.0f}")
            if evaluation is not None and (state.step % config.eval_every == 0 or last):
                for i, point in learning_curve_point(group.model, evaluation, group.tokenizer.pad_id, group.alive()).items():
                    rows.setdefault(i, {}).update(point)
                group.model.train()
            for i, row in rows.items():
                logs[i].write(group, i, row)
            if stop_after_steps and stop_after_steps <= state.step < total_steps:
                stop.signal = signal.SIGTERM
            if stop.signal is not None:
                _save(group, "interrupted")
                interrupted = stop.signal
                break
            if time.perf_counter() - last_save >= config.checkpoint_seconds and state.step < total_steps:
                _save(group, "periodic")
                last_save = time.perf_counter()
    bar.close()
    for log in logs:
        log.close()
    if interrupted is not None:
        raise KeyboardInterrupt(f"training interrupted at step {state.step}/{total_steps}; run the same command to resume")
    return _finish(group, batches_per_epoch, losses, threads)


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
