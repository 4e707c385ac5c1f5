"""TheoremQA (Chen et al. 2023), which lm-eval does not ship: a zero-shot generate-until task written as an
lm-eval config here, scored by exact match of the text after "the answer is" against the reference answer
(case and punctuation ignored). The official scorer also accepts numbers within a tolerance; this one does
not, so it can only under-count. No offline copy: online only (hub TIGER-Lab/TheoremQA)."""

from divlab.evalsuite.benchmark import LmEvalBenchmark

CONFIG = {
    "task": "divlab_theoremqa",
    "output_type": "generate_until",
    "test_split": "test",
    "doc_to_text": "Question: {{Question}}\nAnswer: Let's think step by step. At the end, write \"The answer is X.\"\n",
    "doc_to_target": "{{Answer}}",
    "generation_kwargs": {"until": ["Question:", "</s>", "<|im_end|>"], "do_sample": False, "temperature": 0.0},
    "num_fewshot": 0,
    "filter_list": [{"name": "answer", "filter": [
        {"function": "regex", "regex_pattern": r"(?i)the answer is\s*:?\s*(.+?)\s*(?:\.\s|\.?$)"},
        {"function": "take_first"}]}],
    "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True,
                     "ignore_case": True, "ignore_punctuation": True}],
    "metadata": {"version": 1.0},
}


class TheoremQA(LmEvalBenchmark):
    def base_configs(self) -> list[dict]:
        return [dict(CONFIG)]


BENCHMARK = TheoremQA(
    name="theoremqa", group="math", title="TheoremQA", local=None, hub="TIGER-Lab/TheoremQA",
    fields=("Question", "Answer"), metrics=(("exact_match,answer", "exact_match"),),
    score_name="exact match after 'the answer is' (0-shot; divlab's config, no numeric tolerance)",
)
