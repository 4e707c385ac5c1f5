import os

import pytest

from tests.conftest import SHARED_DATA

EVALPLUS = SHARED_DATA / "evalplus"
DATA = {
    "humaneval": None,
    "humaneval+": EVALPLUS / "HumanEvalPlus-v0.1.10.jsonl.gz",
    "mbpp": SHARED_DATA / "mbpp" / "mbpp.jsonl.gz",
    "mbpp-sanitized": SHARED_DATA / "mbpp" / "sanitized-mbpp.json.gz",
    "mbpp+": EVALPLUS / "MbppPlus-v0.2.0.jsonl.gz",
}


@pytest.fixture(scope="session", autouse=True)
def shared_cache(tmp_path_factory):
    """One ground-truth cache for the session (reference outputs are computed once), never ~/.cache."""
    path = tmp_path_factory.mktemp("divlab-cache")
    old = os.environ.get("DIVLAB_CACHE_DIR")
    os.environ["DIVLAB_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DIVLAB_CACHE_DIR", None)
    else:
        os.environ["DIVLAB_CACHE_DIR"] = old
