"""Reading a W&B offline run back: the records of `run-*.wandb`, decoded with W&B's own protobuf schema.

Written by hand because W&B no longer ships a Python reader (its `datastore` module left with wandb-core).
The file is LevelDB's log format behind a 7-byte header (":W&B", magic 0xBEE1, version 0): 32 KiB blocks of
chunks, each with a 7-byte header (crc32c, length, type: 1 full, 2 first, 3 middle, 4 last)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK = 32768
HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(data: bytes) -> list[bytes]:
    ident, magic, version = HEADER.unpack_from(data)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), "not a W&B run log"
    position, records, pending = HEADER.size, [], b""
    while position + CHUNK.size <= len(data):
        left = BLOCK - position % BLOCK
        if left < CHUNK.size:  # a block's tail too short for a chunk header is padding
            position += left
            continue
        _, length, kind = CHUNK.unpack_from(data, position)
        if kind == 0 and length == 0:  # preallocated zeros: the end
            break
        position += CHUNK.size
        chunk = data[position:position + length]
        position += length
        if kind == FULL:
            records.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            records.append(pending + chunk)
    return records


def _items(items) -> dict:
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}


def read_offline_run(run_dir: Path, timeout: float = 60.0) -> dict:
    """{'config': {...}, 'history': [row, ...], 'summary': {...}} of the one offline run under `run_dir`,
    once its log is complete. `run.finish()` returns before wandb-core has written everything (the process's
    exit waits for it; a test reading in the same process must wait too): complete = the exit record is in."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        logged = _read(run_dir)
        if logged.pop("exited") or time.monotonic() > deadline:
            return logged
        time.sleep(0.2)


def _read(run_dir: Path) -> dict:
    from wandb.proto import wandb_internal_pb2

    (log,) = Path(run_dir).glob("offline-run-*/run-*.wandb")
    config, history, summary, exited = {}, [], {}, False
    for payload in _payloads(log.read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "config":
            config.update(_items(record.config.update))
        elif kind == "history":
            history.append(_items(record.history.item))
        elif kind == "summary":
            summary.update(_items(record.summary.update))
        exited = exited or kind == "exit"
    return {"config": config, "history": history, "summary": summary, "exited": exited}
