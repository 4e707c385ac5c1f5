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
import pickle
import sqlite3
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

import divlab
from divlab.codeeval.asserts import arguments, record_calls, replay
from divlab.codeeval.cgroup import memory_scope
from divlab.codeeval.benchmarks import Benchmark, BenchmarkError, Problem, cache_dir, load_benchmark, packaged_files
from divlab.codeeval.compare import MBPP_OUTPUT_NOT_NONE, outputs_match
from divlab.codeeval.extract import code_from_chat_answer
from divlab.codeeval.passk import summarize
from divlab.codeeval.plain import Digest, NotPlainData, decode_plain, digest_of, output_of
from divlab.codeeval.sandbox import COMPLETED, CRASH, Execution, Limits, execute, hiding, isolation, zygotes
from divlab.machine import available_cores
from divlab.errors import DataError
from divlab.errors import ConfigError
from divlab.atomic import atomic_write_bytes

# A sample's verdict per suite, decided here from plain values (never by the sandboxed program).
PASS, FAIL, NOT_RUN = "pass", "fail", "not run"
GROUND_TRUTH_FORMAT = 6  # outputs come back as plain data (plain.py), large ones as digests
# Outcomes cached by an older scorer (whose verdicts a program could forge) are not reused.
SCORER = 2


class SamplesError(DataError):
    """A samples file divlab cannot score: bad JSON, missing fields, unknown tasks."""


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


@dataclass
class Sample:
    task_id: str
    completion_id: int
    solution: str
    raw: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.solution.encode()).hexdigest()


def read_samples(path: Path, benchmark: Benchmark) -> list[Sample]:
    """human-eval / EvalPlus samples: `task_id` with `solution` (whole program), `completion` (appended
    to the prompt), or only `raw` (a chat answer, code extracted here)."""
    if not path.is_file():
        raise SamplesError(f"samples file not found: {path}")
    samples, per_task = [], {}
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SamplesError(f"{path}: line {number} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SamplesError(f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno})") from None
            task_id = row.get("task_id") if isinstance(row, dict) else None
            if task_id is None:
                raise SamplesError(f"{path}: line {number} has no task_id")
            task_id = _normalise_task_id(task_id, benchmark)
            if task_id not in benchmark.problems:
                raise SamplesError(f"{path}: line {number}: task {row['task_id']!r} is not in {benchmark.name}")
            problem = benchmark.problems[task_id]
            if isinstance(row.get("solution"), str):
                solution = row["solution"]
            elif isinstance(row.get("completion"), str):
                solution = problem.prompt + row["completion"]
            elif isinstance(row.get("raw"), str):
                solution = code_from_chat_answer(row["raw"], problem.entry_point, problem.prompt)
            else:
                raise SamplesError(f"{path}: line {number}: needs a 'solution', 'completion' or 'raw' string")
            completion_id = per_task.get(task_id, 0)
            per_task[task_id] = completion_id + 1
            samples.append(Sample(task_id, completion_id, solution, row))
    if not samples:
        raise SamplesError(f"{path}: no samples")
    return samples


def _normalise_task_id(task_id, benchmark: Benchmark) -> str:
    # MBPP files use integer ids, EvalPlus "Mbpp/N": accept both.
    if isinstance(task_id, int) or (isinstance(task_id, str) and task_id.isdigit()):
        return f"Mbpp/{task_id}" if benchmark.oracle == "mbpp" else f"HumanEval/{task_id}"
    return str(task_id)


