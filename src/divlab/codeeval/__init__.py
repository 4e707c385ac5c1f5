"""Execution-based code evaluation: benchmarks (HumanEval, MBPP, EvalPlus's HumanEval+/MBPP+), generation
with Hugging Face models, a sandbox for untrusted code, and pass@k."""

from divlab.codeeval.benchmarks import CODE_BENCHMARKS, BenchmarkError, CodeBenchmark, Problem, load_benchmark
from divlab.codeeval.extract import extract_code
from divlab.codeeval.passk import pass_at_k, summarize
from divlab.codeeval.sandbox import Execution, Limits, execute
from divlab.codeeval.score import ScoreConfig, score_samples

__all__ = ["CODE_BENCHMARKS", "BenchmarkError", "CodeBenchmark", "Execution", "Limits", "Problem", "ScoreConfig",
           "execute", "extract_code", "load_benchmark", "pass_at_k", "score_samples", "summarize"]
