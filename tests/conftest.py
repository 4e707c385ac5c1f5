import os
import sys
from pathlib import Path

import pytest

from divlab.models.gpt import ModelConfig
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from divlab.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"

# One thread per test process: parallel workers and tests must not oversubscribe the two cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The data directory that shipped recipes and presets name their files in (as a user's --data-dir would).
os.environ.setdefault("DIVLAB_DATA", str(SHARED_DATA))


FEW_RULES = RewriteConfig(
    alphabet="abcd", x_len=(1, 2), y_len=(1, 2), z_len=(6, 6), num_train_rules=4, budget=3000,
    num_test_rules=4, num_test_examples=200, num_seen_test_examples=400, seed=1,
)
# Measured with seeds 0, 1, 2: 1.0, 1.0, 0.995 seen-rule exact match (unseen <= 0.01), ~20 s each on the 2-core
# CPU. (8 epochs gave 0.915-0.985 depending on the seed: too close to the test's bar.)
LEARNING = TrainConfig(model=ModelConfig(n_layer=2, n_embd=64, n_head=4), batch_size=32, lr=3e-3, epochs=16, threads=2,
                       eval_every=100)


@pytest.fixture(scope="session")
def few_rules_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("few") / "data"
    generate_rewrite(FEW_RULES, out, progress=False)
    return out


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, few_rules_dataset):
    run = tmp_path_factory.mktemp("few") / "run"
    train(few_rules_dataset, run, LEARNING, progress=False)
    return run


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def run_cli(*args: str, check: bool = True, **kwargs):
    """Run the installed CLI in a subprocess (as a user would)."""
    import subprocess

    result = subprocess.run([sys.executable, "-m", "divlab.cli", *args], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"divlab {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def make_tiny_lm(path: Path, texts, vocab_size: int = 400, chat: bool = True, n_embd: int = 32, n_layer: int = 1) -> Path:
    """A tiny GPT-2 and a byte-level BPE tokenizer trained on `texts`, saved at `path` (no hub, no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(list(texts), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                                   chat_template=CHAT_TEMPLATE if chat else None)
    config = GPT2Config(vocab_size=fast.vocab_size, n_positions=2048, n_embd=n_embd, n_layer=n_layer, n_head=2,
                        eos_token_id=fast.eos_token_id, bos_token_id=fast.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path