# -- ground truth for io suites -------------------------------------------------------------------------
def ground_truth(benchmark: Benchmark, task_ids, workers: int, refresh: bool = False) -> dict:
    """Expected outputs and reference seconds per task and suite, from the canonical solutions run in the
    sandbox; cached per benchmark checksum (as EvalPlus caches per dataset hash)."""
    path = cache_dir() / "groundtruth" / f"{benchmark.name}-{benchmark.md5}-v{GROUND_TRUTH_FORMAT}.pkl"
    cached = {}
    if path.exists() and not refresh:
        with open(path, "rb") as f:
            cached = pickle.load(f)  # our own cache file, written below
    missing = [t for t in task_ids if t not in cached]
    if missing:
        limits = Limits(wall_seconds=600, max_file_bytes=2**40)

        def run(task_id):
            problem = benchmark.problems[task_id]
            out = {}
            for suite in benchmark.suites:
                inputs = _inputs(problem, suite)
                execution = execute({"mode": "calls", "program": problem.prompt + problem.canonical_solution,
                                     "entry_point": problem.entry_point, "calls": inputs,
                                     "not_none": _not_none(benchmark, problem)}, limits)
                results = execution.detail.get("results", []) if execution.status == COMPLETED else []
                if len(results) != len(inputs) or any("raised" in r for r in results):
                    failed = next((r.get("raised") for r in results if "raised" in r), execution.error)
                    raise BenchmarkError(f"{benchmark.name} {task_id}: the reference solution failed on the {suite} "
                                         f"inputs ({failed}); stderr: {execution.stderr[-500:]}")
                outputs = [Digest(r["digest"], r["size"]) if "digest" in r else decode_plain(r["ok"]) for r in results]
                out[suite] = (outputs, [r["seconds"] for r in results], sum(r["encoding"] for r in results))
            return task_id, out

        for task_id, out in _parallel(run, missing, workers, f"reference outputs ({benchmark.name})"):
            cached[task_id] = out
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, pickle.dumps(cached))
    return cached


def _not_none(benchmark: Benchmark, problem: Problem) -> bool:
    """EvalPlus judges these MBPP+ tasks by whether the output is None (their references return re.Match)."""
    return benchmark.oracle == "mbpp" and problem.entry_point in MBPP_OUTPUT_NOT_NONE


def _inputs(problem: Problem, suite: str) -> list:
    return problem.base_inputs if suite == "base" else problem.plus_inputs


def _parallel(fn, items, workers: int, desc: str):
    """Yield fn(item) as they finish, on a thread pool (each call waits on a sandbox process; each thread
    forks its programs from its own sandbox zygote)."""
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


# -- scoring --------------------------------------------------------------------------------------------
class ResultCache:
    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS outcome (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str) -> dict | None:
        row = self.db.execute("SELECT value FROM outcome WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO outcome VALUES (?, ?)", (key, json.dumps(value)))


def evaluate_solution(benchmark: Benchmark, problem: Problem, solution: str, config: ScoreConfig,
                      truth: dict | None, calls: dict | None = None) -> dict:
    """Every suite of one problem for one solution: {suite: {"status", "error", ...}}. The sandbox only
    returns the program's outputs; the verdict is reached here."""
    outcome = {}
    if not benchmark.io:
        recorded = calls[problem.task_id]
        execution = execute({"mode": "calls", "program": f"{problem.test_imports}\n{solution}",
                             "entry_point": problem.entry_point, "calls": arguments(recorded),
                             "setup": problem.test_setup},
                            Limits(wall_seconds=config.timeout, memory_bytes=config.memory_bytes))
        if execution.status != COMPLETED:
            outcome["base"] = _summary(execution, execution.status, execution.error)
        else:
            passed, why = replay(problem, recorded, execution.detail)
            outcome["base"] = _summary(execution, PASS if passed else FAIL, execution.detail.get("error") or why)
        return outcome
    for suite in benchmark.suites:
        if suite != "base" and outcome["base"]["status"] != PASS:
            outcome[suite] = {"status": NOT_RUN, "error": "fails the base tests"}
            continue
        expected, seconds, encoding = truth[problem.task_id][suite]
        time_limits = [max(config.min_time_limit, config.gt_time_limit_factor * t) for t in seconds]
        # EvalPlus: min(per-task cap, sum of per-input limits) + 1 s, and 1 s more at join; plus our start-up.
        # Where the reference itself needs more than half the cap on this machine (Mbpp/599 takes ~50 s on a
        # slow 2-core box), the cap grows to twice the reference's time, so a correct solution is not cut.
        # Sending the outputs back costs time EvalPlus (comparing in place) does not spend: twice the reference's.
        cap = max(config.per_task_timeout, 2 * sum(seconds))
        wall = min(cap, sum(time_limits)) + 3 + 2 * encoding
        inputs = _inputs(problem, suite)
        execution = execute({"mode": "calls", "program": solution, "entry_point": problem.entry_point,
                             "calls": inputs, "time_limits": time_limits, "not_none": _not_none(benchmark, problem)},
                            Limits(wall_seconds=wall, memory_bytes=config.memory_bytes))
        if execution.status != COMPLETED:
            outcome[suite] = _summary(execution, execution.status, execution.error)
            continue
        passed, why = _compare_io(benchmark, problem, inputs, expected, execution.detail)
        outcome[suite] = _summary(execution, PASS if passed == len(inputs) else FAIL,
                                  execution.detail.get("error") or why, passed, len(inputs))
    return outcome


