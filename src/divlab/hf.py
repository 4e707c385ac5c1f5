"""Quiet transformers: its padding/attention-mask advice and weight-loading bars do not apply to how divlab
feeds the model (right padding behind causal attention, labels masked), and they drown the progress bars."""

from __future__ import annotations


def quiet_transformers() -> None:
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
