"""Plain-text rendering of evaluation results and decoded samples."""

from __future__ import annotations

import numpy as np


def _pct(value) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_metrics(results: dict) -> str:
    names = {"test": "unseen rules", "test_seen": "seen rules (control)"}
    lines = []
    for split, r in results.items():
        lines.append(
            f"{names.get(split, split):>22}: exact match {_pct(r['accuracy'])}  has-op {_pct(r['has_op_accuracy'])}  "
            f"no-op {_pct(r['no_op_accuracy'])}  ({r['examples']:,} examples, {r['per_rule']['rules']:,} rules)"
        )
        for key in (k for k in r if k.startswith("by_")):
            shown = "  ".join(f"{k}:{_pct(v).strip()}" for k, v in r[key].items())
            lines.append(f"{key.replace('_', ' '):>22}: {shown}")
        q = r["per_rule"]["quantiles"]
        if q:
            lines.append(
                f"{'per-rule accuracy':>22}: min {_pct(q['0.0'])} p25 {_pct(q['0.25'])} median {_pct(q['0.5'])} "
                f"p75 {_pct(q['0.75'])} max {_pct(q['1.0'])}; {r['per_rule']['fully_correct_rules']} rules fully correct"
            )
    return "\n".join(lines)


def print_samples(run_dir, dataset_dir, count: int, split_name: str = "test") -> None:
    from divlab.evaluate.greedy import greedy_decode
    from divlab.train.batching import tokenize_split
    from divlab.train.loop import load_trained

    model, tokenizer = load_trained(run_dir)
    split = tokenize_split(dataset_dir, split_name, tokenizer, keep_rows=True, limit=count)
    outputs = greedy_decode(model, tokenizer, split, np.arange(len(split)))
    for row, ids in zip(split.rows, outputs):
        answer = tokenizer.decode(ids)
        mark = "ok " if answer == row["target"] and ids and ids[-1] == tokenizer.eos_id else "ERR"
        print(f"{mark} rule {row['x']} -> {row['y']}  input {row['z']}\n    want {row['target']}\n    got  {answer}")
