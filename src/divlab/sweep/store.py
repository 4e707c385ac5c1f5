"""The result store: one SQLite database per run directory.

A cell is `done` only when its result is committed in the same transaction that marks it done, so a sweep
killed at any moment (SIGKILL included) loses no finished cell, and a cell left `running` by a dead sweep is
simply run again. Only the sweep's main process writes; workers return results to it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import divlab
from divlab.errors import DivlabError

SCHEMA_VERSION = 1
DATABASE = "results.sqlite"


class StoreError(DivlabError):
    pass


class ResultStore:
    def __init__(self, run_dir: str | Path, create: bool = False):
        self.path = Path(run_dir) / DATABASE
        if not self.path.is_file() and not create:
            raise StoreError(f"{run_dir} has no sweep database ({DATABASE}); is it a divlab run directory?")
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS cells (
                    cell_id TEXT PRIMARY KEY, point TEXT NOT NULL, seed INTEGER NOT NULL, config TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
                    started_at REAL, finished_at REAL, error TEXT, result TEXT)"""
            )
        version = self.meta().get("schema_version")
        if version is None:
            self.set_meta(schema_version=str(SCHEMA_VERSION), divlab_version=divlab.__version__)
        elif int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer divlab (schema {version}, this one reads {SCHEMA_VERSION}); upgrade divlab"
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def meta(self) -> dict:
        return dict(self.db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, **values: str) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def add_cells(self, cells) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO cells (cell_id, point, seed, config) VALUES (?, ?, ?, ?)",
                [(c.cell_id, json.dumps(c.point, sort_keys=True), c.seed, json.dumps(c.config, sort_keys=True)) for c in cells],
            )

    def status_of(self, cell_id: str) -> str | None:
        row = self.db.execute("SELECT status FROM cells WHERE cell_id = ?", (cell_id,)).fetchone()
        return row[0] if row else None

    def mark_running(self, cell_id: str) -> None:
        with self.db:
            self.db.execute(
                "UPDATE cells SET status='running', attempts=attempts+1, started_at=?, error=NULL WHERE cell_id=?",
                (time.time(), cell_id),
            )

    def mark_done(self, cell_id: str, result: dict) -> None:
        with self.db:
            self.db.execute(
                "UPDATE cells SET status='done', finished_at=?, result=?, error=NULL WHERE cell_id=?",
                (time.time(), json.dumps(result, sort_keys=True), cell_id),
            )
        self.checkpoint()

    def mark_failed(self, cell_id: str, error: str) -> None:
        with self.db:
            self.db.execute("UPDATE cells SET status='failed', finished_at=?, error=? WHERE cell_id=?", (time.time(), error, cell_id))
        self.checkpoint()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into results.sqlite, so that the file alone (copied, or committed to git
        while the sweep runs on) holds every finished cell. Passive: never waits for a reader."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        counts.update(dict(self.db.execute("SELECT status, COUNT(*) FROM cells GROUP BY status").fetchall()))
        return counts

    def rows(self, status: str | None = None) -> list[dict]:
        query = "SELECT cell_id, point, seed, config, status, attempts, started_at, finished_at, error, result FROM cells"
        args: tuple = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        out = []
        for cell_id, point, seed, config, state, attempts, started, finished, error, result in self.db.execute(query + " ORDER BY rowid", args):
            out.append({
                "cell_id": cell_id, "point": json.loads(point), "seed": seed, "config": json.loads(config),
                "status": state, "attempts": attempts, "started_at": started, "finished_at": finished,
                "error": error, "result": json.loads(result) if result else None,
            })
        return out
