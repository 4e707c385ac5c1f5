"""Suite runs anyone can replay with lm-eval itself: scores.json records every lm-eval setting and the equivalent
`lm_eval` command line. The oracle is lm-eval: its own CLI parser reads the recorded command, and lm-eval's
`simple_evaluate`, called as its CLI calls it and loading the model by itself, asks the very same prompts
(lm-eval's sample hashes) and gets the same score. ~10 s (a tiny GPT-2, two GSM8K problems)."""

from __future__ import annotations

import shlex

import pytest

from divlab.evalsuite import load_suite
from divlab.evalsuite.replay import sample_hashes
from tests.conftest import make_tiny_lm

pytest.importorskip("lm_eval")


def _parsed(command: str):
    """The command line as lm-eval's CLI understands it."""
    from lm_eval._cli.harness import HarnessCLI
    from lm_eval.config.evaluate_config import EvaluatorConfig

    words = shlex.split(command)
    assert words[0] == "lm_eval"
    return EvaluatorConfig.from_cli(HarnessCLI()._parser.parse_args(["run", *words[1:]]))


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory):
    from divlab.evalsuite import evaluate_suite

    root = tmp_path_factory.mktemp("replay")
    model = make_tiny_lm(root / "tiny", ["Question: how many apples? Answer: 42 apples.", "1 + 2 = 3"] * 20)
    config = load_suite("generalist-offline", {"benchmarks": ["gsm8k"], "limit": 2, "max_gen_toks": 6, "seed": 0})
    scores = evaluate_suite(str(model), config, root / "out")
    return model, config, scores


def test_scores_json_records_every_setting_and_a_command_lm_eval_parses_to_them(suite_run):
    model, _, scores = suite_run
    replay = scores["benchmarks"]["gsm8k"]["lm_eval_replay"]
    settings = replay["settings"]
    assert [settings[s] for s in ("random_seed", "numpy_random_seed", "torch_random_seed", "fewshot_random_seed")] \
        == [0, 0, 0, 0]
    # the tiny LM has a chat template
    assert settings["apply_chat_template"] is True and settings["fewshot_as_multiturn"] is True
    assert settings["gen_kwargs"] == {"max_gen_toks": 6} and settings["limit"] == 2
    assert replay["model_args"]["pretrained"] == str(model) and replay["tasks"] == ["gsm8k"]
    assert set(replay["task_config_sha256"]) == set(replay["task_hashes"]) == {"gsm8k"}
    assert replay["n_shot"]["gsm8k"] == 5 and "lm_eval reads the hub copy" in replay["data"]

    cli = _parsed(replay["command"])
    assert cli.seed == [0, 0, 0, 0]  # lm-eval's CLI alone would take 0,1234,1234,1234
    assert cli.apply_chat_template and cli.fewshot_as_multiturn
    assert cli.gen_kwargs == {"max_gen_toks": 6} and cli.limit == 2 and cli.tasks == ["gsm8k"]
    assert cli.model == "hf" and cli.model_args["pretrained"] == str(model) and cli.log_samples
    plain = _parsed(replay["command"].replace(" --seed 0,0,0,0", ""))
    assert plain.seed == [0, 1234, 1234, 1234]  # why the seeds must be spelled out


def test_lm_eval_run_as_the_recorded_command_asks_the_same_prompts_and_scores_the_same(suite_run):
    import lm_eval

    from divlab.evalsuite.benchmark import get_benchmark
    from divlab.evalsuite.run import plan_suite

    model, config, scores = suite_run
    recorded = scores["benchmarks"]["gsm8k"]
    cli = _parsed(recorded["lm_eval_replay"]["command"])
    (planned,) = plan_suite(config)
    # The hub is out of reach here: the tasks read the same local file divlab read; all else is the command's.
    tasks = get_benchmark("gsm8k").task_configs(planned.source, planned.few_shot)
    def run(seeds):
        return lm_eval.simple_evaluate(
            model=cli.model, model_args=cli.model_args, tasks=tasks, num_fewshot=cli.num_fewshot,
            batch_size=cli.batch_size, device=cli.device, limit=cli.limit, log_samples=True,
            system_instruction=cli.system_instruction, apply_chat_template=cli.apply_chat_template,
            fewshot_as_multiturn=cli.fewshot_as_multiturn, gen_kwargs=cli.gen_kwargs,
            bootstrap_iters=recorded["lm_eval_replay"]["settings"]["bootstrap_iters"],  # no CLI flag; stderr only
            random_seed=seeds[0], numpy_random_seed=seeds[1], torch_random_seed=seeds[2], fewshot_random_seed=seeds[3])

    output = run(cli.seed)
    assert sample_hashes(output["samples"]) == recorded["lm_eval_replay"]["task_hashes"]
    assert get_benchmark("gsm8k").score(output)["score"] == recorded["score"]
    # lm-eval's CLI seeds draw other few-shot examples: the hashes notice, so they say which prompts were asked.
    assert sample_hashes(run([0, 1234, 1234, 1234])["samples"]) != recorded["lm_eval_replay"]["task_hashes"]
