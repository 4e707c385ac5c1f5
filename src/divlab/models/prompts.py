"""How a prompt is put to a pretrained LM: its chat template, or a plain instruction template for base models.
Fine-tuning trains on this text and evaluation feeds the same, so both read it from here."""

from __future__ import annotations

from divlab.models.pretrained import ModelError

# Used when the tokenizer has no chat template (base models) or prompt_format = "plain".
PLAIN_TEMPLATE = "### Instruction:\n{prompt}\n\n### Response:\n"


def uses_chat(tokenizer, prompt_format: str) -> bool:
    if prompt_format == "chat" and not tokenizer.chat_template:
        raise ModelError("prompt_format = 'chat' but the tokenizer has no chat template")
    return prompt_format == "chat" or (prompt_format == "auto" and bool(tokenizer.chat_template))


def render_prompt(tokenizer, prompt: str, prompt_format: str) -> str:
    """The exact text a fine-tuned model was trained to continue (what evaluation must feed it)."""
    if uses_chat(tokenizer, prompt_format):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return PLAIN_TEMPLATE.format(prompt=prompt)
