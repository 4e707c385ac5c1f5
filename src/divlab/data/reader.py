"""Reading dataset splits: plain rows for the trainer, or a Hugging Face `datasets.Dataset` in one call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from divlab.data.directory import DatasetDirError, checksum_of, read_manifest, sha256_file


def split_file(directory: str | Path, split: str) -> tuple[Path, str]:
    directory = Path(directory)
    manifest = read_manifest(directory)
    splits = manifest["splits"]
    if split not in splits:
        raise DatasetDirError(f"{directory} has no split {split!r}; it has {', '.join(splits)}")
    return directory / splits[split]["file"], manifest["config"].get("format", "jsonl")


def read_rows(directory: str | Path, split: str, fields: tuple[str, ...] = ()) -> Iterator[dict]:
    """The split's rows, after checking the file against the manifest's checksum (a file changed after
    generation is refused, named). A row that is not JSON, not UTF-8, or lacks one of `fields` is refused
    with the file, the line and the field."""
    path, fmt = split_file(directory, split)
    verify_file(Path(directory), path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for number, row in enumerate(pq.read_table(path).to_pylist(), 1):
            yield checked_row(row, fields, path, number)
        return
    for number, row in iter_jsonl(path):
        yield checked_row(row, fields, path, number)


def iter_jsonl(path: Path) -> Iterator[tuple[int, object]]:
    """(line number, value) of each non-blank line; a line that is not UTF-8 or not JSON is refused with
    the file and the line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise DatasetDirError(f"{path}: line {number} is not UTF-8 ({error.reason} at byte {error.start})") from None
            except json.JSONDecodeError as error:
                raise DatasetDirError(f"{path}: line {number} is not valid JSON ({error.msg} at column {error.colno})") from None


def checked_row(row, fields: tuple[str, ...], path: Path, number: int) -> dict:
    """`row` when it is a JSON object with every field; else an error naming the file, line and field."""
    if not isinstance(row, dict):
        raise DatasetDirError(f"{path}: line {number} is not a JSON object")
    for name in fields:
        if name not in row:
            raise DatasetDirError(f"{path}: line {number} has no field {name!r}")
    return row


# (file, size, mtime) already checked against its manifest in this process: training reads each split
# several times (data, context length, curves, evaluation); the hash is taken once.
_VERIFIED: set[tuple[str, int, int]] = set()


def verify_file(directory: Path, path: Path) -> None:
    """Refuse a dataset file whose SHA-256 differs from the one its manifest recorded."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return
    try:  # any divlab directory's manifest (dataset, mixture) lists its files' checksums
        entry = json.loads((directory / "manifest.json").read_text(encoding="utf-8")).get("files", {}).get(path.name)
    except (OSError, ValueError, AttributeError):
        entry = None
    expected = None if entry is None else checksum_of(entry)
    if expected is not None and sha256_file(path) != expected:
        raise DatasetDirError(f"{path} does not match the checksum in its manifest: it changed after generation; "
                              f"regenerate the dataset (divlab generate ... --force)")
    _VERIFIED.add(key)


def load_split(directory: str | Path, split: str = "train"):
    """The split as a `datasets.Dataset`."""
    import datasets

    path, fmt = split_file(directory, split)
    if fmt == "parquet":
        return datasets.Dataset.from_parquet(str(path))
    return datasets.Dataset.from_json(str(path))
