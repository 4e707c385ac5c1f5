"""The Ray backend on a real two-node cluster (Ray's own `cluster_utils.Cluster`, both nodes on 127.0.0.1),
with the worker node killed while it runs a cell: that cell runs again on the other node, no finished cell
is lost or run twice, and the store equals a local run's. ~30-40 s on 2 cores (two Ray nodes, E1's smoke
grid twice). It fails as it should with the Ray task's max_retries at 0 (as before): the killed node's cell
is then recorded failed."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from divlab.sweep import run_sweep
from divlab.sweep.store import ResultStore

pytestmark = pytest.mark.slow


def _deterministic(result: dict) -> dict:
    """What a cell computes (timings and the machine aside)."""
    return {"unseen": result["unseen"], "seen": result["seen"], "final_loss": result["train"]["final_loss"],
            "steps": result["train"]["steps"]}


def _finished(out: Path) -> dict[str, float]:
    """cell id -> finished_at of the done cells, read without touching the sweep's store."""
    database = out / "results.sqlite"
    if not database.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)) as db:
            return dict(db.execute("SELECT cell_id, finished_at FROM cells WHERE status = 'done'").fetchall())
    except sqlite3.Error:  # being written: look again
        return {}


def _kill_when_both_nodes_run_a_cell(cluster, worker, out: Path, killed: dict) -> None:
    """Each node has one CPU and each cell takes one: once two cells have started and neither is finished,
    one of them runs on the worker node. Kill it then, without a graceful shutdown."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        started = {p.name for p in (out / "cells").glob("*")} if (out / "cells").is_dir() else set()
        if len(started) >= 2:
            finished = _finished(out)
            if len(started - set(finished)) >= 2:
                killed.update(running=started - set(finished), finished_at=finished,
                              raylet=worker.all_processes["raylet"][0].process)
                cluster.remove_node(worker, allow_graceful=False)
                killed["at"] = time.monotonic()
                return
        time.sleep(0.05)


def test_a_killed_worker_nodes_cells_run_again_elsewhere_and_the_store_equals_a_local_run(tmp_path):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from divlab.sweep.backends import _loopback_only

    local = tmp_path / "local"
    assert run_sweep("e1", "smoke", local, workers=1, threads=1, progress=False)["done"] == 3
    expected = {r["cell_id"]: _deterministic(r["result"]) for r in ResultStore(local).rows("done")}

    out = tmp_path / "ray"
    with _loopback_only():
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                                 "include_dashboard": False})
        try:
            worker = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            assert len([n for n in ray.nodes() if n["Alive"]]) == 2
            killed: dict = {}
            killer = threading.Thread(target=_kill_when_both_nodes_run_a_cell, args=(cluster, worker, out, killed))
            killer.start()
            counts = run_sweep("e1", "smoke", out, backend="ray", threads=1, progress=False)
            killer.join()
        finally:
            ray.shutdown()
            cluster.shutdown()

    assert killed.get("at"), "the worker node was never seen running a cell"
    assert killed["raylet"].poll() is not None  # the worker node is gone (Ray's own view lags by its heartbeat)
    assert counts == {"pending": 0, "running": 0, "done": 3, "failed": 0}
    rows = {r["cell_id"]: r for r in ResultStore(out).rows()}
    assert {c: _deterministic(r["result"]) for c, r in rows.items()} == expected
    # Cells finished before the kill kept their one result; every cell was handed out once (Ray's retry of
    # the killed node's cell happens below the store) and its metrics log holds each step once.
    assert all(rows[c]["finished_at"] == t for c, t in killed["finished_at"].items())
    assert all(r["attempts"] == 1 for r in rows.values())
    for cell_id in rows:
        log = (out / "cells" / cell_id / "metrics.jsonl").read_text().splitlines()
        steps = [json.loads(line)["step"] for line in log]
        assert len(steps) == len(set(steps))
