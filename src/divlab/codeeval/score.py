"""Score a samples file against a benchmark: every sample executed in the sandbox, pass@k per suite.

Outputs (next to the samples unless told otherwise):
- `eval_results.jsonl`: one row per sample (status per suite, first error, solution hash);
- `pass_at_k.json`: pass@k per suite overall and per task, stamped with the benchmark's name,
  version and checksums, the sandbox's isolation level and the limits used;
- `codeeval-cache.sqlite`: outcomes keyed by (benchmark, task, code hash, limits). A rerun executes only
  what is new; an interrupted run loses nothing finished.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import divlab
import divlab.codeeval.wire as wire
from divlab.codeeval.benchmarks import Benchmark, Problem, load_benchmark, packaged_files
from divlab.codeeval.cgroup import memory_scope, oom_protection, remove_stale_groups
from divlab.codeeval.judge import assert_modes, io_modes, judge_asserts, judge_io, result_bytes
from divlab.codeeval.passk import summarize
from divlab.codeeval.samples import Sample, SamplesError, read_samples  # noqa: F401 (SamplesError: public here)
from divlab.codeeval.sandbox import COMPLETED, CRASH, Execution, Limits, execute, hiding, isolation
from divlab.codeeval.truth import arguments, ground_truth, io_inputs, not_none, record_calls
from divlab.codeeval.workers import parallel
from divlab.atomic import atomic_write_text
from divlab.errors import ConfigError
from divlab.machine import available_cores

# A sample's verdict per suite, decided here from plain values (never by the sandboxed program).
PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
# Outcomes cached by an older scorer (whose verdicts a program could forge) are not reused.
SCORER = 4
MAX_ERROR = 2000  # characters of an error or stderr kept in results and the cache


@dataclass(frozen=True)
class ScoreConfig:
    benchmark: str
    data: str | None = None  # local benchmark file; None = packaged or fetched
    workers: int = 0  # 0 = one per available core
    timeout: float = 20.0  # wall seconds per program suite (HumanEval check, MBPP asserts)
    # io suites, as EvalPlus: each input may take max(min_time_limit, factor * reference seconds) and a
    # whole suite at most per_task_timeout.
    min_time_limit: float = 4.0
    gt_time_limit_factor: float = 4.0
    per_task_timeout: float = 60.0
    memory_bytes: int = Limits.memory_bytes
    ks: tuple[int, ...] = (1, 10, 100)

    def __post_init__(self):
        for name in ("timeout", "min_time_limit", "gt_time_limit_factor", "per_task_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(name, getattr(self, name), "must be positive")
        if self.workers < 0:
            raise ConfigError("workers", self.workers, "must be >= 0")

    def limits_key(self) -> str:
        d = asdict(self)
        for unrelated in ("data", "workers", "ks"):
            d.pop(unrelated)
        return json.dumps(d, sort_keys=True)


# -- scoring --------------------------------------------------------------------------------------------
class ResultCache:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # a commit per outcome without an fsync each (~3 ms): WAL keeps what is committed through a crash of
        # the scorer; a power cut may lose the last outcomes, which a rerun executes again
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS outcome (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str) -> dict | None:
        row = self.db.execute("SELECT value FROM outcome WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO outcome VALUES (?, ?)", (key, json.dumps(value, allow_nan=False)))


def evaluate_solution(benchmark: Benchmark, problem: Problem, solution: str, config: ScoreConfig,
                      truth: dict | None, calls: dict | None = None) -> dict:
    """Every suite of one problem for one solution: {suite: {"status", "error", ...}}. The sandbox only
    returns the program's records; the verdict is reached here (judge.py)."""
    if not benchmark.io:
        recorded = calls[problem.task_id]
        modes = assert_modes(recorded)
        execution = execute({"mode": "calls", "program": f"{problem.test_imports}\n{solution}",
                             "entry_point": problem.entry_point, "calls": arguments(recorded),
                             "setup": problem.test_setup, "modes": wire.sandbox_modes(modes)},
                            Limits(wall_seconds=config.timeout, memory_bytes=config.memory_bytes,
                                   result_bytes=result_bytes(modes)))
        if execution.status != COMPLETED:
            return {"base": _summary(execution, execution.status, execution.error)}
        passed, why = judge_asserts(problem, recorded, execution.stream)
        return {"base": _summary(execution, PASS if passed else FAIL, why)}
    outcome = {}
    for suite in benchmark.suites:
        if suite != "base" and outcome["base"]["status"] != PASS:
            outcome[suite] = {"status": NOT_RUN, "error": "fails the base tests"}
            continue
        expected = truth[problem.task_id][suite]
        time_limits = [max(config.min_time_limit, config.gt_time_limit_factor * t) for t in expected.seconds]
        # EvalPlus: min(per-task cap, sum of per-input limits) + 1 s, and 1 s more at join; plus our start-up.
        # Where the reference itself needs more than half the cap on this machine (Mbpp/599 takes ~50 s on a
        # slow 2-core box), the cap grows to twice the reference's time, so a correct solution is not cut.
        # Sending the outputs back costs time EvalPlus (comparing in place) does not spend: twice the reference's.
        cap = max(config.per_task_timeout, 2 * sum(expected.seconds))
        wall = min(cap, sum(time_limits)) + 3 + 2 * expected.encoding
        inputs = io_inputs(problem, suite)
        modes = io_modes(expected)  # each call's exact cap, enforced here when its output is decoded
        # What the sandbox sees is the same for every input of the task: per-input limits (the reference's
        # time on each input) and caps (the expected output's length) would be readable by the program, and
        # the caps tell "true" from "false". Each input may take the task's largest limit; the suite's wall
        # limit below still bounds the sum (docs/codeeval.md, "Nothing derived from the expected outputs").
        limit = max(time_limits, default=config.min_time_limit)
        watch = max((t + 2 * e for t, e in zip(time_limits, expected.encodings)), default=limit)
        execution = execute({"mode": "calls", "program": solution, "entry_point": problem.entry_point,
                             "calls": inputs, "time_limits": [limit] * len(inputs),
                             "modes": wire.sandbox_modes(modes),
                             # timed by the watcher outside the program: the call, then sending its output
                             "watch_limits": [watch] * len(inputs),
                             "not_none": not_none(benchmark, problem)},
                            Limits(wall_seconds=wall, memory_bytes=config.memory_bytes, result_bytes=result_bytes(modes)))
        if execution.status != COMPLETED:
            outcome[suite] = _summary(execution, execution.status, execution.error)
            continue
        passed, why = judge_io(benchmark, problem, inputs, expected, execution.stream)
        outcome[suite] = _summary(execution, PASS if passed == len(inputs) else FAIL, why, passed, len(inputs))
    return outcome


