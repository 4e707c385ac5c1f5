import pytest

from divlab.models.gpt import ModelConfig
from divlab.tasks.rewrite import RewriteConfig, generate_rewrite
from divlab.train import TrainConfig


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
