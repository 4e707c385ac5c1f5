"""lm-eval's HF model with its requests answered by all launched processes (see `ranks`): `SpreadHFLM` on
rank 0, plain HFLM answering shares on the others."""

from __future__ import annotations

from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from divlab.evalsuite.ranks import Answer, Ranks, context, in_order, shares, spread

METHODS = ("loglikelihood", "loglikelihood_rolling", "generate_until")
# about this many requests per rank per round: answers go into rank 0's request cache round by round, so an
# interrupted benchmark keeps what was answered before the interruption
ROUND = 64


def answer_with(lm: HFLM, disable_tqdm: bool = True) -> Answer:
    """Answers of `lm` itself (not spread) to requests given by their arguments."""
    def answer(method: str, arguments: list) -> list:
        if method not in METHODS:
            raise ValueError(f"unknown lm-eval request type {method!r}")
        requests = [Instance(request_type=method, doc={}, arguments=tuple(args), idx=i)
                    for i, args in enumerate(arguments)]
        return getattr(HFLM, method)(lm, requests, disable_tqdm=disable_tqdm)
    return answer


class SpreadHFLM(HFLM):
    """HFLM whose every call is answered in shares by the launched ranks. lm-eval sees one process (rank 0,
    world 1): it builds and scores every request here, so the prompts are a single process's (the replies too,
    wherever batching cannot change a number: see docs/evalsuite.md)."""

    def __init__(self, ranks: Ranks, **kwargs):
        super().__init__(**kwargs)
        self.ranks = ranks
        self.answered_per_rank = [0] * ranks.world

    def _spread(self, method: str, requests: list, disable_tqdm: bool) -> list:
        own = answer_with(self, disable_tqdm)
        answers = []
        rounds = -(-len(requests) // (ROUND * self.ranks.world))
        # each rank answers a contiguous block, the answer choices of a document together (see `ranks.shares`)
        for batch in shares(requests, rounds, lambda request: context(request.args)):
            per_rank = spread(method, [request.args for request in batch], own, self.ranks)
            for rank, part in enumerate(per_rank):
                self.answered_per_rank[rank] += len(part)
            batch_answers = in_order(per_rank)
            # rank 0's own answers, the first, were cached as HFLM computed them
            for request, result in list(zip(batch, batch_answers, strict=True))[len(per_rank[0]):]:
                self.cache_hook.add_partial(method, request.args, result)
            answers.extend(batch_answers)
        return answers

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        return self._spread("loglikelihood", requests, disable_tqdm)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        return self._spread("loglikelihood_rolling", requests, disable_tqdm)

    def generate_until(self, requests, disable_tqdm: bool = False):
        return self._spread("generate_until", requests, disable_tqdm)
