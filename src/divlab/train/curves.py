"""What a run logs while it trains: metrics.jsonl (loss, rate and learning-curve points), progress.json
(read by a sweep's live display), and the learning curve itself: exact match on a fixed subsample of the
unseen-rule and seen-rule test splits, teacher-forced (greedy exact match in one forward pass, see
divlab.evaluate.exact_match), every `eval_every` steps and at the end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from divlab.atomic import atomic_write_json, atomic_write_text
from divlab.models.tokenizer import CharTokenizer
from divlab.rundir import PROGRESS_FILE as PROGRESS
from divlab.tracking import log_training
from divlab.train.batching import IGNORE, TokenizedSplit, collate_stacked, tokenize_split

METRICS = "metrics.jsonl"
CURVE_SPLITS = {"unseen_accuracy": "test", "seen_accuracy": "test_seen"}
EVAL_ROWS = 512


def truncate_metrics(path: Path, step: int) -> None:
    """Keep the rows of a metrics log up to `step` (the checkpoint a run resumes from): what was logged
    after it is logged again, so each step appears once. A line cut off by the interruption goes too."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.endswith("\n") and json.loads(line).get("step", 0) <= step]
    atomic_write_text(path, "".join(kept))


class MetricsLog:
    """metrics.jsonl: one row per logged step. On resume, rows past the checkpoint's step (written after it,
    then lost to the interruption) are dropped, so each step appears once."""

    def __init__(self, run_dir: Path, resume_step: int, total_steps: int):
        self.run_dir, self.total_steps = run_dir, total_steps
        path = run_dir / METRICS
        truncate_metrics(path, resume_step)
        self.handle = open(path, "a", encoding="utf-8")
        self.last_loss = None

    def write(self, group, member: int, values: dict) -> None:
        state = group.state
        elapsed = group.elapsed()
        record = {"step": state.step, "epoch": state.epoch, "examples_seen": state.examples_seen[member],
                  "tokens_seen": state.tokens_seen[member], "elapsed_s": elapsed, **values}
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()
        log_training(record, self.run_dir)  # to TensorBoard / MLflow / W&B when the command reports to them
        self.last_loss = values.get("loss", self.last_loss)
        rate = state.step / max(elapsed, 1e-9)  # over the whole run, resumed parts included
        atomic_write_json(self.run_dir / PROGRESS, {
            "step": state.step, "total_steps": self.total_steps, "loss": self.last_loss, "elapsed_s": elapsed,
            "eta_s": (self.total_steps - state.step) / rate if rate > 0 else None, "updated": time.time()})

    def close(self) -> None:
        self.handle.close()


def read_metrics(run_dir) -> list[dict]:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def learning_curve(run_dir) -> list[dict]:
    """The rows of metrics.jsonl that hold a learning-curve point."""
    return [row for row in read_metrics(run_dir) if "unseen_accuracy" in row]


def examples_to(curve: list[list], level: float, column: int = 1) -> int | None:
    """Examples seen at the first curve point whose accuracy (column 1: unseen, 2: seen) reaches `level`."""
    return next((int(point[0]) for point in curve if point[column] is not None and point[column] >= level), None)


def eval_splits(dataset_dirs: list[Path], tokenizer: CharTokenizer, limit: int) -> list[dict[str, TokenizedSplit]]:
    """Per member, the first `limit` examples of each curve split (the same ones at every point)."""
    return [{name: tokenize_split(d, split, tokenizer, limit=limit) for name, split in CURVE_SPLITS.items()}
            for d in dataset_dirs]


@torch.no_grad()
def stacked_correct(model, splits: list[TokenizedSplit], pad_id: int) -> list[np.ndarray]:
    """Per member, a boolean per example: does greedy decoding reproduce `target <eos>` exactly?"""
    device = next(model.parameters()).device
    model.eval()
    correct = [np.zeros(len(s), dtype=bool) for s in splits]
    longest = max(len(s) for s in splits)
    for start in range(0, longest, EVAL_ROWS):
        batches = [np.arange(start, min(start + EVAL_ROWS, len(s))) for s in splits]
        present = [i for i, b in enumerate(batches) if len(b)]
        ids, labels = collate_stacked([splits[i] for i in present], [batches[i] for i in present], pad_id)
        ids, labels = ids.to(device), labels.to(device)
        if len(present) < model.members:  # members without examples left get rows of padding
            full_ids = torch.full((model.members, *ids.shape[1:]), pad_id, dtype=ids.dtype, device=device)
            full_labels = torch.full_like(full_ids, IGNORE)
            full_ids[present], full_labels[present] = ids, labels
            ids, labels = full_ids, full_labels
        predicted = model.logits(ids)[:, :, :-1].argmax(dim=-1)
        wanted = labels[:, :, 1:]
        ok = ((predicted == wanted) | (wanted == IGNORE)).all(dim=-1).cpu().numpy()
        for i in range(model.members):
            if len(batches[i]):
                correct[i][batches[i]] = ok[i, : len(batches[i])]
    return correct


def learning_curve_point(model, evaluation: list[dict[str, TokenizedSplit]], pad_id: int, alive: list[int]) -> dict[int, dict]:
    """{member: {"unseen_accuracy": ..., "seen_accuracy": ...}} for the members still training."""
    points: dict[int, dict] = {i: {} for i in alive}
    for name in CURVE_SPLITS:
        correct = stacked_correct(model, [member[name] for member in evaluation], pad_id)
        for i in alive:
            points[i][name] = float(correct[i].mean()) if len(correct[i]) else None
    return points
