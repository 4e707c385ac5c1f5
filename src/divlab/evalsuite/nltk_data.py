"""NLTK's punkt sentence tokenizer for IFEval's checks, without a download.

lm-evaluation-harness's IFEval module calls `nltk.download("punkt_tab")` when it is imported and the data is
missing; offline that download fails and sentence counting breaks later. The English punkt tables ship inside
the PyPI wheel of `llama-index-core` (installed with --no-deps, found through its metadata, never imported), so
divlab points NLTK's search path at that folder before lm-eval is imported. NLTK data the user installed
(NLTK_DATA, ~/nltk_data) is found first when it holds punkt_tab.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from divlab.errors import DataError

DISTRIBUTION = "llama-index-core"
INSTALL = "pip install --no-deps llama-index-core==0.14.25"
MARKER = "tokenizers/punkt_tab/english/sent_starters.txt"


def packaged_nltk_dir() -> Path | None:
    """The NLTK data folder inside the llama-index-core wheel, or None when it is not installed."""
    try:
        files = importlib.metadata.distribution(DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        text = str(file)
        if text.endswith(MARKER):
            return Path(file.locate()).parents[len(Path(MARKER).parts) - 1]
    return None


def punkt_available() -> bool:
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return True
    except LookupError:
        return False


def ensure_punkt() -> str:
    """Make punkt_tab findable by NLTK; returns where it is found. Raises DataError when it is nowhere."""
    import nltk

    if not punkt_available():
        packaged = packaged_nltk_dir()
        if packaged is not None and str(packaged) not in nltk.data.path:
            nltk.data.path.insert(0, str(packaged))
    try:
        return str(nltk.data.find("tokenizers/punkt_tab/english/"))
    except LookupError:
        raise DataError(f"IFEval needs NLTK's punkt_tab tokenizer data, found neither in NLTK's data path nor in "
                        f"the {DISTRIBUTION} wheel: {INSTALL} (or, online: python -m nltk.downloader punkt_tab)"
                        ) from None
