"""The processes of one evaluation started by a launcher (`accelerate launch --multi_gpu --num_processes N`,
`torchrun --nproc-per-node N`): rank 0 runs the suite as a single process would (plans, asks lm-eval, scores,
writes every file) and hands each batch of model requests out in shares; the other ranks only answer them.

Why not lm-eval's own data parallelism, where each rank builds, answers and scores its own slice of the
documents: it asks other prompts than one process does wherever few-shot examples are drawn at random (the
sampler's generator advances once per document of the rank, so GSM8K's document 1 gets other shots on rank 1
of 2 than alone), and lm-eval turns it on only when it counts more than one GPU. Here prompts, few-shot draws,
scoring and the request cache stay rank 0's, as in a single-process run; only the model calls are spread.
The channel is gloo on any device: it carries prompts and answers, not tensors.

When rank 0 raises, it still completes the exchange under way and then tells the others to stop, so rank 0's
one-line error is what is on screen rather than a broken-connection traceback of every rank; a rank that
cannot answer sends its error to rank 0, which raises it naming the rank.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from divlab.errors import ConfigError, DivlabError

# rank 0 may run a code benchmark for hours while the others wait for their next share (start-up keeps
# torch's default timeout, so a process that never comes up is noticed)
IDLE_TIMEOUT = timedelta(weeks=52)


class RankError(DivlabError):
    """Rank 0's: a rank that could not answer its share."""


class MainStopped(Exception):
    """A rank other than 0: rank 0 raised, and says why. Such a rank leaves quietly with exit status 0, for
    the launcher stops every process as soon as one fails, which could stop rank 0 before it said why; the
    launcher's own status is still rank 0's failure."""


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1  # processes on this machine (each loads its own copy of the model)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def launched(environ=os.environ) -> Ranks:
    """This process's place among the launched ones (the launcher's RANK, WORLD_SIZE, LOCAL_RANK,
    LOCAL_WORLD_SIZE); one process when they are unset."""
    values = {}
    world = environ.get("WORLD_SIZE", "1")
    for name, default in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", world)):
        text = environ.get(name, default)
        if not text.isdigit():
            raise ConfigError(name, text, "must be a whole number (set by accelerate launch or torchrun)")
        values[name] = int(text)
    if not 0 <= values["RANK"] < max(values["WORLD_SIZE"], 1):
        raise ConfigError("RANK", values["RANK"], f"must be below WORLD_SIZE={values['WORLD_SIZE']}")
    return Ranks(values["RANK"], max(values["WORLD_SIZE"], 1), values["LOCAL_RANK"],
                 max(values["LOCAL_WORLD_SIZE"], 1))


def local_device(device: str, ranks: Ranks, gpus: Callable[[], int] | None = None) -> str:
    """Each launched process on its own GPU (`cuda` -> `cuda:LOCAL_RANK`, wrapping round when there are more
    processes than GPUs); a named GPU or the CPU as given."""
    if device != "cuda" or not ranks.distributed:
        return device
    if gpus is None:
        import torch

        gpus = torch.cuda.device_count
    return f"cuda:{ranks.local_rank % max(gpus(), 1)}"


_channel = None  # the group that carries requests and answers (IDLE_TIMEOUT), once joined


def join(ranks: Ranks) -> None:
    """Join the launched processes' group (the launcher's MASTER_ADDR and MASTER_PORT), once."""
    import torch.distributed as dist

    global _channel
    if ranks.distributed and _channel is None:
        if not dist.is_initialized():
            dist.init_process_group("gloo")
        _channel = dist.new_group(backend="gloo", timeout=IDLE_TIMEOUT)


def leave(ranks: Ranks) -> None:
    """Leave the group before the process exits: gloo's threads torn down at interpreter exit instead can
    abort the process ("terminate called without an active exception"), and the launcher then stops the
    others."""
    import torch.distributed as dist

    global _channel
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()
    _channel = None


@dataclass(frozen=True)
class _Failed:
    """Sent instead of a value or answers by a rank that raised (pickled across ranks, so a class, not an
    object compared by identity)."""
    message: str = ""


