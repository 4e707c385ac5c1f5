"""Nothing of one sample reaches the next, or outlives it: not its code or outputs (the zygote never
holds them), not its SysV IPC objects (a fresh IPC namespace per program), not its memory, processes or
groups. And the sandbox works wherever Python lives (an import path under /tmp)."""

import contextlib
import os
import textwrap
import time
from pathlib import Path

import pytest

from divlab.codeeval import cgroup, sandbox, wire
from divlab.codeeval.sandbox import COMPLETED, Limits, execute, isolation, zygotes

pytestmark = pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces")
BOTH = pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])


def _sandbox(start):
    return zygotes() if start == "forked from a zygote" else contextlib.nullcontext()


def _call(program: str, limits: Limits = Limits(wall_seconds=60)):
    execution = execute({"mode": "calls", "program": textwrap.dedent(program), "entry_point": "probe",
                         "calls": [[]]}, limits)
    assert execution.status == COMPLETED and execution.stream.loaded, execution
    record = execution.stream.records[0]
    assert record.kind == "ok", record.body
    return wire.decode_value(record.body, 1 << 20, 1 << 16)


MARKER = "divlab-private-" + "f3b1c2d9e8a7"
HOLDER = f"""
    SECRET = {MARKER!r} * 64  # what a sibling must never read
    def probe():
        return len(SECRET)
    """
SCANNER = f"""
    import ctypes
    REVERSED = {MARKER[::-1]!r}
    def probe():
        marker = REVERSED[::-1].encode()
        found = 0
        for line in open('/proc/self/maps').read().splitlines():
            fields = line.split()
            if not fields[1].startswith('rw') or (len(fields) > 5 and not fields[5].startswith('[heap')):
                continue  # anonymous memory and the heap: where an inherited interpreter keeps its objects
            start, end = (int(x, 16) for x in fields[0].split('-'))
            found += ctypes.string_at(start, end - start).count(marker)
        return found
    """


def test_a_program_forked_from_the_zygote_finds_nothing_of_earlier_samples_in_its_memory():
    with zygotes():
        alone = _call(SCANNER)  # the marker the scanner builds itself
    with zygotes():
        for _ in range(3):
            assert _call(HOLDER) == len(MARKER) * 64
        after = _call(SCANNER)
    assert after == alone


@BOTH
def test_sysv_ipc_objects_and_their_memory_end_with_the_program(start):
    maker = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def probe():
            queue = libc.msgget(4242, 0o1600)  # IPC_CREAT | 0600
            message = ctypes.create_string_buffer(b'\\x01\\0\\0\\0\\0\\0\\0\\0private text')
            sent = libc.msgsnd(queue, message, 12, 0)
            libc.shmat.restype = ctypes.c_void_p
            too_large = libc.shmget(4244, 256 << 20, 0o1600)  # more than the sample's 64 MiB of SysV memory
            segment = libc.shmget(4243, 48 << 20, 0o1600)
            address = libc.shmat(segment, None, 0)
            ctypes.memset(address, 1, 48 << 20)  # 48 MiB of shared memory, touched
            return [queue >= 0, sent == 0, too_large, segment >= 0]
        """
    finder = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def probe():
            return [libc.msgget(4242, 0), libc.shmget(4243, 0, 0)]
        """
    shmem_before = _shmem()
    with _sandbox(start):
        assert _call(maker, Limits(wall_seconds=60, memory_bytes=1 << 30)) == [True, True, -1, True]
        assert _call(finder) == [-1, -1]  # the next program's IPC namespace holds none of them
        deadline = time.monotonic() + 10  # the kernel frees a dead namespace's objects asynchronously
        while _shmem() - shmem_before > 24 << 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _shmem() - shmem_before < 24 << 20  # the 48 MiB segment is not held by the host


def _shmem() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no Shmem in /proc/meminfo")


@BOTH
def test_open_files_are_capped_per_process(start):
    program = """
        import os
        def probe():
            fds = []
            try:
                while len(fds) < 100000:
                    fds.append(os.open('/dev/null', os.O_RDONLY))
            except OSError:
                pass
            return len(fds)
        """
    with _sandbox(start):
        assert _call(program) < Limits.max_open_files


