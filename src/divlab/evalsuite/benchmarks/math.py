"""MATH through lm-eval's `minerva_math` tasks (4-shot Minerva prompts, 7 subjects, answers checked by
lm-eval's sympy/math-verify equivalence). No offline copy: online only."""

from divlab.evalsuite.benchmark import LmEvalBenchmark

SUBJECTS = ("algebra", "counting_and_prob", "geometry", "intermediate_algebra", "num_theory", "prealgebra", "precalc")
INSTALL = "pip install 'lm-eval[math]==0.4.13'"


class Math(LmEvalBenchmark):
    def task_configs(self, source, few_shot=None, subtasks=None):
        return self.chosen(self.base_configs(), subtasks)  # lm-eval's own hub dataset per subject

BENCHMARK = Math(
    name="math", group="math", title="MATH", local=None, hub="EleutherAI/hendrycks_math",
    yaml=tuple(f"minerva_math/minerva_math_{s}.yaml" for s in SUBJECTS),
    metrics=(("exact_match,none", "exact_match"), ("math_verify,none", "math_verify")),
    packages=(("sympy", INSTALL), ("math_verify", INSTALL), ("antlr4", INSTALL)),
    score_name="exact match (Minerva 4-shot), pooled over 7 subjects",
)
