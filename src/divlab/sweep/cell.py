"""Running one cell in a worker (a pool process or a Ray task) with its experiment kind's `run`."""

from __future__ import annotations

import os
import traceback


def run_cell(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """{'ok': True, 'result': ...} or {'ok': False, 'error': traceback}; never raises, so one failing cell
    is recorded and the sweep goes on."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        from divlab.experiments.registry import kind_of

        return {"ok": True, "result": kind_of(config).run(cell_id, config, run_dir, threads)}
    except BaseException:  # noqa: BLE001 - a failing cell is recorded, the sweep goes on
        return {"ok": False, "error": traceback.format_exc()}
