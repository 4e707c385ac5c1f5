"""Dataset directories: written into a hidden sibling, renamed into place only when complete.

A directory counts as a dataset only when its manifest exists; the manifest is written last and the whole
directory appears with one rename, so an interrupted generation (even SIGKILL) never leaves something that
looks complete. Leftover partial directories of dead processes are removed on the next write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterator
from divlab.atomic import replace_dir
from divlab.data.card import write_dataset_card
from divlab.errors import DataError
from divlab.rundir import check_identity

DATASET_FORMAT = "divlab-dataset"
DATASET_FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class DatasetDirError(DataError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(out_dir: Path) -> None:
    for candidate in out_dir.parent.glob(f".{out_dir.name}.partial-*"):
        try:
            pid = int(candidate.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(candidate, ignore_errors=True)


def write_manifest(directory: Path, manifest: dict) -> None:
    with open(directory / MANIFEST, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_dataset_dir(out_dir: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces `out_dir`, on any error it is removed.

    The caller writes its files and, last, the manifest. An existing `out_dir` is only replaced when
    `overwrite` is set, and only after the new one is complete.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise DatasetDirError(f"{out_dir} already exists; pass overwrite (--force) to replace it")
    if out_dir.exists():
        ensure_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(out_dir)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        yield partial
        if not (partial / MANIFEST).is_file():
            raise DatasetDirError("internal error: the writer finished without a manifest")
        if out_dir.exists() and not overwrite:
            # Another process completed the same directory meanwhile: theirs stands, ours is dropped.
            raise DatasetDirError(f"{out_dir} was created by another process while this one was writing")
        write_dataset_card(partial)  # README.md with HF's YAML header, from the manifest just written
        replace_dir(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def ensure_replaceable(out_dir: Path) -> None:
    """--force replaces only what divlab wrote: a dataset or mixture directory (its manifest says so) or an
    empty directory. Anything else is the user's, and is refused with its path."""
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        return
    try:
        is_dataset = out_dir.is_dir() and json.loads((out_dir / MANIFEST).read_text(encoding="utf-8")).get(
            "format", "").startswith("divlab-")
    except (OSError, ValueError, AttributeError):
        is_dataset = False
    if not is_dataset:
        raise DatasetDirError(f"refusing to replace {out_dir}: divlab did not write it (no divlab {MANIFEST}); "
                              f"remove it yourself or choose another --out")


def read_manifest(directory: str | Path) -> dict:
    """The manifest of a complete dataset directory, or a DatasetDirError naming what is wrong."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetDirError(f"dataset directory not found: {directory}")
    path = directory / MANIFEST
    if not path.is_file():
        raise DatasetDirError(f"{directory} is not a complete divlab dataset (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetDirError(f"{path} is not valid JSON: {error}") from None
    if manifest.get("format") != DATASET_FORMAT:
        raise DatasetDirError(f"{directory} is not a divlab dataset (format={manifest.get('format')!r})")
    version = manifest.get("format_version")
    if version != DATASET_FORMAT_VERSION:
        raise DatasetDirError(
            f"{directory} has dataset format version {version!r}; this divlab reads version {DATASET_FORMAT_VERSION}"
        )
    for name in manifest.get("files", {}):
        if not (directory / name).is_file():
            raise DatasetDirError(f"{directory} is incomplete: {name} listed in the manifest is missing")
    return manifest


def checksum_of(entry) -> str:
    """The sha256 of a manifest's file entry: {"sha256": ..., "bytes": ...}; E6 datasets and mixtures written
    before divlab.data.writer held the bare hash."""
    return entry if isinstance(entry, str) else entry["sha256"]


def verify_checksums(directory: str | Path) -> dict[str, bool]:
    """File name -> whether its sha256 matches the manifest, for a task dataset or a mixture directory."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if not str(manifest.get("format", "")).startswith("divlab-") or manifest.get("format") == DATASET_FORMAT:
        manifest = read_manifest(directory)  # a task dataset, checked in full (or the error naming what is wrong)
    return {name: (directory / name).is_file() and sha256_file(directory / name) == checksum_of(entry)
            for name, entry in manifest.get("files", {}).items()}


def existing_dataset(out_dir: Path, task: str, config: dict, overwrite: bool) -> dict | None:
    """The manifest of `out_dir` when it already holds this very dataset (reused as it is); None when the
    directory is free or `overwrite` is set; a RunDirError naming the differences when it holds another."""
    if not out_dir.exists() or overwrite:
        return None
    try:
        existing = read_manifest(out_dir)
    except DatasetDirError:
        existing = None
    recorded = None if existing is None else {"task": existing.get("task"), "config": existing.get("config")}
    check_identity(out_dir, recorded, {"task": task, "config": config}, "dataset", hint="pass --force to replace it")
    return existing
