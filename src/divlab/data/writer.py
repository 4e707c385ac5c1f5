"""The one dataset writer every generator and `divlab mix` use: files streamed into an atomic directory and
hashed as they are written, rule tables, and the manifest (written last) whose `files` entries all have one
shape, {"sha256": ..., "bytes": ...}.

A generator checks its config (and samples what can fail) first, then hands `write_dataset` the manifest's
head and a function that writes through a `DatasetWriter`:

    manifest = new_manifest("mytask", config.to_dict(), config.seed)
    def write(dataset):
        with dataset.split("train.jsonl") as out:
            out.write(b'{"x": ...}\\n')
        dataset.add_split("train", {"file": "train.jsonl", "rows": 1, ...})
    return write_dataset(out_dir, manifest, write, overwrite=overwrite)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator

import divlab
from divlab.data.directory import (DATASET_FORMAT, DATASET_FORMAT_VERSION, DatasetDirError, atomic_dataset_dir,
                                   read_manifest, sha256_file, write_manifest)


def file_entry(sha256: str, size: int) -> dict:
    """A manifest's record of one file."""
    return {"sha256": sha256, "bytes": size}


class FileStream:
    """One file written in pieces and hashed as it goes (no second read)."""

    def __init__(self, path: Path):
        self.path = path
        self.handle = open(path, "wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.digest.update(data)
        self.handle.write(data)
        self.size += len(data)

    def close(self) -> dict:
        self.handle.close()
        return file_entry(self.digest.hexdigest(), self.size)


def new_manifest(task: str, config: dict, seed: int, **fields) -> dict:
    """The head of a task dataset's manifest; the writer fills `splits` and `files`."""
    return {"format": DATASET_FORMAT, "format_version": DATASET_FORMAT_VERSION, "divlab_version": divlab.__version__,
            "task": task, "seed": seed, "config": config, "splits": {}, **fields, "files": {}}


class DatasetWriter:
    """Writes the files of one dataset directory and records each in the manifest."""

    def __init__(self, directory: Path, manifest: dict):
        self.directory = Path(directory)
        self.manifest = manifest
        manifest.setdefault("files", {})

    @contextlib.contextmanager
    def split(self, name: str) -> Iterator[FileStream]:
        """A file streamed and hashed as it is written (a split's rows)."""
        stream = FileStream(self.directory / name)
        try:
            yield stream
        finally:
            entry = stream.close()
        self.manifest["files"][name] = entry

    def add_split(self, split: str, summary: dict) -> None:
        self.manifest.setdefault("splits", {})[split] = summary

    def write_file(self, name: str, data: bytes) -> None:
        (self.directory / name).write_bytes(data)
        self.manifest["files"][name] = file_entry(hashlib.sha256(data).hexdigest(), len(data))

    def rule_table(self, name: str, records: Iterable[dict], ensure_ascii: bool = True) -> None:
        """A JSONL table of rules (one JSON object per line, keys in the order given)."""
        self.write_file(name, "".join(json.dumps(r, ensure_ascii=ensure_ascii) + "\n" for r in records).encode("utf-8"))

    def record(self, name: str) -> None:
        """A file written by other means (a Parquet writer), hashed once complete."""
        path = self.directory / name
        self.manifest["files"][name] = file_entry(sha256_file(path), path.stat().st_size)

    def copy(self, source: Path, name: str) -> None:
        shutil.copyfile(source, self.directory / name)
        self.record(name)

    def finish(self) -> dict:
        write_manifest(self.directory, self.manifest)
        return self.manifest


def write_dataset(out_dir: str | Path, manifest: dict, write: Callable[[DatasetWriter], None], *,
                  overwrite: bool = False) -> dict:
    """Run `write` on a `DatasetWriter` over a fresh atomic directory, write the manifest last and move the
    directory to OUT_DIR; return the manifest. When another process completed the very same dataset there
    meanwhile (a sweep's workers share datasets), that one stands and its manifest is returned."""
    out_dir = Path(out_dir)
    try:
        with atomic_dataset_dir(out_dir, overwrite=overwrite) as directory:
            writer = DatasetWriter(directory, manifest)
            write(writer)
            return writer.finish()
    except DatasetDirError:
        if not overwrite and out_dir.exists() and read_manifest(out_dir).get("config") == manifest.get("config"):
            return read_manifest(out_dir)
        raise
