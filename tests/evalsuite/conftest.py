import pytest


@pytest.fixture(autouse=True)
def offline_datasets(monkeypatch):
    """The suite's tests read local files only: any attempt to reach the hub fails at once instead of timing out."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
