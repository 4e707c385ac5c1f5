"""The generalist evaluation suite (paper §5, Table 3): benchmarks run through lm-evaluation-harness from
hub or local data, code benchmarks through divlab's sandbox, and the paper's aggregates."""

from divlab.evalsuite.suite import SuiteConfig, load_suite

__all__ = ["SuiteConfig", "load_suite", "evaluate_suite"]


def evaluate_suite(*args, **kwargs):
    from divlab.evalsuite.run import evaluate_suite as run

    return run(*args, **kwargs)
