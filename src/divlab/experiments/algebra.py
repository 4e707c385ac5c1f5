"""E7 from scratch (paper §2.7 at CPU scale): the rewrite experiments' trainer and evaluator on the algebra
task. Cells generate (or reuse) an algebra dataset, train a small GPT-2 on its character (prefix) notation,
and score exact match on unseen rules, seen rules and, for the specialist split, seen rules at unseen
pattern depths (result key "depth").

Preset sections: `dataset` (task `algebra` fields), `model`, `train`, `eval`, as for the rewrite kind.
"""

from __future__ import annotations

from divlab.experiments.base import INSTRUCTIONS_AXIS, ReportSpec
from divlab.experiments.rewrite import STUDY, from_scratch_kind

KIND = from_scratch_kind(
    "algebra", "algebra",
    reports={"e7": ReportSpec("divlab.report.algebra:generalist", "divlab.report.algebra:check_generalist",
                              (INSTRUCTIONS_AXIS,)),
             "e7-specialist": ReportSpec("divlab.report.algebra:specialist", "divlab.report.algebra:check_specialist",
                                         ()),  # reads diver_rules from each cell's config
             "study": STUDY},
    description="a GPT-2 trained from scratch on algebraic identities applied to expression trees (paper E7)",
)
