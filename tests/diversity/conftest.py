import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_onnx_export_per_session(tmp_path_factory):
    """Tests give each run its own embedding cache; the exported ONNX model (a one-off, ~5-20 s) is shared by
    the whole session instead, as it is by a user's runs. os.environ, so `divlab` subprocesses see it too."""
    previous = os.environ.get("DIVLAB_EXPORT_DIR")
    os.environ["DIVLAB_EXPORT_DIR"] = str(tmp_path_factory.mktemp("exports"))
    yield
    if previous is None:
        os.environ.pop("DIVLAB_EXPORT_DIR")
    else:
        os.environ["DIVLAB_EXPORT_DIR"] = previous
