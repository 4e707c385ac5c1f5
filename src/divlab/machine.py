"""Facts about the machine this process runs on."""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may use (its CPU affinity, which containers and schedulers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # platforms without affinity (macOS)
        return os.cpu_count() or 1