def from_main(value, ranks: Ranks):
    """Rank 0's `value` on every rank."""
    if not ranks.distributed:
        return value
    import torch.distributed as dist

    box = [value if ranks.main else None]
    dist.broadcast_object_list(box, src=0, group=_channel)
    return box[0]


def decided_by_main(decide: Callable[[], object], ranks: Ranks):
    """`decide()` run on rank 0 alone, its value on every rank. When it raises, rank 0 raises that and the
    other ranks raise MainStopped."""
    if ranks.main:
        try:
            value = decide()
        except Exception:
            from_main(_Failed(), ranks)
            raise
        return from_main(value, ranks)
    value = from_main(None, ranks)
    if isinstance(value, _Failed):
        raise MainStopped()
    return value


def shares(items: list, parts: int, key: Callable | None = None) -> list[list]:
    """`items` cut into `parts` contiguous blocks of nearly equal length, in order; items next to each other
    with the same `key` stay in one block (lm-eval's answer choices of one document share their context,
    which HFLM encodes once)."""
    starts = [i for i in range(len(items)) if i == 0 or key is None or key(items[i]) != key(items[i - 1])]
    bounds = [0]
    for part in range(1, parts):
        target = max(round(part * len(items) / parts), bounds[-1])
        at = bisect.bisect_left(starts, target)
        bounds.append(starts[at] if at < len(starts) else len(items))
    bounds.append(len(items))
    return [items[bounds[part]:bounds[part + 1]] for part in range(parts)]


def in_order(answers_per_rank: list[list]) -> list:
    """The answers back in the order of the items they answer (inverse of `shares`)."""
    return [answer for answers in answers_per_rank for answer in answers]


Answer = Callable[[str, list], list]  # (lm-eval request type, the requests' arguments) -> their answers


def context(arguments: tuple):
    """What requests that HFLM encodes together share: the context, their first argument."""
    return arguments[0]


def spread(method: str, arguments: list, answer_own: Answer, ranks: Ranks) -> list[list]:
    """Rank 0: the answers of every rank to its share of `arguments` (rank 0 answers its own with
    `answer_own`), as one list per rank. Raises rank 0's own error, or one naming a rank that could not
    answer, only once every rank has handed back its share, so the ranks stay in step."""
    import torch.distributed as dist

    parts = shares(arguments, ranks.world, context)
    dist.scatter_object_list([None], [(method, part) for part in parts], src=0, group=_channel)
    failure = None
    try:
        own = answer_own(method, parts[0])
    except Exception as error:
        own, failure = _Failed(), error
    gathered = [None] * ranks.world
    dist.gather_object(own, gathered, dst=0, group=_channel)
    if failure is not None:
        raise failure
    for rank, answers in enumerate(gathered):
        if isinstance(answers, _Failed):
            raise RankError(f"rank {rank} of {ranks.world} could not answer lm-eval's {method} requests: "
                            f"{answers.message}")
    return gathered


def serve(answer: Answer, ranks: Ranks) -> int:
    """Every rank but 0: answer rank 0's shares until it says stop; returns how many requests were answered.
    Raises MainStopped when rank 0 stopped with an error."""
    import torch.distributed as dist

    answered = 0
    while True:
        received = [None]
        dist.scatter_object_list(received, None, src=0, group=_channel)
        if received[0] is None:
            return answered
        if isinstance(received[0], _Failed):
            raise MainStopped()
        method, part = received[0]
        try:
            answers = answer(method, part)
        except Exception as error:  # rank 0 raises it, naming this rank
            answers = _Failed(f"{type(error).__name__}: {' '.join(str(error).split())}")
        dist.gather_object(answers, None, dst=0, group=_channel)
        answered += len(part)


def stop_serving(ranks: Ranks, failed: bool = False) -> None:
    """Rank 0: the other ranks leave `serve` (`failed`: raising MainStopped, rank 0 having raised)."""
    import torch.distributed as dist

    marker = _Failed() if failed else None
    dist.scatter_object_list([None], [marker] * ranks.world, src=0, group=_channel)
