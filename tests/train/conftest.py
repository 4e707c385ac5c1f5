import pytest

from divlab.models.gpt import ModelConfig
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from divlab.train import TrainConfig, train

FEW_RULES = RewriteConfig(
    alphabet="abcd", x_len=(1, 2), y_len=(1, 2), z_len=(6, 6), num_train_rules=4, budget=3000,
    num_test_rules=4, num_test_examples=200, num_seen_test_examples=400, seed=1,
)
# Measured: 0.995 seen-rule exact match in ~40 s on the 2-core CPU.
LEARNING = TrainConfig(model=ModelConfig(n_layer=2, n_embd=64, n_head=4), batch_size=32, lr=3e-3, epochs=8, threads=2)


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


@pytest.fixture(scope="session")
def smoke_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "data"
    config = RewriteConfig(alphabet="abcdef", x_len=(1, 3), y_len=(1, 3), z_len=(6, 9), noop_fraction=0.2,
                           num_train_rules=20, budget=300, num_test_rules=5, num_test_examples=50,
                           num_seen_test_examples=50)
    generate_rewrite(config, out, progress=False)
    return out


def tiny_config(**changes) -> TrainConfig:
    values = dict(model=ModelConfig(n_layer=1, n_embd=32, n_head=2), batch_size=16, lr=3e-3, epochs=2, threads=1,
                  checkpoint_seconds=3600)
    values.update(changes)
    return TrainConfig(**values)