def _compare_io(benchmark: Benchmark, problem: Problem, inputs: list, expected: list, document: dict):
    """(inputs passed before the first failure, why it failed), EvalPlus's fast check."""
    results = document.get("results")
    if type(results) is not list:
        return 0, "no outputs"
    for i, want in enumerate(expected):
        if i >= len(results):
            return i, f"input {i}: not run"
        result = results[i]
        if type(result) is dict and ("digest" in result or isinstance(want, Digest)):
            # a large output: exact comparison of texts (EvalPlus's tolerances apply to small outputs only)
            expected_digest = want.sha256 if isinstance(want, Digest) else (digest_of(want) or ("small",))[0]
            if result.get("digest") != expected_digest:
                return i, f"wrong output on input {i} (a large output, compared by digest)"
            continue
        try:
            out = output_of(result)
        except NotPlainData as exc:
            return i, f"input {i}: {exc}"
        try:
            ok = outputs_match(benchmark.oracle, problem.entry_point, inputs[i], out, want, problem.atol)
        except Exception:  # EvalPlus asserts there: a failure of this sample
            ok = False
        if not ok:
            return i, f"wrong output on input {i}"
    return len(expected), None


def _summary(execution: Execution, status: str, error: str | None, passed: int | None = None,
             n_inputs: int | None = None) -> dict:
    out = {"status": status, "seconds": round(execution.wall_seconds, 3)}
    if status != PASS:
        out["error"] = error
        if execution.status == CRASH and execution.stderr:
            out["stderr"] = execution.stderr[-1000:]
    if n_inputs is not None:
        out["passed_inputs"], out["n_inputs"] = passed, n_inputs
    return out


def score_samples(samples_path: str | Path, config: ScoreConfig, out_dir: str | Path | None = None) -> dict:
    """Execute every sample (what the cache does not hold yet) and write the results. Returns the summary."""
    samples_path = Path(samples_path)
    out_dir = Path(out_dir) if out_dir else samples_path.parent
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
    truth = calls = None
    tasks = sorted({s.task_id for s in todo.values()})
    if benchmark.io and todo:
        truth = ground_truth(benchmark, tasks, workers)
    elif todo:
        calls = record_calls(benchmark, tasks)

    def run(item):
        k, sample = item
        return k, evaluate_solution(benchmark, benchmark.problems[sample.task_id], sample.solution, config, truth,
                                    calls)

    # Programs never see the samples file (other samples' code) or the benchmark (its answers), wherever
    # these lie.
    with hiding([samples_path, benchmark.source, *packaged_files()]):
        for k, outcome in _parallel(run, list(todo.items()), workers, f"scoring {benchmark.name}"):
            cache.put(k, outcome)  # committed one by one: an interrupted run resumes from here
            outcomes[k] = outcome

    rows, counts = [], {suite: {} for suite in benchmark.suites}
    for sample in samples:
        outcome = outcomes[key(sample)]
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
        "sandbox": {"isolation": isolation()[1], "memory_limit_binds": memory_scope(), **json.loads(limits_key)},
        "divlab_version": divlab.__version__,
    }
    _write_atomic(out_dir / "eval_results.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    _write_atomic(out_dir / "pass_at_k.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
