"""Run many sandboxed executions at once: a thread per worker, each forking its programs from its own
sandbox zygote (every call waits on a sandbox process, so threads suffice)."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from tqdm.auto import tqdm

from divlab.codeeval.sandbox import zygotes


def parallel(fn, items, workers: int, desc: str):
    """Yield fn(item) as they finish."""
    with zygotes(), ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(items), desc=desc, unit="run") as bar:
        pending = {pool.submit(fn, item) for item in items}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    bar.update()
                    yield future.result()
        finally:  # Ctrl-C or an error: queued work is dropped; running sandboxes end within their limits
            for future in pending:
                future.cancel()
