"""One check for every directory divlab writes into (training runs, fine-tuning runs, generated samples,
datasets, sweeps): a directory records what it holds, and a command that would put something else there
is refused with the differences named, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from divlab.atomic import atomic_write_json
from divlab.errors import RunDirError, UsageError


def read_directory_manifest(directory, name: str, missing: str) -> dict:
    """DIRECTORY/NAME, the JSON file that says what a directory of results is (a gallery, a scale ladder);
    a one-line UsageError ending in `missing` where there is none."""
    path = Path(directory) / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{directory} is not {missing} (no {name})") from None


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between two JSON-like values, with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    if json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True):
        return []
    return [f"{prefix.rstrip('.') or 'value'}: {old!r} -> {new!r}"]


def check_identity(run_dir: Path, recorded: dict | None, identity: dict, what: str,
                   hint: str = "use another --out or delete it") -> bool:
    """True when `run_dir` already holds this very `what` (`recorded` equals `identity`: resume or reuse it);
    False when the directory is free (missing or empty); RunDirError when it holds anything else."""
    run_dir = Path(run_dir)
    if recorded is not None:
        changed = differences(recorded, identity)
        if changed:
            raise RunDirError(f"{run_dir} holds a different {what} (differs in: {'; '.join(changed)}); {hint}")
        return True
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise RunDirError(f"{run_dir} exists and is not a divlab {what} directory; refusing to write into it")
    return False


def read_identity(run_dir: Path, identity_file: str) -> dict | None:
    path = Path(run_dir) / identity_file
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunDirError(f"{path} is damaged ({error}); delete the directory or use another --out") from None


def claim_run_dir(run_dir: str | Path, identity_file: str, identity: dict, what: str,
                  compare: Callable[[dict], dict] = lambda record: record) -> bool:
    """Create `run_dir` recording `identity` in `identity_file`, or check that it already records the same
    (`compare` picks what must match). True when there is something to resume."""
    run_dir = Path(run_dir)
    recorded = read_identity(run_dir, identity_file)
    if check_identity(run_dir, None if recorded is None else compare(recorded), compare(identity), what):
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / identity_file, identity)
    return False


# A running training job's step, loss and ETA: the trainer writes it into its run directory, a sweep's live
# display reads it.
PROGRESS_FILE = "progress.json"
