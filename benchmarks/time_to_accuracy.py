"""Time to result at the E1 `cpu` miniature: tokens/s of the training path against the one that shipped before
issue 12 and against transformers' Trainer, and examples and wall time to 0.9 unseen-rule exact match at E1
cpu's largest instruction count, the current recipe against the one that shipped before.

    python benchmarks/time_to_accuracy.py [--throughput-steps 150] [--skip-curves]

Part 1 (1 thread, one process at a time, after a warm-up): tokens/s at the cell's exact shape (2x64x4,
25-token sequences, batch 256) for
  - divlab now: the stacked compact GPT-2 (divlab.models.stacked) and its loop;
  - the path that shipped before: transformers' GPT2LMHeadModel fed by divlab's earlier loop (re-created below:
    per-row collate, unfused AdamW, loss from the model's labels);
  - transformers' Trainer + GPT2LMHeadModel + a padding collator (benchmarks/train_throughput.py);
and the share of the fp32 matmul peak measured in the same run; then the paper's shape (6x256x4), divlab now
against the path before, which must not be slower.

Part 2 (two processes, one thread each, side by side): the current recipe (E1 cpu preset) trained with
divlab until its schedule ends, scored every 50 steps; beside it, for the same wall time, the earlier recipe
(studies/sample-efficiency/before-issue-12.toml) on the earlier path. The earlier recipe does not reach 0.9
within that time, so its examples-to-0.9 is read from the learning curve of its full-length run in the
committed study database (studies/sample-efficiency/results/round1, the "baseline" cell), and converted to wall time with the earlier
path's examples/s measured in part 1. The printout says which figures are measured now and which are read.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from train_throughput import flops_per_token, matmul_peak, run_hf_trainer  # noqa: E402

from divlab.experiments.spec import load_experiment  # noqa: E402
from divlab.hf import quiet_transformers  # noqa: E402
from divlab.models.gpt import ModelConfig, build_model  # noqa: E402
from divlab.models.tokenizer import CharTokenizer  # noqa: E402
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite  # noqa: E402
from divlab.train import TrainConfig, train  # noqa: E402
from divlab.train.batching import IGNORE, epoch_batches, tokenize_split  # noqa: E402
from divlab.train.curves import examples_to, learning_curve  # noqa: E402

BEFORE = HERE.parent / "studies" / "sample-efficiency" / "before-issue-12.toml"
BEFORE_RUNS = HERE.parent / "studies" / "sample-efficiency" / "results" / "round1" / "results.sqlite"
BEFORE_POINT = {"variant": "baseline"}  # round 1 ran the earlier recipe unchanged as its baseline
LEVEL = 0.9


def largest_cell(preset: str) -> dict:
    cells = load_experiment("e1", preset).cells()
    return max(cells, key=lambda c: c.config["dataset"]["num_train_rules"]).config


def train_config(cell: dict, **changes) -> TrainConfig:
    values = {**cell["train"], "model": ModelConfig(**cell["model"]), "threads": 1, "checkpoint_seconds": 1e9,
              "eval_every": 0}  # throughput runs score nothing; the curve runs ask for their points
    values.update(changes)
    return TrainConfig.from_dict(values)


# ---- the path that shipped before issue 12 -----------------------------------------------------------------

def _old_collate(split, indices, pad_id):
    """The earlier per-row collate."""
    lengths = split.lengths[indices]
    width = int(lengths.max())
    ids = np.full((len(indices), width), pad_id, dtype=np.int64)
    labels = np.full((len(indices), width), IGNORE, dtype=np.int64)
    for row, i in enumerate(indices.tolist()):
        sequence = split.ids[split.offsets[i] : split.offsets[i + 1]]
        ids[row, : len(sequence)] = sequence
        start = int(split.answer_starts[i])
        labels[row, start : len(sequence)] = sequence[start:]
    return torch.from_numpy(ids), torch.from_numpy(labels)


def old_path(dataset_dir: Path, config: TrainConfig, *, max_steps: int = 0, seconds: float = 0.0,
             eval_every: int = 0, skip_first_step: bool = True) -> dict:
    """GPT2LMHeadModel + the earlier loop (AdamW without fused kernels on CPU, clip_grad_norm_, the
    scheduler): tokens/s, and with `eval_every` a learning curve [examples, unseen accuracy, seconds]."""
    from transformers import get_scheduler

    from divlab.evaluate.exact_match import teacher_forced_correct

    quiet_transformers()
    torch.set_num_threads(config.threads)
    tokenizer = CharTokenizer(json.loads((dataset_dir / "manifest.json").read_text())["config"]["alphabet"])
    data = tokenize_split(dataset_dir, "train", tokenizer)
    unseen = tokenize_split(dataset_dir, "test", tokenizer, limit=config.eval_examples) if eval_every else None
    context = int(np.ceil(data.lengths.max() / 8) * 8)
    torch.manual_seed(config.seed)
    model = build_model(config.model, tokenizer.vocab_size, context, {"bos": tokenizer.bos_id, "eos": tokenizer.eos_id,
                                                                       "pad": tokenizer.pad_id})
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=config.betas)
    batches_per_epoch = len(epoch_batches(data, config.batch_size, 0, config.seed, 0))
    total = config.max_steps or int(round(config.epochs * batches_per_epoch))
    scheduler = get_scheduler(config.schedule, optimizer, num_warmup_steps=int(config.warmup_ratio * total), num_training_steps=total)
    model.train()
    step, epoch, tokens, examples, timed_examples, curve = 0, 0, 0, 0, 0, []
    plan = epoch_batches(data, config.batch_size, 0, config.seed, 0)
    started = None
    while step < total and (not max_steps or step < max_steps):
        if (step == 1 and skip_first_step) or (started is None and not skip_first_step):
            started, tokens, timed_examples = time.perf_counter(), 0, 0  # the first step (allocation) is not timed
        if step and step % batches_per_epoch == 0:
            epoch += 1
            plan = epoch_batches(data, config.batch_size, 0, config.seed, epoch)
        batch = plan[step % batches_per_epoch]
        ids, labels = _old_collate(data, batch, tokenizer.pad_id)
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        tokens += int(data.lengths[batch].sum())
        examples += len(batch)
        timed_examples += len(batch)
        if eval_every and step % eval_every == 0:
            accuracy = float(teacher_forced_correct(model, unseen, tokenizer.pad_id).mean())
            model.train()
            curve.append([examples, accuracy, time.perf_counter() - started])
        if seconds and started is not None and time.perf_counter() - started >= seconds:
            break
    elapsed = time.perf_counter() - started
    return {"tokens_per_s": tokens / elapsed, "examples_per_s": timed_examples / elapsed, "curve": curve,
            "steps": step, "examples": examples}


def _old_path_worker(args):
    dataset_dir, config, seconds = args
    return old_path(Path(dataset_dir), config, seconds=seconds, eval_every=50, skip_first_step=False)


def _new_recipe_worker(args):
    dataset_dir, run_dir, config = args
    torch.set_num_threads(1)
    summary = train(dataset_dir, run_dir, config, progress=False)
    return summary, learning_curve(run_dir)


# ---- the figures -------------------------------------------------------------------------------------------

def throughput(tmp: Path, dataset_dir: Path, cell: dict, steps: int, peak: float) -> dict:
    config = train_config(cell, max_steps=steps, log_every=10**6)
    train(dataset_dir, tmp / "warm", train_config(cell, max_steps=3), progress=False)
    summary = train(dataset_dir, tmp / "new", config, progress=False)
    new = summary["tokens_seen"] / summary["elapsed_s"]
    old = old_path(dataset_dir, config, max_steps=steps)
    run_hf_trainer(dataset_dir, config.model, summary["context"], 2, config.batch_size, 1, tmp / "hf-warm")
    seconds, real_tokens = run_hf_trainer(dataset_dir, config.model, summary["context"], steps, config.batch_size, 1, tmp / "hf")
    hf = real_tokens / seconds
    mean_length = summary["tokens_seen"] / summary["examples_seen"]
    flops = flops_per_token(config.model, 17, mean_length)
    print(f"Throughput at the E1 cpu cell's shape ({config.model.n_layer}x{config.model.n_embd}x{config.model.n_head}, "
          f"{mean_length:.0f}-token sequences, batch {config.batch_size}, 1 thread, {steps} steps):")
    print(f"  divlab now          {new:>9,.0f} tok/s = {100 * new * flops / peak:.0f} % of the matmul peak")
    print(f"  path before         {old['tokens_per_s']:>9,.0f} tok/s = {100 * old['tokens_per_s'] * flops / peak:.0f} % "
          f"(GPT2LMHeadModel + the earlier loop)")
    print(f"  HF Trainer          {hf:>9,.0f} tok/s = {100 * hf * flops / peak:.0f} %")
    print(f"  ratios: divlab / path before = {new / old['tokens_per_s']:.2f}x, divlab / HF Trainer = {new / hf:.2f}x")
    return {"new": new, "old": old["tokens_per_s"], "hf": hf, "mean_length": mean_length}


def paper_shape(tmp: Path, steps: int) -> None:
    """The paper's shape (6x256x4, E1-paper strings of ~75-135 tokens, batch 32) must not get slower."""
    data = tmp / "paper-data"
    generate_rewrite(RewriteConfig(num_train_rules=500, budget=2000, num_test_rules=10, num_test_examples=10,
                                   num_seen_test_examples=10), data, progress=False)
    config = TrainConfig(model=ModelConfig.from_preset("paper"), batch_size=32, max_steps=steps, threads=1,
                         checkpoint_seconds=1e9, log_every=10**6)
    train(data, tmp / "paper-warm", TrainConfig(**{**config.__dict__, "max_steps": 2}), progress=False)
    summary = train(data, tmp / "paper-new", config, progress=False)
    new = summary["tokens_seen"] / summary["elapsed_s"]
    old = old_path(data, config, max_steps=steps + 1)["tokens_per_s"]
    print(f"\nPaper shape (6x256x4, batch 32, ~{summary['tokens_seen'] / summary['examples_seen']:.0f}-token sequences, "
          f"1 thread, {steps} steps): divlab now {new:,.0f} tok/s, path before {old:,.0f} tok/s: {new / old:.2f}x")


