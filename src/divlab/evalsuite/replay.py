"""Suite runs anyone can replay with lm-eval itself: every setting divlab handed to lm-eval, the hashes that
identify what was asked, and the equivalent `lm_eval` command line, recorded in each benchmark's result (and
so in scores.json).

Why: lm-eval's command line does not default to what its Python API does. Its `--seed` defaults to
0,1234,1234,1234 (divlab passes one seed to all four generators), so a plain `lm_eval` run draws other few-shot
examples; it turns `--fewshot_as_multiturn` on only with `--apply_chat_template`. The command written here
spells every one of those out.
"""

from __future__ import annotations

import hashlib
import json
import shlex

# lm-eval's four generators, in the order its `--seed a,b,c,d` takes them
SEED_SLOTS = ("random_seed", "numpy_random_seed", "torch_random_seed", "fewshot_random_seed")


def lm_eval_settings(*, seed: int, chat: bool, limit: int | None, max_gen_toks: int, batch_size: int) -> dict:
    """The keyword arguments of `lm_eval.simple_evaluate` that decide what is asked and how it is scored
    (divlab passes exactly these, so what is recorded is what ran)."""
    return {
        **{slot: seed for slot in SEED_SLOTS},
        "apply_chat_template": chat,
        "fewshot_as_multiturn": chat,  # lm-eval's CLI: on with the chat template, refused without it
        "system_instruction": None,
        "gen_kwargs": {"max_gen_toks": max_gen_toks} if max_gen_toks else None,
        "limit": limit,
        "batch_size": batch_size,
        "bootstrap_iters": 0,
        "num_fewshot": None,  # each task's own
    }


def _canonical(value) -> str:
    """A task config as JSON: functions by their qualified name, so the hash is stable across processes."""
    def default(item):
        if callable(item):
            return f"{getattr(item, '__module__', '?')}.{getattr(item, '__qualname__', repr(item))}"
        return repr(item)

    return json.dumps(value, sort_keys=True, default=default)


def task_config_hashes(configs: dict) -> dict[str, str]:
    """sha256 of each task's config as lm-eval resolved it (prompts, shots, filters, metrics, data source)."""
    return {task: hashlib.sha256(_canonical(config).encode()).hexdigest() for task, config in sorted(configs.items())}


def sample_hashes(samples: dict) -> dict[str, str]:
    """lm-eval's own `task_hashes` (its EvaluationTracker: sha256 over each sample's doc, prompt and target
    hashes in order): an `lm_eval --log_samples --output_path` run of the command below writes the same."""
    from lm_eval.utils import hash_string

    return {task: hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in rows))
            for task, rows in sorted(samples.items())}


def model_args(model: str, weights: str, adapter_tokenizer: bool, dtype: str) -> dict:
    """lm-eval's `--model_args` for what divlab loaded: the resolved weights (an alias or GGUF file becomes
    divlab's converted directory), a LoRA adapter as `peft=` (divlab merges it; the same function)."""
    from divlab.models.pretrained import adapter_base

    args = {"pretrained": weights, "dtype": dtype}
    if adapter_base(model):
        args["peft"] = model
        if adapter_tokenizer:
            args["tokenizer"] = model
    return args


def command_line(tasks: list[str], settings: dict, model_arguments: dict, device: str,
                 lm_eval_model: str = "hf") -> str:
    seeds = ",".join(str(settings[slot]) for slot in SEED_SLOTS)
    words = ["lm_eval", "--model", lm_eval_model,
             "--model_args", ",".join(f"{k}={v}" for k, v in model_arguments.items()),
             "--tasks", ",".join(tasks), "--device", device, "--batch_size", str(settings["batch_size"]),
             "--seed", seeds]  # bootstrap_iters has no flag: it changes only the stderr estimates
    if settings["apply_chat_template"]:
        words.append("--apply_chat_template")
    words += ["--fewshot_as_multiturn", "true" if settings["fewshot_as_multiturn"] else "false"] \
        if settings["apply_chat_template"] else []
    if settings["system_instruction"]:
        words += ["--system_instruction", settings["system_instruction"]]
    if settings["gen_kwargs"]:
        words += ["--gen_kwargs", ",".join(f"{k}={v}" for k, v in settings["gen_kwargs"].items())]
    if settings["limit"]:
        words += ["--limit", str(settings["limit"])]
    if settings["num_fewshot"] is not None:
        words += ["--num_fewshot", str(settings["num_fewshot"])]
    words += ["--log_samples", "--output_path", "lm-eval-replay"]
    return shlex.join(words)


def replay_record(*, tasks: list[str], settings: dict, model_arguments: dict, device: str, output: dict,
                  source: str, lm_eval_model: str = "hf") -> dict:
    """What goes into a benchmark's result as `lm_eval_replay`."""
    import lm_eval

    local = source.startswith("local:")
    return {
        "lm_eval_version": lm_eval.__version__,
        "settings": settings,
        "model_args": model_arguments,
        "tasks": tasks,
        "n_shot": {task: output.get("n-shot", {}).get(task) for task in tasks},
        "task_config_sha256": task_config_hashes({t: output.get("configs", {}).get(t, {}) for t in tasks}),
        "task_hashes": sample_hashes({t: output.get("samples", {}).get(t, []) for t in tasks}),
        "command": command_line(tasks, settings, model_arguments, device, lm_eval_model),
        "data": (f"divlab read {source[len('local:'):]} in place of the task's hub dataset (same rows, mapped to "
                 f"the hub's fields); lm_eval reads the hub copy" if local else f"the hub dataset, as lm_eval does"),
    }
