"""Character-level tokenizer with special tokens (brief, decision 6).

A sequence is ``<bos> x <sep> y <sep> z <ans> target <eos>``; the loss covers ``target <eos>`` only. Each
alphabet letter is one token, so the vocabulary is the alphabet plus five specials (~30 for the paper).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from divlab.errors import ConfigError

SPECIALS = ("<pad>", "<bos>", "<sep>", "<ans>", "<eos>")
TOKENIZER_FILE = "divlab_tokenizer.json"


@dataclass(frozen=True)
class EncodedExample:
    ids: list[int]
    answer_start: int  # index of the first answer token; ids[answer_start:] is `target <eos>`


class CharTokenizer:
    def __init__(self, alphabet: str):
        if len(set(alphabet)) != len(alphabet):
            raise ConfigError("alphabet", alphabet, "has repeated characters")
        self.alphabet = alphabet
        self.tokens = list(SPECIALS) + list(alphabet)
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.pad_id, self.bos_id, self.sep_id, self.ans_id, self.eos_id = range(len(SPECIALS))
        self._char_ids = {ch: i + len(SPECIALS) for i, ch in enumerate(alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def encode_text(self, text: str) -> list[int]:
        try:
            return [self._char_ids[ch] for ch in text]
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} is not in the tokenizer's alphabet {self.alphabet!r}") from None

    def encode_prompt(self, x: str, y: str, z: str) -> list[int]:
        e = self.encode_text
        return [self.bos_id, *e(x), self.sep_id, *e(y), self.sep_id, *e(z), self.ans_id]

    def encode_example(self, x: str, y: str, z: str, target: str) -> EncodedExample:
        prompt = self.encode_prompt(x, y, z)
        return EncodedExample(prompt + self.encode_text(target) + [self.eos_id], len(prompt))

    def decode(self, ids, stop_at_eos: bool = True) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id and stop_at_eos:
                break
            out.append(self.tokens[i] if i >= len(SPECIALS) else "")
        return "".join(out)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / TOKENIZER_FILE
        path.write_text(json.dumps({"type": "divlab-char", "alphabet": self.alphabet, "specials": list(SPECIALS)}, ensure_ascii=False, indent=1))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> "CharTokenizer":
        path = Path(directory) / TOKENIZER_FILE
        data = json.loads(path.read_text())
        if data.get("specials") != list(SPECIALS):
            raise ValueError(f"{path}: unsupported special tokens {data.get('specials')}")
        return cls(data["alphabet"])

    def __eq__(self, other) -> bool:
        return isinstance(other, CharTokenizer) and other.alphabet == self.alphabet
