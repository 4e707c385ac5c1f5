"""The processes of one evaluation started by a launcher (`accelerate launch --multi_gpu --num_processes N`,
`torchrun --nproc-per-node N`): rank 0 runs the suite as a single process would (plans, asks lm-eval, scores,
writes every file) and hands each batch of model requests out in shares; the other ranks only answer them.

Why not lm-eval's own data parallelism, where each rank builds, answers and scores its own slice of the
documents: it asks other prompts than one process does wherever few-shot examples are drawn at random (the
sampler's generator advances once per document of the rank, so GSM8K's document 1 gets other shots on rank 1
of 2 than alone), and lm-eval turns it on only when it counts more than one GPU. Here prompts, few-shot draws,
scoring and the request cache stay rank 0's, as in a single-process run; only the model calls are spread.
The channel is gloo on any device: it carries prompts and answers, not tensors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from divlab.errors import ConfigError

# rank 0 may run a code benchmark for hours while the others wait for their next share
IDLE_TIMEOUT = timedelta(weeks=52)


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def launched(environ=os.environ) -> Ranks:
    """This process's place among the launched ones (the launcher's RANK, WORLD_SIZE, LOCAL_RANK); one
    process when they are unset."""
    values = {}
    for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        text = environ.get(name, str(default))
        if not text.isdigit():
            raise ConfigError(name, text, "must be a whole number (set by accelerate launch or torchrun)")
        values[name] = int(text)
    if not 0 <= values["RANK"] < max(values["WORLD_SIZE"], 1):
        raise ConfigError("RANK", values["RANK"], f"must be below WORLD_SIZE={values['WORLD_SIZE']}")
    return Ranks(values["RANK"], max(values["WORLD_SIZE"], 1), values["LOCAL_RANK"])


def local_device(device: str, ranks: Ranks) -> str:
    """Each launched process on its own GPU (`cuda` -> `cuda:LOCAL_RANK`); a named GPU or the CPU as given."""
    return f"cuda:{ranks.local_rank}" if device == "cuda" and ranks.distributed else device


def join(ranks: Ranks) -> None:
    """Join the launched processes' group (the launcher's MASTER_ADDR and MASTER_PORT), once."""
    import torch.distributed as dist

    if ranks.distributed and not dist.is_initialized():
        dist.init_process_group("gloo", timeout=IDLE_TIMEOUT)


def from_main(value, ranks: Ranks):
    """Rank 0's `value` on every rank."""
    if not ranks.distributed:
        return value
    import torch.distributed as dist

    box = [value if ranks.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shares(items: list, world: int) -> list[list]:
    """Rank r's share: every world-th item from the r-th (lengths differ by one at most)."""
    return [items[rank::world] for rank in range(world)]


def interleave(answers_per_rank: list[list]) -> list:
    """The answers back in the order of the items they answer (inverse of `shares`)."""
    total = sum(len(answers) for answers in answers_per_rank)
    world = len(answers_per_rank)
    return [answers_per_rank[i % world][i // world] for i in range(total)]


Answer = Callable[[str, list], list]  # (lm-eval request type, the requests' arguments) -> their answers


def spread(method: str, arguments: list, answer_own: Answer, ranks: Ranks) -> list[list]:
    """Rank 0: the answers of every rank to its share of `arguments` (rank 0 answers its own with
    `answer_own`), as one list per rank."""
    import torch.distributed as dist

    parts = shares(arguments, ranks.world)
    received = [None]
    dist.scatter_object_list(received, [(method, part) for part in parts], src=0)
    own = answer_own(method, parts[0])
    gathered = [None] * ranks.world
    dist.gather_object(own, gathered, dst=0)
    return gathered


def serve(answer: Answer, ranks: Ranks) -> int:
    """Every rank but 0: answer rank 0's shares until it says stop; returns how many requests were answered."""
    import torch.distributed as dist

    answered = 0
    while True:
        received = [None]
        dist.scatter_object_list(received, None, src=0)
        if received[0] is None:
            return answered
        method, part = received[0]
        dist.gather_object(answer(method, part), None, dst=0)
        answered += len(part)


def stop_serving(ranks: Ranks) -> None:
    """Rank 0: the other ranks leave `serve`."""
    import torch.distributed as dist

    dist.scatter_object_list([None], [None] * ranks.world, src=0)
