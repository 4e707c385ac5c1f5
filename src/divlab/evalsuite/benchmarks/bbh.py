"""BIG-Bench Hard through lm-eval's `bbh_cot_fewshot` tasks: the 27 tasks with their 3-shot chain-of-thought
prompts, answers read after "the answer is". The score pools the tasks by size, as lm-eval's group does.
Offline, the 27 tasks come from one file holding every example with its task name."""

from divlab.evalsuite.benchmark import LmEvalBenchmark

TASKS = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa", "dyck_languages",
    "formal_fallacies", "geometric_shapes", "hyperbaton", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "movie_recommendation",
    "multistep_arithmetic_two", "navigate", "object_counting", "penguins_in_a_table",
    "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection", "snarks",
    "sports_understanding", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects", "web_of_lies",
    "word_sorting",
)


class OneTask:
    """process_docs for the local file: the rows of one task (a class, so lm-eval can copy the config)."""

    def __init__(self, task: str):
        self.task = task

    def __call__(self, dataset):
        return dataset.filter(lambda row: row["task"] == self.task)


class BBH(LmEvalBenchmark):
    def local_docs(self, config: dict):
        return OneTask(config["dataset_name"])


BENCHMARK = BBH(
    name="bbh", group="reasoning", title="BBH", local="bbh/bbh.jsonl.gz", hub="SaylorTwift/bbh",
    fields=("task", "input", "target"), yaml=tuple(f"bbh/cot_fewshot/{task}.yaml" for task in TASKS),
    process_docs=OneTask, metrics=(("exact_match,get-answer", "exact_match"),),
    score_name="exact match after 'the answer is', 3-shot CoT, pooled over 27 tasks",
)
