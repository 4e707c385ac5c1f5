"""Embedding backends: ONNX Runtime agrees with the torch path on real instructions (vectors and the diversity
measures), the export is made once and reused, "auto" keeps torch where onnxruntime is missing, and a missing or
unknown backend asked for by name is refused in one line."""

import gzip
import json
import sys

import numpy as np
import pytest

from divlab.diversity import measure_diversity, vendi_score
from divlab.diversity.backends import BACKENDS, resolve
from divlab.diversity.embed import DEFAULT_MODEL, Embedder, model_path
from divlab.diversity.metrics import near_duplicate_clusters, similarity_stats
from divlab.errors import ConfigError, DivlabError
from tests.conftest import SHARED_DATA, run_cli

needs_onnxruntime = pytest.mark.skipif(BACKENDS.get("onnx").missing() is not None,
                                       reason="onnxruntime not installed")


def _instructions(n: int) -> list[str]:
    """Real instructions of mixed length: Code Alpaca (some with code inputs) and the Alpaca seed tasks."""
    code = json.load(gzip.open(SHARED_DATA / "code_alpaca" / "code_alpaca_2k.json.gz", "rt", encoding="utf-8"))
    seed = [json.loads(line) for line in gzip.open(SHARED_DATA / "alpaca" / "seed_tasks.jsonl.gz", "rt", encoding="utf-8")]
    texts = [f"{r['instruction']}\n\n{r['input']}" if r.get("input") else r["instruction"] for r in code[::20]]
    return (texts + [r["instruction"] for r in seed])[:n]


def _embed(backend: str, texts: list[str]) -> tuple[np.ndarray, dict]:
    embedder = Embedder(backend=backend)
    try:
        return embedder.embed(texts), embedder.details
    finally:
        embedder.close()


@pytest.fixture
def no_onnxruntime(monkeypatch):
    """onnxruntime as if it were not installed: its import fails."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)


@needs_onnxruntime
def test_onnx_agrees_with_torch_on_real_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    texts = _instructions(80)
    torch_vectors, torch_details = _embed("torch", texts)
    onnx_vectors, onnx_details = _embed("onnx", texts)
    assert torch_details["backend"] == "torch" and onnx_details["backend"] == "onnx"
    cosine = (torch_vectors * onnx_vectors).sum(axis=1)
    # Measured on 2,000 Code Alpaca + seed-task instructions: min 0.9999999 (float32 rounding; the same graph).
    assert cosine.min() >= 0.99999
    assert vendi_score(onnx_vectors) == pytest.approx(vendi_score(torch_vectors), rel=1e-4)
    assert similarity_stats(onnx_vectors)["mean"] == pytest.approx(similarity_stats(torch_vectors)["mean"], abs=1e-5)
    assert near_duplicate_clusters(onnx_vectors, 0.9) == near_duplicate_clusters(torch_vectors, 0.9)


@needs_onnxruntime
def test_the_export_is_made_once_and_reused(tmp_path, monkeypatch):
    import divlab.diversity.backends.onnx_export as onnx_export

    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    path = onnx_export.export_path(model_path(DEFAULT_MODEL))
    first = Embedder(backend="onnx")
    first.embed(["the first load exports the model (or finds this session's export)"])
    first.close()
    assert path.exists() and not list(path.parent.glob(".*.partial"))  # written whole, nothing left over
    monkeypatch.setattr(onnx_export, "export", lambda *a: pytest.fail("exported a second time"))
    second = Embedder(backend="onnx")
    second.embed(["the export is read, not made again"])
    assert second.details["file"] == str(path)
    second.close()


def test_auto_keeps_torch_where_onnxruntime_is_missing(tmp_path, monkeypatch, no_onnxruntime):
    monkeypatch.setenv("DIVLAB_CACHE_DIR", str(tmp_path / "cache"))
    assert resolve("auto").name == "torch"
    data = tmp_path / "a.jsonl"
    data.write_text("".join(json.dumps({"prompt": t}) + "\n" for t in _instructions(12)))
    result = measure_diversity([str(data)], tmp_path / "o", draw=False, progress=False)
    recorded = json.loads((tmp_path / "o" / "diversity.json").read_text())["embedding"]
    assert result["embedding"] == recorded and recorded["backend"] == "torch" and recorded["requested"] == "auto"
    assert recorded["texts"] == 12


def test_a_missing_or_unknown_backend_named_is_refused(tmp_path, no_onnxruntime):
    with pytest.raises(DivlabError, match=r"^the onnx embedding backend is not installed: pip install onnxruntime"):
        resolve("onnx")
    with pytest.raises(ConfigError, match=r"embed_backend='tensorrt': unknown embedding backend; known: auto, onnx, torch"):
        measure_diversity(["never-read.jsonl"], tmp_path / "o", embed_backend="tensorrt", progress=False)
    assert not (tmp_path / "o").exists()


def test_the_cli_refuses_an_unknown_backend_in_one_line(tmp_path):
    failed = run_cli("diversity", "never-read.jsonl", "--embed-backend", "tensorrt", "--out", str(tmp_path / "o"),
                     check=False)
    assert failed.returncode == 2 and failed.stderr.strip().count("\n") == 0
    assert "--embed-backend 'tensorrt': unknown embedding backend" in failed.stderr
