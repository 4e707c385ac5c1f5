"""GSM8K through lm-eval's `gsm8k` task: 5-shot "Question: ... Answer:" prompts from the train split, answers
read by lm-eval's two filters. The score is `flexible-extract` (the last number in the answer, so "The answer
is 42." counts as well as "#### 42"); `strict-match` (only "#### N") is recorded beside it."""

from divlab.evalsuite.benchmark import LmEvalBenchmark

BENCHMARK = LmEvalBenchmark(
    name="gsm8k", group="math", title="GSM8K",
    local="gsm8k/test.jsonl.gz", few_shot_local="gsm8k/train.jsonl.gz", few_shot_split="train",
    hub="openai/gsm8k", hub_name="main", fields=("question", "answer"),
    yaml=("gsm8k/gsm8k.yaml",),
    metrics=(("exact_match,flexible-extract", "flexible-extract"), ("exact_match,strict-match", "strict-match")),
    score_name="exact match, flexible-extract (5-shot)",
)
