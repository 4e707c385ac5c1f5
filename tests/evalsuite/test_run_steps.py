"""Steps of `evaluate_suite` checked with fakes (no model, no lm-eval run): the memory check counts every
launched process, and a backend that reads the weights itself starts only once divlab's copy is released."""

from __future__ import annotations

import pytest

from divlab.evalsuite import load_suite
from divlab.evalsuite.backends import Backend
from divlab.evalsuite.benchmark import Source, get_benchmark
from divlab.evalsuite.ranks import Ranks
from divlab.models.pretrained import ModelError


def test_the_memory_check_counts_every_process_on_this_machine(tmp_path, monkeypatch):
    from divlab.evalsuite import run
    from divlab.models import pretrained

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"\0" * 1000)
    monkeypatch.setattr(pretrained, "available_memory_bytes", lambda: 2000)  # 1.5 copies fit, 3 do not
    config = load_suite("generalist-offline", {"benchmarks": ["gsm8k"]})
    with pytest.raises(ModelError, match=r"too large for evaluation by 2 processes here.*needs about"):
        run._checked_and_unfinished(str(model), config, tmp_path / "two", [], Ranks(0, 2, 0, local_world=2))
    assert not (tmp_path / "two").exists()
    # two processes on two machines: one copy here
    assert run._checked_and_unfinished(str(model), config, tmp_path / "one", [], Ranks(0, 2, 0, 1)) == []


class _Model:
    count = 0

    def __init__(self):
        _Model.count += 1
        self.number = _Model.count


def _planned(name: str):
    from divlab.evalsuite.run import PlannedBenchmark

    return PlannedBenchmark(get_benchmark(name), Source("local", f"/data/{name}"), None, None)


@pytest.mark.parametrize("uses_loaded_model", [False, True])
def test_a_backend_reading_the_weights_itself_starts_after_divlabs_copy_is_released(
        tmp_path, monkeypatch, uses_loaded_model):
    from divlab.evalsuite import run

    events = []

    def load_model(name, device):
        model = _Model()
        events.append(f"load {model.number}")
        return model, "tokenizer"

    def build(loaded, config, ranks):
        events.append(f"build with {'model ' + str(loaded.model.number) if loaded.model else 'no model'}")
        return "lm"

    def run_code(planned, loaded, config, bench_dir):
        events.append(f"{planned.benchmark.name} with model {loaded.model.number}")
        return {"score": 1.0}

    def run_lm_eval(planned, lm, loaded, config, backend, bench_dir):
        events.append(f"{planned.benchmark.name} with {lm}")
        return {"score": 2.0}

    monkeypatch.setattr(run, "_load_model", load_model)
    monkeypatch.setattr(run, "_run_code", run_code)
    monkeypatch.setattr(run, "_run_lm_eval", run_lm_eval)
    backend = Backend(name="fake", lm_eval_model="fake", install="-", build=build, model_args=dict,
                      uses_loaded_model=uses_loaded_model)
    names = ["humaneval", "gsm8k", "bbh", "mbpp"]
    config = load_suite("generalist-offline", {"benchmarks": names, "device": "cpu"})
    loaded = run.Loaded("m", None, "tokenizer", "cpu", False, {})
    monkeypatch.setattr(run, "_load", lambda *args: run._with_model(loaded))
    _Model.count = 0
    run._run(str(tmp_path / "model"), config, backend, [_planned(n) for n in names], tmp_path / "out", Ranks())
    if uses_loaded_model:  # one copy throughout
        assert events == ["load 1", "humaneval with model 1", "build with model 1", "gsm8k with lm", "bbh with lm",
                          "mbpp with model 1"]
    else:  # released before the backend starts (once), loaded again for the code benchmark after it
        assert events == ["load 1", "humaneval with model 1", "build with no model", "gsm8k with lm", "bbh with lm",
                          "load 2", "mbpp with model 2"]
    assert sorted(p.parent.name for p in (tmp_path / "out").glob("*/result.json")) == sorted(names)
