"""Hostile programs: each fails its own sample only, and nothing escapes the sandbox."""

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from divlab.codeeval import wire
from divlab.codeeval.sandbox import COMPLETED, CRASH, RUNNER, TIMEOUT, Limits, execute, isolation, zygotes
from divlab.codeeval.score import ScoreConfig, score_samples

REPO = Path(__file__).resolve().parents[2]
# What a program's run came to, as these tests judge it: it ran and its one call returned (PASS), it ran
# and raised or never got to the call (FAIL), or the sandbox's own TIMEOUT / CRASH.
PASS, FAIL = "pass", "fail"


def run(program: str, limits: Limits = Limits(), call: str = "f") -> tuple[str, object]:
    """`program` then `f()`, in the sandbox: (outcome, what f returned)."""
    execution = execute({"mode": "calls", "program": f"{program}\ndef {call}():\n    return 'done'\n"
                         if call == "f" else program, "entry_point": call, "calls": [[]]}, limits)
    if execution.status != COMPLETED:
        return execution.status, execution
    records = execution.stream.records
    if not execution.stream.loaded or not records or records[0].kind != "ok":
        return FAIL, execution
    return PASS, wire.decode_value(records[0].body, 1 << 20, 1 << 16)


def _sandbox_processes(grace: float = 10.0, exclude=frozenset()) -> list[int]:
    """Runner processes (but `exclude`) still alive after `grace` seconds (the kernel reaps a dead
    namespace's processes asynchronously, so a fork bomb's last children may take a moment to disappear)."""
    deadline = time.monotonic() + grace
    while True:
        pids = [p for p in _runner_pids() if p not in exclude]
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def _runner_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if str(RUNNER).encode() in cmdline:
                pids.append(int(entry))
    return pids


@pytest.fixture
def sentinel(tmp_path):
    """A file outside the sandbox that hostile programs try to change or delete."""
    path = tmp_path / "precious.txt"
    path.write_text("do not touch")
    return path


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in (root / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


def hostile_programs(sentinel: Path) -> dict[str, tuple[str, set[str]]]:
    target = str(sentinel)
    return {
        "hangs": ("while True:\n    pass\n", {TIMEOUT}),
        "sleeps": ("import time\ntime.sleep(60)\n", {TIMEOUT}),
        "crashes": ("import os\nos.abort()\n", {CRASH}),
        "segfaults": ("import ctypes\nctypes.string_at(0)\n", {CRASH}),
        "exhausts memory": ("blocks = []\nwhile True:\n    blocks.append(bytearray(2**26))\n", {FAIL, CRASH}),
        "forks without end": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                              {TIMEOUT, FAIL, CRASH}),
        "floods output": ("while True:\n    print('x' * 65536)\n", {FAIL, CRASH}),
        "tries the network": ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=3)\n", {FAIL}),
        "resolves names": ("import socket\nsocket.getaddrinfo('pypi.org', 443)\n", {FAIL}),
        "writes outside": (f"open({target!r}, 'w').write('owned')\n", {FAIL}),
        "deletes outside": (f"import os\nos.remove({target!r})\n", {FAIL}),
        "deletes the project": (f"import shutil\nshutil.rmtree({str(REPO / 'src')!r})\n", {FAIL}),
        "remounts read-write": ("import subprocess\nsubprocess.run(['mount', '-o', 'remount,rw', '/'], check=True)\n",
                                {FAIL}),
        "kills its parent": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\n"
                             "raise SystemExit(1)\n", {FAIL, CRASH}),
        "exits early": ("import os\nos._exit(0)\n", {CRASH}),
        "exits early with success": ("import sys\nsys.exit(0)\n", {FAIL}),
        "kills what it can": ("import os, signal\nfor target in (-1, 0):\n    try:\n        os.kill(target, signal.SIGKILL)\n"
                              "    except OSError:\n        pass\nraise SystemExit(1)\n", {FAIL, CRASH}),
    }


@pytest.mark.slow
@pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces (the full sandbox)")
@pytest.mark.parametrize("start", ["fresh interpreter", "forked from a zygote"])
def test_hostile_programs_fail_alone_and_nothing_escapes(sentinel, start):
    before = _tree_digest(REPO)
    limits = Limits(wall_seconds=4, memory_bytes=512 * 2**20)
    with zygotes() if start == "forked from a zygote" else contextlib.nullcontext():
        run("pass\n", limits)
        resident = set(_runner_pids())  # the zygote (and its unshare parent) stay between programs
        for name, (program, allowed) in hostile_programs(sentinel).items():
            outcome, execution = run(program, limits)
            assert outcome in allowed, f"{name}: {execution}"
            assert sentinel.read_text() == "do not touch", name
            assert set(_sandbox_processes(exclude=resident)) == set(), f"{name} left processes behind"
            assert set(_runner_pids()) == resident, f"{name} killed the zygote"
            if outcome != PASS:
                assert len(execution.stdout) < 20_000, name  # output kept only up to the cap
        # A correct program still passes after all that.
        assert run("assert sum(range(5)) == 10\n", limits) == (PASS, "done")
    assert _tree_digest(REPO) == before
    assert _sandbox_processes() == []  # the zygotes end with their block


def test_sandbox_has_a_private_writable_tmp_and_scrubbed_environment(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    program = ("import os\nopen('scratch.txt', 'w').write('ok')\nassert open('scratch.txt').read() == 'ok'\n"
               "assert 'SECRET_TOKEN' not in os.environ, os.environ\nprint(os.getcwd())\n")
    assert run(program) == (PASS, "done")
    assert not Path("scratch.txt").exists()


@pytest.mark.slow
@pytest.mark.skipif(isolation()[1] != "namespaces", reason="needs user/network namespaces (the full sandbox)")
def test_scoring_a_hostile_samples_file_finishes_and_correct_samples_pass(tmp_path, sentinel):
    rows = [{"task_id": "HumanEval/0", "completion": "    return any(abs(a - b) < threshold for i, a in "
             "enumerate(numbers) for j, b in enumerate(numbers) if i != j)\n"}]
    for name, (program, _) in hostile_programs(sentinel).items():
        rows.append({"task_id": "HumanEval/0", "solution": program})
    rows.append({"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # One worker: CPU is not partitioned between concurrent sandboxes (no cgroups), so a fork bomb running
    # beside a correct sample could push it past a 4 s limit on 2 cores.
    summary = score_samples(samples, ScoreConfig("humaneval", timeout=4, memory_bytes=512 * 2**20, workers=1))
    results = [json.loads(line) for line in (tmp_path / "eval_results.jsonl").read_text().splitlines()]
    assert [r["base"]["status"] for r in results][0] == PASS
    assert results[-1]["base"]["status"] == PASS
    assert all(r["base"]["status"] != PASS for r in results[1:-1])
    assert summary["per_task"]["HumanEval/0"]["base"] == {"n": len(rows) - 1, "correct": 1}
    assert sentinel.read_text() == "do not touch"
    assert _sandbox_processes() == []
