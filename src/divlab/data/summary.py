"""A short human-readable summary of a dataset manifest."""

from __future__ import annotations


def summarize_manifest(manifest: dict) -> str:
    config = manifest["config"]
    lines = [
        f"task {manifest['task']}  seed {manifest['seed']}  divlab {manifest['divlab_version']}",
        f"alphabet {config['alphabet']!r}  |x| {config['x_len']}  |y| {config['y_len']}  |z| {config['z_len']}",
    ]
    for name, split in manifest["splits"].items():
        lines.append(
            f"{name:>10}: {split['rows']:>9,} examples over {split['rules']:>7,} rules  "
            f"has-op {split['has_op']:,}  no-op {split['no_op']:,}  file {split['file']}"
        )
    histogram = manifest["examples_per_rule"]["train"]
    counts = sorted(int(k) for k in histogram)
    if counts:
        lines.append(f"examples per training rule: min {counts[0]}, max {counts[-1]}, {len(counts)} distinct values")
    return "\n".join(lines)
