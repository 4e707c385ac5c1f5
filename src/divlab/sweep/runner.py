"""Running an experiment's grid into a run directory, resumably."""

from __future__ import annotations

import json

import fcntl
from pathlib import Path

from divlab.atomic import atomic_write_json
from divlab.errors import ConfigError, DivlabError
from divlab.experiments.base import point_label
from divlab.experiments.spec import load_experiment
from divlab.machine import available_cores
from divlab.rundir import check_identity
from divlab.sweep.progress import SweepProgress
from divlab.sweep.store import DATABASE, ResultStore, StoreError


class SweepError(DivlabError):
    pass


def size_workers(pending: int, workers: int = 0, threads: int = 0) -> tuple[int, int]:
    """Workers x threads filling the machine: one thread per worker by default (small models use a core
    best on their own; two processes sharing cores slow each other down many times)."""
    cores = available_cores()
    if not workers:
        workers = max(1, min(pending, cores // max(1, threads) if threads else cores))
    if not threads:
        threads = max(1, cores // workers)
    return workers, threads


class _RunLock:
    def __init__(self, run_dir: Path):
        self.path = run_dir / ".sweep.lock"

    def __enter__(self):
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"another sweep is running in {self.path.parent}") from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def open_run_dir(run_dir: Path, identity: dict) -> ResultStore:
    """The run directory's store, created for this sweep or checked to belong to it (`identity`: experiment,
    preset and the preset's whole resolved config, seeds excepted: more seeds extend a sweep). A store
    written before sweeps recorded their whole config is checked by the config's hash."""
    ours = {"experiment": identity["experiment"], "preset": identity["preset"], "config": identity["resolved"]}
    recorded = None
    if (run_dir / DATABASE).is_file():
        with ResultStore(run_dir) as existing:
            meta = existing.meta()
        # A store killed before its sweep was recorded is nobody's.
        if "experiment" in meta:
            recorded = {"experiment": meta["experiment"], "preset": meta.get("preset"), "config": ours["config"]}
            if "sweep_resolved" in meta:
                recorded["config"] = json.loads(meta["sweep_resolved"])
            elif meta.get("sweep_config", identity["config"]) != identity["config"]:
                recorded["config"] = {"hash": meta["sweep_config"]}
                ours = {**ours, "config": {"hash": identity["config"]}}
    check_identity(run_dir, recorded, ours, "sweep",
                   hint="its cells would be pooled with this one's in one report; keep it, and start this sweep "
                        "elsewhere with another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    store = ResultStore(run_dir, create=True)
    store.set_meta(experiment=identity["experiment"], preset=identity["preset"], sweep_config=identity["config"],
                   sweep_resolved=json.dumps(identity["resolved"], sort_keys=True))
    return store


def plan_units(kind, cells, batch_cells: int) -> list[list]:
    """Cells as units of work: one cell each, or (batch_cells > 1) groups of up to `batch_cells` cells in grid
    order, trained as one batched model. Cells of a batched sweep may differ only in their data and seed: a
    difference in anything else is refused before anything runs, naming the field."""
    jobs = [(c.cell_id, c.config) for c in cells]
    if batch_cells <= 1:
        return [[job] for job in jobs]
    if kind.run_group is None:
        raise ConfigError("--batch-cells", batch_cells, f"experiments of kind {kind.name!r} run cell by cell")
    reference = kind.group_key(jobs[0][1]) if jobs else {}
    for _, config in jobs[1:]:
        key = kind.group_key(config)
        for section in reference:
            for name in reference[section]:
                if reference[section][name] != key[section].get(name):
                    raise ConfigError("--batch-cells", batch_cells, (
                        f"cells differ in {section}.{name} ({reference[section][name]!r} and {key[section].get(name)!r}); "
                        "the cells of a batched sweep may differ only in their data and seed"))
    return [jobs[i : i + batch_cells] for i in range(0, len(jobs), batch_cells)]


def _record_experiment(run_dir: Path, spec, experiment: str, preset: str, overrides: dict | None) -> None:
    """RUN_DIR/experiment.json: what the report needs besides the store (kind, report, axes, description)."""
    atomic_write_json(run_dir / "experiment.json", {
        "experiment": experiment, "preset": preset, "kind": spec.kind, "seeds": spec.seeds,
        "description": spec.description, "overrides": dict(overrides or {}), "report": spec.report,
        "axes": {name: [label for label, _ in values] for name, values in spec.axes.items()}}, sort_keys=False)


def run_sweep(
    experiment: str, preset: str, run_dir, *, seeds: int | None = None, backend: str = "local", workers: int = 0,
    threads: int = 0, ray_address: str | None = None, progress: bool = True, overrides: dict | None = None,
    batch_cells: int = 1, progress_interval: float = 0.0,
) -> dict:
    """Run every cell not yet done (failed and interrupted ones again); return the status counts.
    `overrides` ("section.field" -> value) change the preset's base config (`--set`); `batch_cells` > 1
    trains up to that many cells per worker as one batched model."""
    spec = load_experiment(experiment, preset, seeds, overrides)  # fails on bad input before anything runs
    cells = spec.cells()
    plan_units(spec.experiment_kind, cells, batch_cells)  # refuses a batch of unlike cells up front
    unmet = spec.unmet_requirements()
    if unmet:
        raise SweepError(f"{experiment} preset {preset!r} needs {' and '.join(unmet)}, which this machine lacks; "
                         f"the 'cpu' preset runs here")
    if backend not in ("local", "ray"):
        raise SweepError(f"backend={backend!r}: known backends are local and ray")
    run_dir = Path(run_dir).resolve()  # cells resolve it in workers elsewhere (Ray nodes), trackers beside it
    try:
        store = open_run_dir(run_dir, spec.identity())
    except StoreError as error:
        raise SweepError(str(error)) from None
    with _RunLock(run_dir):
        store.add_cells(cells)
        _record_experiment(run_dir, spec, experiment, preset, overrides)
        pending = [c for c in cells if store.status_of(c.cell_id) != "done"]
        units = plan_units(spec.experiment_kind, pending, batch_cells)
        workers, threads = size_workers(len(units), workers, threads) if units else (1, 1)
        labels = {c.cell_id: point_label(c.point) + (f" seed {c.seed}" if spec.seeds > 1 else "") for c in cells}
        display = SweepProgress(run_dir, f"{experiment}/{preset}", len(cells), len(cells) - len(pending), labels,
                                workers if backend == "local" else len(units), enabled=progress,
                                interval=progress_interval)

        def on_start(cell_id: str) -> None:
            store.mark_running(cell_id)
            display.start(cell_id)

        def on_result(cell_id: str, outcome: dict) -> None:
            if outcome.get("ok"):
                store.mark_done(cell_id, outcome["result"])
            else:
                store.mark_failed(cell_id, outcome.get("error", "unknown error"))
            display.finish(cell_id, bool(outcome.get("ok")))

        try:
            if units and backend == "local":
                from divlab.sweep.backends import run_local

                run_local(units, str(run_dir), workers, threads, on_start, on_result)
            elif units:
                from divlab.sweep.backends import run_ray

                run_ray(units, str(run_dir), threads, on_start, on_result, address=ray_address)
        finally:
            display.close()
        counts = store.counts()
    store.close()
    return counts


def sweep_active(run_dir: Path) -> bool:
    """Whether a sweep process holds the run directory's lock right now."""
    path = Path(run_dir) / ".sweep.lock"
    if not path.exists():
        return False
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def sweep_status(run_dir) -> dict:
    """Counts and the running / failed cells. 'running' cells of a sweep that is no longer alive are
    reported as interrupted: the next run starts them again."""
    try:
        store = ResultStore(run_dir)
    except StoreError as error:
        raise SweepError(str(error)) from None
    try:
        meta = store.meta()
        rows = store.rows()
        counts = store.counts()
        active = sweep_active(Path(run_dir))
        if not active:
            counts["interrupted"] = counts.pop("running")
        return {
            "experiment": meta.get("experiment"), "preset": meta.get("preset"), "counts": counts, "active": active,
            "failed": [{"cell_id": r["cell_id"], "point": r["point"], "seed": r["seed"], "attempts": r["attempts"],
                        "error": r["error"]} for r in rows if r["status"] == "failed"],
            "running": [{"cell_id": r["cell_id"], "point": r["point"], "seed": r["seed"]} for r in rows if r["status"] == "running"],
        }
    finally:
        store.close()
