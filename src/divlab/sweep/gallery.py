"""The results gallery: every synthetic experiment of the paper (E1-E5) swept into one directory, one sweep
per experiment (OUT/e1, OUT/e2, ...), each resumable on its own, and a manifest (OUT/gallery.json) that
says which preset, how many seeds and which command, so that `divlab report OUT` regenerates every page.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Callable

from divlab.atomic import atomic_write_json
from divlab.rundir import read_directory_manifest
from divlab.errors import ConfigError, UsageError

# The paper's synthetic findings, in the paper's order; E6 (a pretrained LLM) is not a from-scratch experiment.
GALLERY = ("e1", "e2", "e3", "e4", "e5")
MANIFEST = "gallery.json"


def is_gallery(out) -> bool:
    return (Path(out) / MANIFEST).is_file()


def read_manifest(out) -> dict:
    return read_directory_manifest(out, MANIFEST, "a results gallery; make one with `divlab reproduce all`")


def gallery_command(preset: str, seeds: int | None, out, experiments, overrides: dict | None) -> str:
    """The command line that (re)produces this gallery, as its pages print it."""
    words = ["divlab", "reproduce", "all", "--preset", preset]
    if seeds:
        words += ["--seeds", str(seeds)]
    if tuple(experiments) != GALLERY:
        words += ["--only", ",".join(experiments)]
    for key, value in (overrides or {}).items():
        words += ["--set", f"{key}={json.dumps(value)}"]
    return shlex.join(words + ["--out", str(out)])


def select(only: str | None) -> tuple[str, ...]:
    """The gallery's experiments, or the comma-separated subset `only` names (in gallery order)."""
    if not only:
        return GALLERY
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in GALLERY]
    if unknown or not wanted:
        raise ConfigError("--only", only, f"names experiments of the gallery: {', '.join(GALLERY)}")
    return tuple(name for name in GALLERY if name in wanted)


def run_gallery(preset: str, out, *, seeds: int | None = None, only: str | None = None, overrides: dict | None = None,
                after_each: Callable[[Path], object] | None = None, **sweep_options) -> dict[str, dict]:
    """Sweep each experiment into OUT/<name> in turn (finished cells are kept: run it again to resume), and call
    `after_each(OUT)` as each sweep ends (the CLI writes the pages there). Returns each experiment's counts."""
    from divlab.experiments.spec import load_experiment
    from divlab.sweep.runner import run_sweep

    experiments = select(only)
    for name in experiments:  # every preset and override is checked before the first cell runs
        load_experiment(name, preset, seeds, overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(out) if is_gallery(out) else {}
    if previous and (previous.get("preset"), previous.get("overrides", {})) != (preset, dict(overrides or {})):
        raise UsageError(f"{out} holds a gallery of preset {previous.get('preset')!r} with overrides "
                         f"{previous.get('overrides', {})}; choose another --out for preset {preset!r} with {dict(overrides or {})}")
    listed = list(dict.fromkeys([*previous.get("experiments", []), *experiments]))
    atomic_write_json(out / MANIFEST, {
        "preset": preset, "seeds": seeds or previous.get("seeds"), "experiments": [n for n in GALLERY if n in listed],
        "overrides": dict(overrides or {}), "out": str(out),
        "command": gallery_command(preset, seeds or previous.get("seeds"), out, [n for n in GALLERY if n in listed],
                                   overrides)}, sort_keys=False)
    counts = {}
    for name in experiments:
        counts[name] = run_sweep(name, preset, out / name, seeds=seeds, overrides=overrides, **sweep_options)
        if after_each is not None:
            after_each(out)
    return counts
