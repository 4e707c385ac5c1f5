"""Writing a file so that readers see the old content or the new, never a part: write a sibling, then
rename it over the target (a rename within one directory is atomic on POSIX file systems)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes, *, durable: bool = False) -> Path:
    """Replace `path` with `data` in one step; `durable` also flushes it to disk before the rename."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, *, durable: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def atomic_write_json(path: str | Path, value, *, durable: bool = False, sort_keys: bool = True) -> Path:
    return atomic_write_text(path, json.dumps(value, indent=2, sort_keys=sort_keys) + "\n", durable=durable)


def replace_dir(new: Path, target: Path, retired: Path | None = None) -> Path:
    """Put the finished directory `new` at `target`. An existing `target` is first renamed to `retired` and
    removed after, so a kill at any moment leaves the old directory or the new one (the old possibly under
    `retired`, where a reader that knows the name can still find it)."""
    retired = retired or target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
    os.replace(new, target)
    shutil.rmtree(retired, ignore_errors=True)
    return target
