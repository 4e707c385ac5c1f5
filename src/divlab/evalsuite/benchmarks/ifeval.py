"""IFEval through lm-eval's `ifeval` task (zero-shot; Google's checks as lm-eval ships them). The benchmark's
score is the IF average: the mean of its four accuracies (prompt- and instruction-level, strict and loose).
The checks need NLTK's punkt data: `divlab.evalsuite.nltk_data` finds it offline."""

from divlab.evalsuite.benchmark import LmEvalBenchmark

INSTALL = "pip install 'lm-eval[ifeval]==0.4.13'"

METRICS = (("prompt_level_strict_acc,none", "prompt_level_strict"), ("inst_level_strict_acc,none", "inst_level_strict"),
           ("prompt_level_loose_acc,none", "prompt_level_loose"), ("inst_level_loose_acc,none", "inst_level_loose"))


class IFEval(LmEvalBenchmark):
    def base_configs(self) -> list[dict]:
        from divlab.evalsuite.nltk_data import ensure_punkt

        ensure_punkt()  # before lm-eval's IFEval module is imported: it downloads punkt when it cannot find it
        return super().base_configs()

    def needs(self) -> list[str]:
        from divlab.errors import DataError
        from divlab.evalsuite.nltk_data import ensure_punkt

        missing = super().needs()
        if missing:
            return missing
        try:
            ensure_punkt()
        except DataError as error:
            return [str(error)]
        return []

    def score(self, results: dict) -> dict:
        scored = super().score(results)
        values = [v for v in scored["metrics"].values() if v is not None]
        scored["score"] = sum(values) / len(values) if len(values) == len(METRICS) else None
        return scored


BENCHMARK = IFEval(
    name="ifeval", group="instruction-following", title="IFEval",
    local="ifeval/input_data.jsonl.gz", split="train", hub="google/IFEval",
    fields=("key", "prompt", "instruction_id_list", "kwargs"), yaml=("ifeval/ifeval.yaml",), metrics=METRICS,
    packages=(("langdetect", INSTALL), ("immutabledict", INSTALL)),
    score_name="IF average: mean of prompt/instruction-level strict/loose accuracy (0-shot)",
)
