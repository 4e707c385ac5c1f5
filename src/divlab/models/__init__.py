"""Character tokenizer and GPT-2 models for the from-scratch experiments."""

from divlab.models.tokenizer import CharTokenizer, EncodedExample
from divlab.models.gpt import MODEL_PRESETS, ModelConfig, build_model

__all__ = ["CharTokenizer", "EncodedExample", "MODEL_PRESETS", "ModelConfig", "build_model"]