@BOTH
def test_an_import_path_under_tmp_stays_importable(start, tmp_path, monkeypatch):
    """A venv or interpreter under /tmp is bound into the sandbox, not hidden by its private /tmp."""
    site = tmp_path / "venv" / "site-packages"  # world-readable, as an installed venv is
    site.mkdir(parents=True)
    assert str(site).startswith("/tmp/")
    (site / "divlab_tmp_module.py").write_text("VALUE = 'imported from /tmp'\n")
    site.chmod(0o755)
    (site / "divlab_tmp_module.py").chmod(0o644)
    monkeypatch.setattr(sandbox, "_SYS_PATH", [*sandbox._SYS_PATH, str(site)])
    monkeypatch.setattr(sandbox, "_VISIBLE", [*sandbox._VISIBLE, str(site)])
    program = """
        import os
        def probe():
            import divlab_tmp_module
            open('/tmp/scratch', 'w').write('the private /tmp is still writable')
            try:
                open(divlab_tmp_module.__file__, 'a')
                writable = True
            except OSError:
                writable = False
            return [divlab_tmp_module.VALUE, writable]
        """
    with _sandbox(start):
        assert _call(program) == ["imported from /tmp", False]


@BOTH
def test_a_program_killed_by_a_signal_leaves_no_traceback_of_ours(start):
    with _sandbox(start):
        execution = execute({"mode": "calls", "program": "import os, signal\ndef probe():\n"
                             "    os.kill(os.getpid(), signal.SIGKILL)\n", "entry_point": "probe", "calls": [[]]})
    # PID 1 of its own namespace (forked path) is immune to its own SIGKILL; elsewhere it dies of it
    assert execution.status == "completed" or "SIGKILL" in execution.error, execution
    assert "Traceback" not in execution.stderr and "Invalid argument" not in execution.stderr


@pytest.mark.skipif(cgroup.memory_scope().startswith("each process"), reason="no writable memory cgroup here")
def test_groups_left_by_a_killed_scorer_are_removed_and_ours_end_with_the_run():
    base = cgroup._base()[0]
    dead = 2**22 + 12345  # above pid_max's default: no such process
    assert not Path(f"/proc/{dead}").exists()
    stale = base / f"divlab-{dead}-0"
    stale.mkdir()
    assert f"divlab-{dead}-0" in cgroup.remove_stale_groups() and not stale.exists()
    with zygotes():
        _call("def probe():\n    return 1\n")
    assert not list(base.glob(f"divlab-{os.getpid()}-*"))


def test_without_namespaces_an_overrun_kills_only_the_programs_processes(tmp_path):
    """The rlimits fallback shares the host's PID space: cutting a program there must never mean kill(-1)
    (as root: every process). Checked inside a PID namespace of the test's own, beside a bystander."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux unshare")
    script = tmp_path / "overrun.py"
    script.write_text(textwrap.dedent("""
        import subprocess, warnings
        warnings.simplefilter("ignore")
        from divlab.codeeval.sandbox import Limits, execute, isolation
        assert isolation()[1] == "rlimits"
        bystander = subprocess.Popen(["sleep", "60"])
        program = "import signal, time\\ndef f():\\n    signal.setitimer(signal.ITIMER_REAL, 0)\\n    time.sleep(5)\\n"
        execution = execute({"mode": "calls", "program": program, "entry_point": "f", "calls": [[]],
                             "time_limits": [0.5], "watch_limits": [0.5]}, Limits(wall_seconds=20))
        assert execution.status == "timeout", execution
        assert bystander.poll() is None, "the bystander was killed"
        bystander.kill()
        print("ok")
        """))
    flags = ["--pid", "--fork", "--mount-proc"] if os.geteuid() == 0 else ["--user", "--map-root-user", "--pid",
                                                                            "--fork", "--mount-proc"]
    done = subprocess.run(["unshare", *flags, sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DIVLAB_SANDBOX": "rlimits"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
