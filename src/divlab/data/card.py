"""The dataset card: README.md with Hugging Face's YAML header, so that a dataset directory travels on its own
(`datasets.load_dataset(DIR)` reads its splits by the card; the Hub shows the card).

Written from the manifest alone, when a dataset directory is finalised (`atomic_dataset_dir`): the same
manifest gives the same bytes (no time, no path), so byte-identical regeneration still holds. The card is not
listed in the manifest's checksums: it is derived from the manifest, which is.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from divlab.atomic import atomic_write_text

CARD = "README.md"
# divlab's synthetic tasks are produced by its own (Apache-2.0) code from a seed; a mixture holds other
# people's examples, so their licences apply and the card says "other" and lists the sources.
SYNTHETIC_LICENSE = "apache-2.0"
DATA_SUFFIXES = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}


# Task name -> its one-line description. Filled by divlab.tasks.registry when it loads (tasks sit above data in
# divlab.layers, so the card cannot look tasks up itself); every task dataset is generated through that registry.
_task_describer: list = []


def describe_tasks_with(describe) -> None:
    """Register `describe(task_name) -> str`, the tasks layer's own description of a task."""
    _task_describer[:] = [describe]


def _description(manifest: dict) -> str:
    task = manifest.get("task")
    if task:
        try:
            return f"divlab task `{task}`: {_task_describer[0](task)}."
        except Exception:  # noqa: BLE001 - no registry loaded, or a plug-in task gone missing: still a card
            return f"divlab task `{task}`."
    if manifest.get("format") == "divlab-mixture":
        counts = ", ".join(f"{name} {count}" for name, count in manifest.get("counts", {}).items())
        return f"Instruction mixture from divlab recipe `{manifest.get('recipe')}` at exact counts ({counts})."
    return f"divlab dataset ({manifest.get('format')})."


def _splits(manifest: dict) -> dict[str, str]:
    """Split name -> file. From the manifest's `splits` where it has them; otherwise every listed data file,
    named by its stem (a mixture's train.jsonl)."""
    if manifest.get("splits"):
        return {name: entry["file"] for name, entry in manifest["splits"].items()
                if Path(entry.get("file", "")).suffix in DATA_SUFFIXES}
    return {Path(name).stem: name for name in sorted(manifest.get("files", {}))
            if Path(name).suffix in DATA_SUFFIXES}


def card_metadata(manifest: dict) -> dict:
    """The YAML header: configs (data files per split; the rule tables as a second config), licence and
    divlab's own facts (version, task, the generating config)."""
    configs = [{"config_name": "default", "default": True,
                "data_files": [{"split": s, "path": f} for s, f in _splits(manifest).items()]}]
    rules = {s: e["file"] for s, e in (manifest.get("rules") or {}).items() if isinstance(e, dict) and e.get("file")}
    if rules:
        configs.append({"config_name": "rules", "data_files": [{"split": s, "path": f} for s, f in rules.items()]})
    mixture = manifest.get("format") == "divlab-mixture"
    meta = {
        "license": "other" if mixture else SYNTHETIC_LICENSE,
        "task_categories": ["text-generation"],
        "tags": ["divlab", "synthetic" if not mixture else "instruction-mixture"],
        "configs": configs,
        "divlab": {"version": manifest.get("divlab_version"), "format": manifest.get("format"),
                   "task": manifest.get("task"), "seed": manifest.get("seed")},
    }
    if mixture:
        meta["license_details"] = "each example keeps the licence of its source; see the sources below"
        meta["divlab"]["recipe"] = manifest.get("recipe")
        meta["divlab"]["sources"] = manifest.get("sources")
        meta["divlab"]["counts"] = manifest.get("counts")
    else:
        meta["divlab"]["config"] = manifest.get("config")
    return meta


def render_card(manifest: dict) -> str:
    meta = card_metadata(manifest)
    header = yaml.safe_dump(meta, sort_keys=True, allow_unicode=True, default_flow_style=False, width=120)
    rows = {name: (manifest.get("splits") or {}).get(name, {}).get("rows") for name in _splits(manifest)}
    table = "\n".join(f"| {name} | `{file}` | {rows[name] if rows[name] is not None else ''} |"
                      for name, file in _splits(manifest).items())
    generating = meta["divlab"].get("config") or {k: meta["divlab"].get(k) for k in ("recipe", "counts")}
    body = (
        f"# {manifest.get('task') or manifest.get('recipe') or 'divlab dataset'}\n\n"
        f"{_description(manifest)}\n\n"
        f"Written by divlab {manifest.get('divlab_version')}; `manifest.json` holds the checksum of every file.\n\n"
        "| split | file | rows |\n|---|---|---|\n" + table + "\n\n"
        "```python\nimport datasets\nsplits = datasets.load_dataset(\"path/to/this/directory\")\n```\n\n"
        "## Generating configuration\n\n```json\n" + json.dumps(generating, indent=2, sort_keys=True) + "\n```\n"
    )
    return f"---\n{header}---\n\n{body}"


def write_dataset_card(directory: str | Path, manifest: dict | None = None) -> Path:
    """Write DIRECTORY/README.md from its manifest (read from the directory when not given)."""
    directory = Path(directory)
    if manifest is None:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    path = directory / CARD
    atomic_write_text(path, render_card(manifest))
    return path
