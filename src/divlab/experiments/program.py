"""E8 (beyond the paper): whole Markov algorithms as instructions, trained from scratch with the rewrite
experiments' trainer and evaluator. Cells generate (or reuse) a program dataset, train a small GPT-2 and score
exact match on unseen and seen programs.

Preset sections: `dataset` (task `program` fields), `model`, `train`, `eval`, as for the rewrite kind.
"""

from __future__ import annotations

from divlab.experiments.base import ReportSpec
from divlab.experiments.rewrite import STUDY, from_scratch_kind

PROGRAMS_AXIS = "dataset.num_train_programs"

KIND = from_scratch_kind(
    "program", "program",
    reports={"e8": ReportSpec("divlab.report.program:e8", "divlab.report.program:check_e8", (PROGRAMS_AXIS,)),
             "study": STUDY},
    description="a GPT-2 trained from scratch on whole Markov algorithms run to a halt (beyond the paper, E8)",
)
