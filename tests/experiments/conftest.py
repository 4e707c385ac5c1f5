"""Fixtures of the experiment tests."""

import gzip
import json

import pytest

from tests.conftest import SHARED_DATA, make_tiny_lm


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A tiny causal LM built from a config, with a tokenizer trained on Code Alpaca prompts."""
    texts = [json.dumps(r) for r in json.loads(gzip.open(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz", "rt").read())[:300]]
    return make_tiny_lm(tmp_path_factory.mktemp("tiny"), texts, vocab_size=400)
