"""A short human-readable summary of a dataset manifest, whatever its task."""

from __future__ import annotations

def summarize_manifest(manifest: dict, shape_fields: tuple[str, ...] = ()) -> str:
    """`shape_fields`: the config fields that say what the task's examples look like (its TaskSpec's
    `summary_fields`), in the order people read them."""
    config = manifest["config"]
    shape = [f"{name} {config[name]!r}" for name in shape_fields if config.get(name) is not None]
    lines = [f"task {manifest['task']}  seed {manifest['seed']}  divlab {manifest['divlab_version']}"]
    if shape:
        lines.append("  ".join(shape))
    for name, split in manifest["splits"].items():
        lines.append(
            f"{name:>10}: {split['rows']:>9,} examples over {split['rules']:>7,} rules  "
            f"has-op {split['has_op']:,}  no-op {split['no_op']:,}  file {split['file']}"
        )
    histogram = manifest.get("examples_per_rule", {}).get("train", {})
    counts = sorted(int(k) for k in histogram)
    if counts:
        lines.append(f"examples per training rule: min {counts[0]}, max {counts[-1]}, {len(counts)} distinct values")
    if manifest.get("dropped"):
        lines.append("dropped: " + ", ".join(f"{k} {v:,}" for k, v in manifest["dropped"].items()))
    return "\n".join(lines)
