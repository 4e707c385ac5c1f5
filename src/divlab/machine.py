"""Facts about the machine this process runs on."""

from __future__ import annotations

import functools
import os


def available_cores() -> int:
    """Cores this process may use (its CPU affinity, which containers and schedulers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # platforms without affinity (macOS)
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The processor's name as the kernel reports it (the platform's fallback elsewhere)."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict:
    """What a result page names as the machine that produced a number: CPU, cores, GPU, library versions."""
    import platform

    import divlab

    facts = {"divlab": divlab.__version__, "divlab_commit": _source_commit(), "python": platform.python_version(), "cpu": cpu_model(),
             "cores": available_cores(), "gpu": None}
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["fp32_gflops_per_thread"] = fp32_peak_gflops_per_thread()
        if torch.cuda.is_available():
            facts["gpu"] = torch.cuda.get_device_name()
    except ImportError:
        pass
    return facts


@functools.lru_cache(maxsize=1)
def fp32_peak_gflops_per_thread() -> float:
    """The fp32 matmul throughput of one thread, in GFLOP/s, measured once per process (~0.1 s): machines
    differ ~2x in it, so a wall time means something only beside it (a slow machine, or a slow divlab?).
    The best of 30 single products (~1.5 ms each, shorter than a scheduler's time slice), so that a busy
    machine still shows its peak: best-of-5 groups of four varied 39-176 GFLOP/s on one loaded machine,
    this 170-175."""
    import time

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(0)
        a, b = torch.randn(512, 512, generator=generator), torch.randn(512, 512, generator=generator)
        a @ b  # warm-up: first-call allocation and kernel selection
        best = float("inf")
        for _ in range(30):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return round(2 * 512**3 / best / 1e9, 1)


@functools.lru_cache(maxsize=1)
def _source_commit() -> str | None:
    """The git commit of divlab's source when it runs from a checkout (None when installed from a wheel), with
    "+dirty" when the source differs from it: version 0.1.0 alone does not say which code produced a result.
    Read once per process, so that a long-lived worker reports the code it loaded, not a later checkout."""
    import subprocess
    from pathlib import Path

    source = Path(__file__).parent
    try:
        head = subprocess.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=5)
        if head.returncode != 0 or not head.stdout.strip():
            return None
        changed = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--", "."],
                                 capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if changed.stdout.strip() else "")
