"""lm-eval's HF model around the model divlab loaded; under a launcher, rank 0's spreads its requests."""

from __future__ import annotations

from divlab.evalsuite.backends import Backend


def build(loaded, config, ranks):
    from lm_eval.models.huggingface import HFLM

    kwargs = dict(pretrained=loaded.model, tokenizer=loaded.tokenizer, batch_size=config.batch_size,
                  device=loaded.device)
    if ranks.distributed and ranks.main:
        from divlab.evalsuite.spread_lm import SpreadHFLM

        return SpreadHFLM(ranks, **kwargs)
    return HFLM(**kwargs)  # one process, or a rank answering rank 0's shares


def model_args(hf_args: dict, config) -> dict:
    return dict(hf_args)


BACKEND = Backend(name="hf", lm_eval_model="hf", install="pip install 'divlab[evalsuite]'", build=build,
                  model_args=model_args, serves_ranks=True)
