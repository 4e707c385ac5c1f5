"""E8 (beyond the paper): whole Markov algorithms as instructions, trained from scratch with the rewrite
experiments' trainer and evaluator. Cells generate (or reuse) a program dataset, train a small GPT-2 and score
exact match on unseen and seen programs.

Preset sections: `dataset` (task `program` fields), `model`, `train`, `eval`, as for the rewrite kind.
"""

from __future__ import annotations

from divlab.experiments import rewrite
from divlab.experiments.base import ExperimentKind, ReportSpec

PROGRAMS_AXIS = "dataset.num_train_programs"


def resolve(config: dict) -> dict:
    from divlab.tasks.program import ProgramConfig

    return {"kind": "program", **rewrite.resolve_sections(config, ProgramConfig)}


KIND = ExperimentKind(
    name="program", sections=rewrite.SECTIONS, seed_fields=rewrite.KIND.seed_fields, resolve=resolve,
    run=rewrite.run, group_key=rewrite.group_key, run_group=rewrite.run_group,
    reports={"e8": ReportSpec("divlab.report.program:e8", "divlab.report.program:check_e8", (PROGRAMS_AXIS,)),
             "study": rewrite.KIND.reports["study"]},
    description="a GPT-2 trained from scratch on whole Markov algorithms run to a halt (beyond the paper, E8)",
)
