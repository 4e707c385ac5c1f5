"""Local data files by name. Recipes, presets and benchmarks name their files relative to a data directory
(`code_alpaca/code_alpaca_2k.json.gz`), which the user gives with `divlab --data-dir DIR` or the
`DIVLAB_DATA` environment variable; a path that exists as given is used as it is. So shipped presets hold no
path into any particular checkout, and an installed divlab says exactly which file it is missing."""

from __future__ import annotations

import os
from pathlib import Path

from divlab.errors import DataError

DATA_ENV = "DIVLAB_DATA"


def data_dir() -> Path | None:
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None


def locate(name: str | Path) -> Path | None:
    """`name` itself when it exists, else `name` inside the data directory when it is there, else None."""
    path = Path(name).expanduser()
    if path.exists():
        return path
    root = data_dir()
    if root is not None and not path.is_absolute() and (root / path).exists():
        return root / path
    return None


def require(name: str | Path, what: str) -> Path:
    """`locate(name)`, or a DataError that names the file and how to provide it."""
    found = locate(name)
    if found is not None:
        return found
    root = data_dir()
    where = f"in the data directory {root}" if root else f"(no data directory: {DATA_ENV} is not set)"
    raise DataError(f"{what}: {name} not found, neither as given nor {where}; give its path, or point "
                    f"--data-dir or {DATA_ENV} at a directory holding {name}")
