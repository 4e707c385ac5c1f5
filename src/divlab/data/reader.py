"""Reading dataset splits: plain rows for the trainer, or a Hugging Face `datasets.Dataset` in one call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from divlab.data.directory import DatasetDirError, read_manifest


def split_file(directory: str | Path, split: str) -> tuple[Path, str]:
    directory = Path(directory)
    manifest = read_manifest(directory)
    splits = manifest["splits"]
    if split not in splits:
        raise DatasetDirError(f"{directory} has no split {split!r}; it has {', '.join(splits)}")
    return directory / splits[split]["file"], manifest["config"].get("format", "jsonl")


def read_rows(directory: str | Path, split: str) -> Iterator[dict]:
    path, fmt = split_file(directory, split)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def load_split(directory: str | Path, split: str = "train"):
    """The split as a `datasets.Dataset`."""
    import datasets

    path, fmt = split_file(directory, split)
    if fmt == "parquet":
        return datasets.Dataset.from_parquet(str(path))
    return datasets.Dataset.from_json(str(path))
