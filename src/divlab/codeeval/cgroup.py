"""A memory limit over a sandbox's whole process tree, through the kernel's memory cgroup.

RLIMIT_AS binds each process alone: three children of 1.7 GB each stay under a 4 GiB per-process cap.
A memory cgroup counts the tree together. divlab makes one child group of its own cgroup per sandbox
(cgroup v2's unified tree, or v1's memory hierarchy where that is what the machine has) and the runner
joins it before it forks anything. Where neither is writable (a user session without delegation), the
bound is the per-process cap times the process cap, and `memory_scope()` says so in every result.

Why by hand: no PyPI library manages cgroups for a non-systemd process; this is mkdir and a few writes.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_COUNTER = itertools.count()


def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup path in v2 (controller None) or in v1's `controller` hierarchy."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or (controller and controller in controllers.split(",")):
            return path
    return None


@functools.cache
def _base() -> tuple[Path, str] | None:
    """Where divlab may make groups with a memory limit, and which cgroup version that is."""
    v2_path = _own_cgroup(None)
    v2 = ROOT / (v2_path or "/").lstrip("/")
    if v2_path is not None and (ROOT / "cgroup.controllers").exists() and "memory" in _read(v2 / "cgroup.subtree_control"):
        candidates = [(v2, "cgroup v2")]
    else:
        candidates = []
    v1_path = _own_cgroup("memory")
    if v1_path is not None and (ROOT / "memory" / "memory.limit_in_bytes").exists():
        candidates.append((ROOT / "memory" / v1_path.lstrip("/"), "cgroup v1"))
    for base, version in candidates:
        probe = base / f"divlab-probe-{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
            return base, version
        except OSError:
            continue
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def memory_scope() -> str:
    """What the memory limit binds here, as results and docs name it."""
    found = _base()
    return f"whole process tree ({found[1]})" if found else "each process (RLIMIT_AS; the tree: x max_processes)"


class MemoryGroup:
    """One sandbox's group: `limit` it, start the runner with `--cgroup path` so it joins before forking,
    `close` when its processes are gone."""

    def __init__(self):
        base, self.version = _base()
        self.path = base / f"divlab-{os.getpid()}-{next(_COUNTER)}"
        self.path.mkdir()

    def limit(self, nbytes: int) -> None:
        if self.version == "cgroup v2":
            (self.path / "memory.max").write_text(str(nbytes))
            if (self.path / "memory.swap.max").exists():
                (self.path / "memory.swap.max").write_text("0")
        else:
            memsw = self.path / "memory.memsw.limit_in_bytes"
            current = self.path / "memory.limit_in_bytes"
            # v1 requires memory <= memory+swap at every step: order the two writes accordingly.
            if memsw.exists() and int(_read(memsw) or 0) < nbytes:
                memsw.write_text(str(nbytes))
                current.write_text(str(nbytes))
            else:
                current.write_text(str(nbytes))
                if memsw.exists():
                    memsw.write_text(str(nbytes))

    def close(self) -> None:
        for _ in range(50):  # the kernel frees a dead tree's group a moment after the last process goes
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


def remove_stale_groups() -> list[str]:
    """Remove the groups a killed scorer left behind (named after its pid, which is gone): empty groups
    only, so a live one is never touched. The names removed."""
    found = _base()
    removed = []
    if found is None:
        return removed
    for path in found[0].glob("divlab-*-*"):
        pid = path.name.split("-")[1]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        try:
            path.rmdir()
            removed.append(path.name)
        except OSError:  # still holds processes (of a scorer whose pid was reused): left alone
            pass
    return removed


@functools.cache
def oom_protection() -> bool:
    """Can divlab keep its supervisors out of the OOM killer's choice (oom_score_adj -1000 needs
    CAP_SYS_RESOURCE)? Tried in a child, which exits at once."""
    pid = os.fork()
    if pid == 0:
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("-1000")
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def new_group(nbytes: int) -> MemoryGroup | None:
    """A limited group, or None where the machine gives divlab no writable memory cgroup."""
    if _base() is None:
        return None
    try:
        group = MemoryGroup()
    except OSError:
        return None
    try:
        group.limit(nbytes)
    except OSError:
        group.close()
        return None
    return group