def _summary(execution: Execution, status: str, error: str | None, passed: int | None = None,
             n_inputs: int | None = None) -> dict:
    out = {"status": status, "seconds": round(execution.wall_seconds, 3)}
    if status != PASS:
        out["error"] = None if error is None else str(error)[:MAX_ERROR]
        if execution.status == CRASH and execution.stderr:
            out["stderr"] = execution.stderr[-MAX_ERROR // 2:]
    if n_inputs is not None:
        out["passed_inputs"], out["n_inputs"] = passed, n_inputs
    return out


def score_samples(samples_path: str | Path, config: ScoreConfig, out_dir: str | Path | None = None) -> dict:
    """Execute every sample (what the cache does not hold yet) and write the results. Returns the summary."""
    samples_path = Path(samples_path)
    out_dir = Path(out_dir) if out_dir else samples_path.parent
    remove_stale_groups()  # what a killed scorer left
    benchmark = load_benchmark(config.benchmark, config.data)
    samples = read_samples(samples_path, benchmark)
    workers = config.workers or available_cores()
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = ResultCache(out_dir / "codeeval-cache.sqlite")
    limits_key = config.limits_key()

    def key(sample: Sample) -> str:
        return hashlib.sha256(f"{benchmark.md5}|{sample.task_id}|{sample.sha256}|{limits_key}|scorer {SCORER}"
                              .encode()).hexdigest()

    outcomes, todo = {}, {}  # one cache lookup per distinct (task, code); identical samples run once
    for sample in samples:
        k = key(sample)
        if k not in outcomes:
            outcomes[k] = cache.get(k)
            if outcomes[k] is None:
                todo[k] = sample
    truth = None
    tasks = sorted({s.task_id for s in todo.values()})
    if benchmark.io and todo:
        truth = ground_truth(benchmark, tasks, workers)

    def run(item):
        k, sample = item
        # assert suites: the test's calls are recorded in the worker, while the other workers' programs run
        calls = None if benchmark.io else record_calls(benchmark, [sample.task_id])
        return k, evaluate_solution(benchmark, benchmark.problems[sample.task_id], sample.solution, config, truth,
                                    calls)

    # Programs never see the samples file (other samples' code) or the benchmark (its answers), wherever
    # these lie.
    with hiding([samples_path, benchmark.source, *packaged_files()]):
        for k, outcome in parallel(run, list(todo.items()), workers, f"scoring {benchmark.name}"):
            cache.put(k, outcome)  # committed one by one: an interrupted run resumes from here
            outcomes[k] = outcome

    rows, summary = _tally(samples, [outcomes[key(sample)] for sample in samples], benchmark, config, samples_path,
                           limits_key)
    atomic_write_text(out_dir / "eval_results.jsonl", "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))
    atomic_write_text(out_dir / "pass_at_k.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def _tally(samples: list, outcomes: list, benchmark, config: ScoreConfig, samples_path: Path, limits_key: str):
    """(rows of eval_results.jsonl, pass_at_k.json's summary): a sample passes a suite when it passed every suite
    before it (plus includes base)."""
    rows, counts = [], {suite: {} for suite in benchmark.suites}
    for sample, outcome in zip(samples, outcomes):
        row = {"task_id": sample.task_id, "completion_id": sample.completion_id, "solution_sha256": sample.sha256}
        passed_so_far = True
        for suite in benchmark.suites:
            passed_so_far = passed_so_far and outcome[suite]["status"] == PASS
            row[suite] = outcome[suite]
            n, c = counts[suite].get(sample.task_id, (0, 0))
            counts[suite][sample.task_id] = (n + 1, c + int(passed_so_far))
        rows.append(row)
    summary = {
        "benchmark": benchmark.identity(),
        "samples": str(samples_path),
        "n_samples": len(samples),
        "n_tasks": len(counts["base"]),
        "suites": {suite: summarize(counts[suite], config.ks) for suite in benchmark.suites},
        "per_task": {t: {suite: {"n": counts[suite][t][0], "correct": counts[suite][t][1]}
                         for suite in benchmark.suites} for t in counts["base"]},
        "sandbox": {"isolation": isolation()[1], "memory_limit_binds": memory_scope(),
                    # without CAP_SYS_RESOURCE the OOM killer may pick a supervisor, not the program: said here
                    "supervisor_oom_protected": oom_protection(), **json.loads(limits_key)},
        "divlab_version": divlab.__version__,
    }
    return rows, summary
