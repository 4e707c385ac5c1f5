"""Running cells in a worker (a pool process or a Ray task) with their experiment kind's `run`, one cell at a
time or, for kinds that can, several cells of one model shape as one batched group (`run_group`)."""

from __future__ import annotations

import contextlib
import os
import traceback

Job = tuple[str, dict]  # (cell_id, config)


def run_cell(cell_id: str, config: dict, run_dir: str, threads: int) -> dict:
    """{'ok': True, 'result': ...} or {'ok': False, 'error': traceback}; never raises, so one failing cell
    is recorded and the sweep goes on."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        from divlab.experiments.base import cell_dir
        from divlab.experiments.registry import kind_of
        from divlab.tracking import cell_run

        # a run per cell when the sweep reports to trackers
        with cell_run(cell_id, config, cell_dir(run_dir, cell_id)) as tracked:
            result = kind_of(config).run(cell_id, config, run_dir, threads)
            if tracked is not None:
                tracked.log_summary(result)
        return _with_provenance({"ok": True, "result": result})
    except BaseException:  # noqa: BLE001 - a failing cell is recorded, the sweep goes on
        return {"ok": False, "error": traceback.format_exc()}


def run_unit(unit: list[Job], run_dir: str, threads: int) -> dict[str, dict]:
    """Outcomes of a unit of work, by cell id: one cell, or a batched group. A group's kind reports each
    member's outcome (one member failing fails only that cell); if the group itself breaks, every cell of it
    fails with the traceback."""
    if len(unit) == 1:
        cell_id, config = unit[0]
        return {cell_id: run_cell(cell_id, config, run_dir, threads)}
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        from divlab.experiments.registry import kind_of

        with _member_runs(unit, run_dir) as tracked:
            outcomes = kind_of(unit[0][1]).run_group(unit, run_dir, threads)
            for cell_id, outcome in outcomes.items():
                if tracked.get(cell_id) is not None and outcome.get("ok"):
                    tracked[cell_id].log_summary(outcome["result"])
        return {cell_id: _with_provenance(outcome) for cell_id, outcome in outcomes.items()}
    except BaseException:  # noqa: BLE001 - recorded for every cell of the group, the sweep goes on
        error = traceback.format_exc()
        return {cell_id: {"ok": False, "error": error} for cell_id, _ in unit}


@contextlib.contextmanager
def _member_runs(unit: list[Job], run_dir: str):
    """One tracker run per cell of a batched group, each bound to its cell's directory: the group trains in
    one loop, and every metrics row reaches the run of the cell that wrote it."""
    from divlab.experiments.base import cell_dir
    from divlab.tracking import cell_run

    with contextlib.ExitStack() as stack:
        yield {cell_id: stack.enter_context(cell_run(cell_id, config, cell_dir(run_dir, cell_id)))
               for cell_id, config in unit}


def _with_provenance(outcome: dict) -> dict:
    """A finished cell's result records what produced it (divlab version, machine): result pages name both."""
    if outcome.get("ok") and isinstance(outcome.get("result"), dict):
        from divlab.machine import describe

        outcome["result"].setdefault("produced_by", describe())
    return outcome
