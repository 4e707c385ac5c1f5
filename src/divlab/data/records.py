"""Records of a local JSON array, JSONL or Parquet file (gzip allowed): benchmark files, instruction sources."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from divlab.errors import DataError


class RecordsError(DataError):
    """A file that is not valid JSON / JSONL; the message names the file and the line."""


def read_uncompressed(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip (checksums are of the uncompressed content)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def parse_partial_array(path: Path, text: str) -> list:
    """The whole records of a JSON array that may be cut off mid-file (a truncated download or release):
    decoded one by one, stopping at the first record that does not end. Anything else malformed fails."""
    decoder = json.JSONDecoder()
    separators = re.compile(r"[\s,]*")
    position = text.index("[") + 1
    records = []
    while True:
        position = separators.match(text, position).end()
        if position >= len(text) or text[position] == "]":
            return records
        try:
            record, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            if _only_cut_off(text, position):
                return records  # the cut-off last record
            raise RecordsError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        records.append(record)


def _only_cut_off(text: str, position: int) -> bool:
    """Whether the record at `position` is merely unfinished (it would parse if the file went on)."""
    depth, in_string, escaped = 0, False, False
    for char in text[position:]:
        if in_string:
            escaped, in_string = (not escaped and char == "\\"), in_string and (escaped or char != '"')
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return False  # the record closes: the error is real
    return True


def parse_records(path: Path, data: bytes, partial: bool = False) -> list:
    """A JSON array, or one JSON value per non-blank line. `partial`: a JSON array may be cut off."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RecordsError(f"{path}: line {line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if partial and text.lstrip().startswith("["):
        return parse_partial_array(path, text)
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordsError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    records = []
    # JSON Lines are separated by "\n" only: str.splitlines() would also cut at U+2028, U+0085 and other
    # separators that JSON strings may hold unescaped (ShareGPT text does).
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RecordsError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
    return records


def read_records(path: Path, partial: bool = False) -> list:
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return parse_records(path, read_uncompressed(path), partial)
