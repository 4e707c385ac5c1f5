"""Small glue around lm-evaluation-harness's outputs: its logging, and its per-example records written as
JSON lines (prompt, reply, filtered answer, target, metrics) for inspection."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path


@functools.lru_cache(maxsize=1)
def task_manager():
    """An lm-eval TaskManager that indexes nothing: divlab hands lm-eval whole task configs (from lm-eval's own
    YAMLs, loaded by path), and indexing lm-eval's thousands of YAMLs costs ~5-10 s per evaluation."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_defaults=False)


def quiet_lm_eval() -> None:
    """lm-eval logs every task's configuration at INFO; keep warnings only."""
    for name in ("lm-eval", "lm_eval", "lm_eval.api", "lm_eval.evaluator", "lm_eval.tasks", "lm_eval.models"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _plain(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def write_samples(output: dict, path: Path) -> None:
    from divlab.atomic import atomic_write_text

    lines = []
    for task, samples in (output.get("samples") or {}).items():
        for sample in samples:
            arguments = sample.get("arguments") or []
            prompt = arguments[0][0] if arguments and isinstance(arguments[0], (list, tuple)) else None
            row = {"task": task, "doc_id": sample.get("doc_id"), "prompt": _plain(prompt),
                   "reply": _plain(sample.get("resps")), "answer": _plain(sample.get("filtered_resps")),
                   "target": _plain(sample.get("target")), "filter": sample.get("filter")}
            row.update({k: _plain(sample[k]) for k in sample if k not in row and k not in
                        ("doc", "arguments", "resps", "filtered_resps", "doc_hash", "prompt_hash", "target_hash")})
            lines.append(json.dumps(row))
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
