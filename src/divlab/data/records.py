"""Records of a local JSON array, JSONL or Parquet file (gzip allowed): benchmark files, instruction sources."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


class RecordsError(ValueError):
    """A file that is not valid JSON / JSONL; the message names the file and the line."""


def read_uncompressed(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (checksums are of the uncompressed content)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def parse_records(path: Path, data: bytes) -> list:
    """A JSON array, or one JSON value per non-blank line."""
    text = data.decode("utf-8")
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordsError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RecordsError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
    return records


def read_records(path: Path) -> list:
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return parse_records(path, read_uncompressed(path))
