"""LoRA fine-tuning of pretrained causal LMs (PEFT + TRL's SFTTrainer) on prompt/completion datasets."""

from divlab.finetune.config import FinetuneConfig
from divlab.finetune.trainer import FinetuneError, finetune, read_prompt_completion, render_prompt

__all__ = ["FinetuneConfig", "FinetuneError", "finetune", "read_prompt_completion", "render_prompt"]