def before_recipe_examples_to_level() -> tuple[list, str]:
    """Examples to LEVEL of each full-length run of the earlier recipe, from the committed study database."""
    if not BEFORE_RUNS.is_file():
        return [], f"(no study database at {BEFORE_RUNS})"
    with sqlite3.connect(BEFORE_RUNS) as db:
        rows = [json.loads(r) for p, r in db.execute("select point, result from cells where status = 'done'")
                if json.loads(p) == BEFORE_POINT]
    reached = [examples_to(r["curve"], LEVEL) for r in rows]
    final = [r["unseen"]["accuracy"] for r in rows]
    return reached, (f"{len(rows)} full-length run(s) of the earlier recipe, final unseen accuracy "
                     f"{', '.join(f'{a:.3f}' for a in final)}")


def time_to_accuracy(tmp: Path, dataset_dir: Path, speeds: dict) -> None:
    cell = largest_cell("cpu")
    before = load_experiment("e1", str(BEFORE))
    before_cell = max(before.cells(), key=lambda c: c.config["dataset"]["num_train_rules"]).config
    if before_cell["dataset"] != cell["dataset"]:
        print("  note: the earlier recipe's dataset differs from the current preset's; both read from their presets")
    new_config = train_config(cell, eval_every=50, log_every=50)
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(2) as pool:
        new_job = pool.apply_async(_new_recipe_worker, ((dataset_dir, tmp / "recipe-new", new_config),))
        # The earlier recipe on the earlier path, for as long as the new recipe's whole run may take.
        budget = 1.2 * new_config.epochs * 40000 / max(speeds["new"] / speeds["mean_length"], 1)
        old_job = pool.apply_async(_old_path_worker, ((dataset_dir, train_config(before_cell), budget),))
        summary, curve = new_job.get()
        old = old_job.get()
    wall = time.perf_counter() - started
    points = [[row["examples_seen"], row["unseen_accuracy"], row["elapsed_s"]] for row in curve]
    first = next((p for p in points if p[1] >= LEVEL), None)
    print(f"\nTime to {LEVEL} unseen-rule exact match at I = {cell['dataset']['num_train_rules']:,} "
          f"(two processes side by side, 1 thread each; {wall:.0f} s):")
    if first:
        print(f"  current recipe (E1 cpu preset), measured: {first[0]:,} examples, {first[2]:.0f} s "
              f"(its whole run: {summary['examples_seen']:,} examples, {summary['elapsed_s']:.0f} s, final unseen {points[-1][1]:.3f})")
    else:
        print(f"  current recipe (E1 cpu preset), measured: did not reach {LEVEL} (final {points[-1][1]:.3f})")
    same_time = [p for p in old["curve"] if first and p[2] <= first[2]]
    print(f"  earlier recipe on the earlier path, measured for the same wall time: unseen "
          f"{same_time[-1][1] if same_time else 0:.3f} after {same_time[-1][0] if same_time else 0:,} examples "
          f"(at {old['examples']:,} examples when stopped: {old['curve'][-1][1] if old['curve'] else 0:.3f})")
    reached, description = before_recipe_examples_to_level()
    old_examples_per_s = speeds["old"] / speeds["mean_length"]
    print(f"  earlier recipe, read from {BEFORE_RUNS.relative_to(HERE.parent)}: {description}")
    if reached:
        hits = [r for r in reached if r is not None]
        shown = ", ".join(f"{r:,}" if r is not None else "not reached" for r in reached)
        print(f"    examples to {LEVEL}: {shown}")
        bound = np.mean(hits) if len(hits) == len(reached) else None
        examples = bound if bound is not None else max(r if r is not None else 40000 * 14 for r in reached)
        if bound is None:
            print(f"    a run that never reached {LEVEL} counts as its whole 560k examples: the figures below for the "
                  "earlier recipe are lower bounds")
        word = "" if bound is not None else ">= "
        seconds = examples / old_examples_per_s
        print(f"    -> {word}{examples:,.0f} examples = {word}{seconds:.0f} s at the earlier path's measured "
              f"{old_examples_per_s:,.0f} examples/s (1 thread, alone)")
        if first:
            new_seconds = first[0] / (speeds["new"] / speeds["mean_length"])
            print(f"  current recipe at divlab's measured {speeds['new'] / speeds['mean_length']:,.0f} examples/s "
                  f"(1 thread, alone): {new_seconds:.0f} s to {LEVEL}")
            print(f"  ratio: {word}{examples / first[0]:.2f}x fewer examples, {word}{seconds / new_seconds:.2f}x "
                  f"shorter time to {LEVEL}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--throughput-steps", type=int, default=150)
    parser.add_argument("--paper-steps", type=int, default=8)
    parser.add_argument("--skip-curves", action="store_true")
    args = parser.parse_args()
    quiet_transformers()
    started = time.perf_counter()
    peak = matmul_peak(1)
    print(f"fp32 matmul peak, 1 thread: {peak / 1e9:.1f} GFLOP/s")
    tmp = Path(tempfile.mkdtemp(prefix="divlab-tta-"))
    try:
        cell = largest_cell("cpu")
        dataset_dir = tmp / "data"
        generate_rewrite(RewriteConfig.from_dict(cell["dataset"]), dataset_dir, progress=False)
        speeds = throughput(tmp, dataset_dir, cell, args.throughput_steps, peak)
        paper_shape(tmp, args.paper_steps)
        if not args.skip_curves:
            time_to_accuracy(tmp, dataset_dir, speeds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nbenchmark wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
