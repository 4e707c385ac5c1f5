"""A sweep's live progress: finished cells, and for each running cell its step, loss and ETA, with the whole
sweep's ETA. Running cells are read from the `progress.json` their trainer writes into the cell's directory
(no channel between workers and this process is needed, so it works the same for the process pool and Ray on
shared storage). In a terminal it draws one bar per running cell; otherwise it prints a line every
`interval` seconds (30 by default), so logs of batch jobs show progress too."""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from pathlib import Path

from tqdm.auto import tqdm

from divlab.experiments.base import cell_dir
from divlab.rundir import PROGRESS_FILE as PROGRESS


def _duration(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def read_progress(run_dir, cell_id: str) -> dict | None:
    try:
        return json.loads((cell_dir(run_dir, cell_id) / PROGRESS).read_text())
    except (OSError, ValueError):  # not written yet, or being replaced
        return None


class SweepProgress:
    def __init__(self, run_dir, title: str, total: int, done: int, labels: dict[str, str], workers: int,
                 enabled: bool = True, interval: float = 0.0, stream=None):
        self.run_dir, self.title, self.total, self.done, self.labels = Path(run_dir), title, total, done, labels
        self.workers, self.enabled, self.failed = max(1, workers), enabled, 0
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval or (1.0 if self.tty else 30.0)
        self.queued = total - done
        self.running: dict[str, float] = {}  # cell id -> when it started
        self.durations: list[float] = []
        self.bars: dict[str, tqdm] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.main = tqdm(total=total, initial=done, desc=title, unit="cell", file=self.stream, dynamic_ncols=True,
                         disable=not (enabled and self.tty))
        self.thread = threading.Thread(target=self._refresh_loop, daemon=True)
        if enabled:
            self.thread.start()

    # ---- events from the sweep ------------------------------------------------------------------------------

    def start(self, cell_id: str) -> None:
        with self.lock:
            self.running[cell_id] = time.time()
            self.queued -= 1

    def finish(self, cell_id: str, ok: bool) -> None:
        with self.lock:
            started = self.running.pop(cell_id, None)
            if started is not None and ok:
                self.durations.append(time.time() - started)
            self.done += 1
            self.failed += not ok
            bar = self.bars.pop(cell_id, None)
            if bar is not None:
                bar.close()
            self.main.update(1)
            self.main.set_postfix(failed=self.failed)
        if not self.tty and self.enabled:
            self._line(f"{'done' if ok else 'FAILED'}: {self.labels.get(cell_id, cell_id)}")

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        with self.lock:
            for bar in self.bars.values():
                bar.close()
            self.main.close()

    # ---- estimates ------------------------------------------------------------------------------------------

    def snapshot(self) -> tuple[list[tuple[str, dict | None]], float | None]:
        """(running cells with their progress, ETA of the whole sweep in seconds or None)."""
        running = [(cell_id, read_progress(self.run_dir, cell_id)) for cell_id in list(self.running)]
        etas = [p["eta_s"] for _, p in running if p and p.get("eta_s") is not None]
        per_cell = (sum(self.durations) / len(self.durations) if self.durations
                    else max((p["elapsed_s"] + p["eta_s"] for _, p in running if p and p.get("eta_s") is not None),
                             default=None))
        if per_cell is None:
            return running, None
        # The queued cells run `workers` at a time after the running ones end.
        sweep = (max(etas) if etas else 0.0) + math.ceil(max(self.queued, 0) / self.workers) * per_cell
        return running, sweep

    def describe(self, cell_id: str, progress: dict | None) -> str:
        label = self.labels.get(cell_id, cell_id)
        if not progress:
            return f"{label}: starting"
        loss = f" loss {progress['loss']:.4f}" if progress.get("loss") is not None else ""
        return f"{label}: step {progress['step']:,}/{progress['total_steps']:,}{loss} eta {_duration(progress.get('eta_s'))}"

    # ---- drawing --------------------------------------------------------------------------------------------

    def _refresh_loop(self) -> None:
        while not self.stop.wait(self.interval):
            with self.lock:
                self.refresh()

    def refresh(self) -> None:
        running, sweep_eta = self.snapshot()
        if self.tty:
            self.main.set_postfix_str(f"failed={self.failed} sweep eta {_duration(sweep_eta)}")
            for position, (cell_id, progress) in enumerate(running, start=1):
                bar = self.bars.get(cell_id)
                if bar is None and progress:
                    bar = self.bars[cell_id] = tqdm(total=progress["total_steps"], desc=self.labels.get(cell_id, cell_id),
                                                    unit="step", position=position, leave=False, file=self.stream,
                                                    dynamic_ncols=True)
                if bar is not None and progress:
                    bar.n = progress["step"]
                    bar.set_postfix_str(f"loss {progress['loss']:.4f}" if progress.get("loss") is not None else "")
            return
        cells = "; ".join(self.describe(cell_id, progress) for cell_id, progress in running) or "none running"
        self._line(f"{self.done}/{self.total} cells done, {self.failed} failed, sweep eta {_duration(sweep_eta)}; {cells}")

    def _line(self, text: str) -> None:
        print(f"[{self.title} {time.strftime('%H:%M:%S')}] {text}", file=self.stream, flush=True)
