"""The diversity of one experiment cell's training set, for the reports' diversity column: the n-gram
Vendi Score of a rewrite dataset's rules, or of a mixture's prompts (plus their embedding Vendi Score when
the `diversity` extra is installed)."""

from __future__ import annotations

from pathlib import Path

from divlab.diversity.inputs import load_instruction_set
from divlab.diversity.metrics import ngram_vendi, vendi_score
from divlab.errors import DivlabError
from divlab.seeding import stream

MAX_ITEMS = 2000  # a larger set is measured on a seeded sample of this size (the score grows with n)


def training_set_diversity(dataset_dir: str | Path, embeddings: bool = False) -> dict:
    items = load_instruction_set(str(dataset_dir))
    texts = list(items.texts)
    if len(texts) > MAX_ITEMS:
        texts = [texts[i] for i in sorted(stream(0, "diversity-column").permutation(len(texts))[:MAX_ITEMS])]
    rules = items.kind == "rules"
    out = {"items": len(items.texts), "measured_on": len(texts),
           "vendi_ngram": ngram_vendi(texts, (1, 3) if rules else (1, 2), "char" if rules else "word"),
           "features": "char 1-3-grams of 'x -> y'" if rules else "word 1-2-grams of the prompts"}
    if embeddings:
        try:
            from divlab.diversity.embed import Embedder

            embedder = Embedder()
            try:
                out["vendi_embedding"] = vendi_score(embedder.embed(texts))
            finally:
                embedder.close()
        except DivlabError:  # the extra is not installed: the column says so rather than failing the cell
            out["vendi_embedding"] = None
    return out
