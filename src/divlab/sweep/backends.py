"""Where cells run: a local process pool (stdlib) or a Ray cluster. Both run units of work (one cell, or a
batched group of cells) with `run_unit` and hand each cell's outcome to `on_result` in the sweep's main
process, which alone writes the store."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from divlab.errors import DivlabError
from divlab.sweep.cell import Job, run_unit
from divlab.tracking import sweep_setting

Unit = list[Job]  # cells run together in one worker
LOOPBACK = "127.0.0.1"
SINGLE_MACHINE_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
OnStart = Callable[[str], None]
OnResult = Callable[[str, dict], None]


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """Pool-worker initializer: end this worker as soon as the sweep's main process is gone (killed alone, e.g.
    SIGKILL of its pid). Otherwise an orphaned worker trains on, and writes the same cell directory as the
    sweep run again to resume it. Checkpoints are what a restart resumes from, so nothing finished is lost."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="divlab-parent-watch", daemon=True).start()


def run_local(units: list[Unit], run_dir: str, workers: int, threads: int, on_start: OnStart, on_result: OnResult) -> None:
    """At most `workers` units in flight, each in its own process with `threads` torch threads. A worker that
    dies (killed for memory, a segfault) fails only the cells it was running; the pool is rebuilt."""
    context = multiprocessing.get_context("spawn")  # no fork after torch has started its thread pools
    queue = list(units)
    while queue:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            in_flight = {}
            broken = False
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < workers:
                    unit = queue.pop(0)
                    for cell_id, _ in unit:
                        on_start(cell_id)
                    in_flight[pool.submit(run_unit, unit, run_dir, threads)] = unit
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = in_flight.pop(future)
                    try:
                        outcomes = future.result()
                    except BrokenProcessPool:
                        broken = True
                        outcomes = {cell_id: {"ok": False, "error": "the worker process died (killed for memory or crashed)"}
                                    for cell_id, _ in unit}
                    for cell_id, _ in unit:
                        on_result(cell_id, outcomes[cell_id])
            if broken:
                for future, unit in in_flight.items():
                    for cell_id, _ in unit:
                        on_result(cell_id, {"ok": False, "error": "the worker process pool broke while this cell ran"})
                pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def _loopback_only():
    """Make a local Ray cluster register its node on 127.0.0.1. On Linux Ray turns a loopback address into the
    machine's network address (so that other nodes could join); its switch for single-machine clusters
    (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, the default on macOS and Windows) keeps loopback. Ray reads it when
    first imported, and its processes read it from the environment they inherit."""
    previous = os.environ.get(SINGLE_MACHINE_SWITCH)
    os.environ[SINGLE_MACHINE_SWITCH] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:  # Ray was imported before: the switch is a module constant by now
        constants.ENABLE_RAY_CLUSTER, was = False, constants.ENABLE_RAY_CLUSTER
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SINGLE_MACHINE_SWITCH, None)
        else:
            os.environ[SINGLE_MACHINE_SWITCH] = previous
        if constants is not None:
            constants.ENABLE_RAY_CLUSTER = was


NODE_FAILURE_RETRIES = 3


def run_ray(units: list[Unit], run_dir: str, threads: int, on_start: OnStart, on_result: OnResult, address: str | None = None) -> None:
    """Each cell is a Ray task reserving `threads` CPUs. On a cluster, `run_dir` must be on storage that every
    node sees (results still come back to this process)."""
    with contextlib.nullcontext() if address else _loopback_only():
        _run_ray(units, run_dir, threads, on_start, on_result, address)


def _run_ray(units, run_dir, threads, on_start, on_result, address) -> None:
    try:
        import ray
    except ImportError:
        raise DivlabError("the ray backend needs Ray: pip install 'divlab[sweep-ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        local = {} if address else {"num_cpus": max(threads, multiprocessing.cpu_count()), "_node_ip_address": LOOPBACK}
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **local)
    try:
        # A node or worker process that dies takes its cells with it: Ray runs them again elsewhere (retries
        # are for such system failures only; a cell's own error comes back as its outcome, never raised).
        task = ray.remote(num_cpus=threads, max_retries=NODE_FAILURE_RETRIES)(run_unit)
        tracking = sweep_setting()
        if tracking:  # workers on other nodes do not inherit this process's environment
            task = task.options(runtime_env={"env_vars": tracking})
        futures = {}
        for unit in units:
            for cell_id, _ in unit:
                on_start(cell_id)
            futures[task.remote(unit, run_dir, threads)] = unit
        while futures:
            done, _ = ray.wait(list(futures), num_returns=1)
            unit = futures.pop(done[0])
            try:
                outcomes = ray.get(done[0])
            except Exception as error:  # a crashed worker or node
                outcomes = {cell_id: {"ok": False, "error": f"Ray task failed: {error!r}"} for cell_id, _ in unit}
            for cell_id, _ in unit:
                on_result(cell_id, outcomes[cell_id])
    finally:
        if started_here:
            ray.shutdown()
