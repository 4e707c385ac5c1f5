"""Accuracy breakdowns: overall, has-op / no-op, by each field the task names (occurrence count, program
steps), and per-rule accuracy spread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from divlab.evaluate.exact_match import teacher_forced_correct
from divlab.train.batching import TokenizedSplit, tokenize_split
from divlab.atomic import atomic_write_json


def _rate(mask: np.ndarray, correct: np.ndarray) -> float | None:
    return float(correct[mask].mean()) if mask.any() else None


def breakdown(split: TokenizedSplit, correct: np.ndarray) -> dict:
    per_rule = {}
    for rule in np.unique(split.rule_ids):
        per_rule[int(rule)] = float(correct[split.rule_ids == rule].mean())
    rule_values = np.array(list(per_rule.values())) if per_rule else np.zeros(0)
    return {
        "examples": int(len(correct)),
        "accuracy": float(correct.mean()) if len(correct) else None,
        "has_op_accuracy": _rate(split.has_op, correct),
        "no_op_accuracy": _rate(~split.has_op, correct),
        **{f"by_{name}": {str(int(k)): _rate(values == k, correct) for k in np.unique(values)}
           for name, values in split.breakdowns.items()},
        "per_rule": {
            "rules": len(per_rule),
            "mean": float(rule_values.mean()) if len(rule_values) else None,
            "quantiles": {q: float(np.quantile(rule_values, float(q))) for q in ("0.0", "0.1", "0.25", "0.5", "0.75", "0.9", "1.0")} if len(rule_values) else {},
            "histogram": np.histogram(rule_values, bins=10, range=(0, 1))[0].tolist(),
            "fully_correct_rules": int((rule_values == 1.0).sum()),
        },
    }


def evaluate_run(run_dir, dataset_dir, splits=("test", "test_seen"), batch_tokens: int = 16384, limit: int = 0, progress: bool = True, write: bool = True) -> dict:
    """Exact-match metrics of a trained run on the dataset's unseen-rule and seen-rule test splits."""
    from divlab.train.loop import load_trained

    model, tokenizer = load_trained(run_dir)
    results = {}
    for split_name in splits:
        split = tokenize_split(dataset_dir, split_name, tokenizer, limit=limit)
        longest = int(split.lengths.max()) if len(split) else 0
        if longest > model.config.n_positions:
            from divlab.train.loop import RunDirError

            raise RunDirError(f"{split_name} has examples of {longest} tokens; the model's context is {model.config.n_positions}")
        with tqdm(total=len(split), desc=f"eval {split_name}", unit="ex", disable=not progress, dynamic_ncols=True) as bar:
            correct = teacher_forced_correct(model, split, tokenizer.pad_id, batch_tokens=batch_tokens, progress=bar)
        results[split_name] = breakdown(split, correct)
    if write:
        path = Path(run_dir) / "eval.json"
        if path.parent.is_dir():
            atomic_write_json(path, {"dataset": str(dataset_dir), "results": results}, sort_keys=False)
    return results
