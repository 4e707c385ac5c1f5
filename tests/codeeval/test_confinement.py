"""Confinement: what a sandboxed program can reach of the host, and how much it can take.

Each probe runs through both sandbox paths. Files, sockets and FIFOs are made by the test outside /tmp
(inside the repository), where the old sandbox's read-only view of the host still showed them.
"""

import contextlib
import os
import socket
import tempfile
import textwrap
from pathlib import Path

import pytest

from divlab.codeeval import cgroup
from divlab.codeeval import wire
from divlab.codeeval.sandbox import COMPLETED, Limits, execute, isolation, zygotes

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces"),
              pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])]


def _sandbox(start):
    return zygotes() if start == "forked from a zygote" else contextlib.nullcontext()


def _probe(program: str, limits: Limits = Limits(wall_seconds=30)):
    """Run `program` (defining probe()) and return what probe() returned."""
    execution = execute({"mode": "calls", "program": textwrap.dedent(program), "entry_point": "probe", "calls": [[]]},
                        limits)
    assert execution.status == COMPLETED and execution.stream.loaded, execution
    record = execution.stream.records[0]
    assert record.kind == "ok", record.body
    return wire.decode_value(record.body, 1 << 20, 1 << 16)


@pytest.fixture
def host_things():
    """A mode-0600 file, a listening UNIX socket, a FIFO and a samples file, outside /tmp."""
    with tempfile.TemporaryDirectory(dir=REPO, prefix=".confinement-") as folder:
        folder = Path(folder)
        secret = folder / "secret.txt"
        secret.write_text("the host's secret")
        secret.chmod(0o600)
        samples = folder / "samples.jsonl"
        samples.write_text('{"task_id": "HumanEval/0", "completion": "other samples\' code"}\n')
        fifo = folder / "fifo"
        os.mkfifo(fifo)
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(folder / "host.sock"))
        server.listen()
        abstract = socket.socket(socket.AF_UNIX)
        abstract.bind(b"\0divlab-confinement-test")
        abstract.listen()
        try:
            yield {"secret": str(secret), "samples": str(samples), "fifo": str(fifo), "socket": str(folder / "host.sock")}
        finally:
            server.close()
            abstract.close()


def test_the_program_sees_no_host_files_sockets_or_fifos(start, host_things):
    program = f"""
        import os, socket
        THINGS = {host_things!r}
        def attempt(fn):
            try:
                return repr(fn())[:200]
            except Exception as exc:
                return 'refused: ' + type(exc).__name__
        def probe():
            out = {{'uid': os.getuid(), 'passwd': open('/etc/passwd').read(), 'root': attempt(lambda: os.listdir('/root')),
                    'shadow': attempt(lambda: open('/etc/shadow').read()), 'home': attempt(lambda: os.listdir('/home'))}}
            out['secret'] = attempt(lambda: open(THINGS['secret']).read())
            out['samples'] = attempt(lambda: open(THINGS['samples']).read())
            out['fifo'] = attempt(lambda: os.open(THINGS['fifo'], os.O_WRONLY | os.O_NONBLOCK))
            def connect(address):
                s = socket.socket(socket.AF_UNIX)
                s.connect(address)
                return s.send(b'hello')
            out['socket'] = attempt(lambda: connect(THINGS['socket']))
            out['abstract socket'] = attempt(lambda: connect(b'\\0divlab-confinement-test'))
            out['tcp'] = attempt(lambda: socket.create_connection(('127.0.0.1', 22), timeout=2))
            return out
        """
    with _sandbox(start):
        seen = _probe(program)
    for name in ("secret", "samples", "fifo", "socket", "abstract socket", "tcp", "shadow"):
        assert seen[name].startswith("refused"), (name, seen[name])
    host_users = {line.split(":")[0] for line in Path("/etc/passwd").read_text().splitlines() if line}
    sandbox_users = {line.split(":")[0] for line in seen["passwd"].splitlines() if line}
    assert sandbox_users <= {"root", "sandbox"} and sandbox_users != host_users
    # /root shows at most the path down to Python's own directories (pyenv installs live there), no more
    host_root = set(os.listdir("/root")) if os.access("/root", os.R_OK) else set()
    shown = set(eval(seen["root"])) if not seen["root"].startswith("refused") else set()  # noqa: S307 (our repr)
    assert len(shown) <= 1 and (not host_root or shown < host_root | {".pyenv"} or not shown)
    if os.geteuid() == 0:
        assert seen["uid"] != 0  # an unprivileged uid of its own namespace, mapped to an unprivileged host uid


def test_a_fork_loop_run_as_root_is_held_to_the_process_limit(start):
    program = """
        import os, time
        def probe():
            children = 0
            for _ in range(200):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                children += 1
            return children
        """
    with _sandbox(start):
        children = _probe(program, Limits(wall_seconds=30, max_processes=32))
    assert children < 32


@pytest.mark.skipif(cgroup.memory_scope().startswith("each process"), reason="no writable memory cgroup here")
def test_a_tree_of_processes_is_held_to_the_memory_limit_together(start):
    program = """
        import os, time
        def probe():
            children = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:
                    block = bytearray(600 * 2**20)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(3)
                    os._exit(0)
                children.append(pid)
            return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        """
    with _sandbox(start):
        codes = _probe(program, Limits(wall_seconds=60, memory_bytes=1024 * 2**20))
    # each child alone fits the 1 GiB cap (RLIMIT_AS binds each process); together they do not
    assert -9 in codes, codes

