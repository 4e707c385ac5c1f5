"""How diverse is an instruction set? Metrics (counts, lexical, Vendi, similarity), coverage of benchmarks,
and the embedding map, for any dataset divlab reads (`divlab diversity`)."""

from divlab.diversity.metrics import coverage, distinct_n, ngram_vendi, vendi_score
from divlab.diversity.run import measure_diversity

__all__ = ["coverage", "distinct_n", "measure_diversity", "ngram_vendi", "vendi_score"]
