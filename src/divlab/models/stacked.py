"""A compact GPT-2 whose weights are stacked on a leading "member" axis: M models of one shape trained as one.

Why not transformers' `GPT2LMHeadModel` for training: at the miniature's shape (2 layers, width 64, 25
tokens) the time goes to per-operation overhead, not FLOPs. This module does only what the experiments
need: fused QKV, `scaled_dot_product_attention` with `is_causal` (no mask tensors), no dropout ops at p = 0,
tied embeddings, and logits and loss at answer positions only. Stacking M cells that differ only by data
(one grid's cells) turns every matmul into one batched matmul, so M models cost about one model's
operations; M = 1 is a single model on the same code path.

Weights keep GPT-2's layout (`Conv1D` weights are [in, out]), so `member_state_dict(m)` is a Hugging Face
GPT-2 state dict: `export_member` writes a directory `GPT2LMHeadModel.from_pretrained` loads, with equal
logits (tests check this).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from divlab.models.gpt import ModelConfig
from divlab.seeding import stream_entropy

IGNORE = -100
LAYER_KEYS = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
              "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
              "mlp.c_proj.weight", "mlp.c_proj.bias")


class StackedGPT(nn.Module):
    """`members` GPT-2 models with identical shapes; parameter p has shape [members, *gpt2_shape]."""

    def __init__(self, config: ModelConfig, vocab_size: int, n_positions: int, members: int = 1):
        super().__init__()
        self.config, self.vocab_size, self.n_positions, self.members = config, vocab_size, n_positions, members
        d, m = config.n_embd, members
        self.wte = nn.Parameter(torch.zeros(m, vocab_size, d))
        self.wpe = nn.Parameter(torch.zeros(m, n_positions, d))
        self.layers = nn.ModuleList()
        for _ in range(config.n_layer):
            shapes = {
                "ln_1.weight": (d,), "ln_1.bias": (d,),
                "attn.c_attn.weight": (d, 3 * d), "attn.c_attn.bias": (3 * d,),
                "attn.c_proj.weight": (d, d), "attn.c_proj.bias": (d,),
                "ln_2.weight": (d,), "ln_2.bias": (d,),
                "mlp.c_fc.weight": (d, 4 * d), "mlp.c_fc.bias": (4 * d,),
                "mlp.c_proj.weight": (4 * d, d), "mlp.c_proj.bias": (d,),
            }
            # Module attribute names cannot hold dots; GPT-2's names are rebuilt in hf_names().
            self.layers.append(nn.ParameterDict({
                key.replace(".", "_"): torch.ones(m, *shape) if key.startswith("ln_") and key.endswith("weight")
                else torch.zeros(m, *shape) for key, shape in shapes.items()
            }))
        self.ln_f_weight = nn.Parameter(torch.ones(m, d))
        self.ln_f_bias = nn.Parameter(torch.zeros(m, d))

    # ---- weights --------------------------------------------------------------------------------------------

    def hf_names(self) -> list[tuple[str, nn.Parameter]]:
        """(Hugging Face GPT-2 name, stacked parameter), in a fixed order (initialisation follows it)."""
        names = [("transformer.wte.weight", self.wte), ("transformer.wpe.weight", self.wpe)]
        for i, layer in enumerate(self.layers):
            names += [(f"transformer.h.{i}.{key}", layer[key.replace(".", "_")]) for key in LAYER_KEYS]
        names += [("transformer.ln_f.weight", self.ln_f_weight), ("transformer.ln_f.bias", self.ln_f_bias)]
        return names

    @torch.no_grad()
    def init_member(self, member: int, seed: int) -> None:
        """GPT-2's initialisation (normal(0, init_std), residual projections scaled by 1/sqrt(2 n_layer), zero
        biases, unit norms). Each parameter draws from a generator of its own, seeded by (seed, its name): a
        member's weights depend on its seed only, so a member of a stack starts exactly where the same model
        trained alone starts, and a longer position table extends a shorter one row by row."""
        std = self.config.init_std
        for name, param in self.hf_names():
            target = param[member]
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                target.fill_(1.0)
            elif name.endswith(".bias"):
                target.zero_()
            else:
                generator = torch.Generator().manual_seed(stream_entropy(seed, "init", name) % (2**63))
                scale = std / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj.weight") else std
                target.copy_(torch.randn(target.shape, generator=generator) * scale)

    def member_state_dict(self, member: int) -> dict[str, torch.Tensor]:
        state = {name: param[member].detach().clone().contiguous() for name, param in self.hf_names()}
        state["lm_head.weight"] = state["transformer.wte.weight"]
        return state

    @torch.no_grad()
    def load_member_state_dict(self, member: int, state: dict[str, torch.Tensor]) -> None:
        for name, param in self.hf_names():
            param[member].copy_(state[name])

    def decays(self, name: str) -> bool:
        """Weight decay on matrices and embeddings, none on biases and norms (as for GPT-2 in divlab)."""
        return not name.endswith(".bias") and "ln_" not in name

    # ---- forward --------------------------------------------------------------------------------------------

    def _linear(self, x, weight, bias):
        if self.members == 1:  # one addmm beats a batched matmul of one; views, not [0]: no gradient scatter
            return torch.addmm(bias.view(bias.shape[1:]), x.view(x.shape[1:]), weight.view(weight.shape[1:])).unsqueeze(0)
        return torch.baddbmm(bias.unsqueeze(1), x, weight)

    def _layer_norm(self, x, weight, bias):
        d = x.shape[-1]
        if self.members == 1:
            return F.layer_norm(x, (d,), weight.view(d), bias.view(d), eps=1e-5)
        return torch.addcmul(bias.unsqueeze(1), F.layer_norm(x, (d,), eps=1e-5), weight.unsqueeze(1))

    def hidden(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Final hidden states [M, B*T, D] for input_ids [M, B, T]."""
        m, b, t = input_ids.shape
        d, heads, p = self.config.n_embd, self.config.n_head, self.config.dropout if self.training else 0.0
        offsets = (torch.arange(m, device=input_ids.device) * self.vocab_size).view(m, 1, 1)
        x = F.embedding(input_ids + offsets, self.wte.view(m * self.vocab_size, d)) + self.wpe[:, None, :t]
        if p:
            x = F.dropout(x, p)
        x = x.view(m, b * t, d)
        for layer in self.layers:
            h = self._layer_norm(x, layer["ln_1_weight"], layer["ln_1_bias"])
            qkv = self._linear(h, layer["attn_c_attn_weight"], layer["attn_c_attn_bias"])
            q, k, v = qkv.view(m * b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4).unbind(0)
            a = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            a = a.transpose(1, 2).reshape(m, b * t, d)
            a = self._linear(a, layer["attn_c_proj_weight"], layer["attn_c_proj_bias"])
            x = x + (F.dropout(a, p) if p else a)
            h = self._layer_norm(x, layer["ln_2_weight"], layer["ln_2_bias"])
            h = F.gelu(self._linear(h, layer["mlp_c_fc_weight"], layer["mlp_c_fc_bias"]), approximate="tanh")
            h = self._linear(h, layer["mlp_c_proj_weight"], layer["mlp_c_proj_bias"])
            x = x + (F.dropout(h, p) if p else h)
        return self._layer_norm(x, self.ln_f_weight, self.ln_f_bias)

    def logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Logits [M, B, T, V] at every position (evaluation)."""
        m, b, t = input_ids.shape
        return torch.bmm(self.hidden(input_ids), self.wte.transpose(1, 2)).view(m, b, t, self.vocab_size)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Per-member mean cross-entropy [M] of next-token prediction, computed only where labels are set.

        labels[..., i] is the token position i must be predicted as (-100: none), as for Hugging Face
        models: the hidden state at position i - 1 predicts it."""
        m, b, t = input_ids.shape
        hidden = self.hidden(input_ids).view(m, b, t, -1)[:, :, :-1]
        targets = labels[:, :, 1:]
        wanted = targets != IGNORE
        counts = wanted.view(m, -1).sum(1)
        if bool((counts == counts[0]).all()):  # the usual case: gather [M, N, D], one batched matmul
            chosen = hidden[wanted].view(m, int(counts[0]), -1)
            logits = torch.bmm(chosen, self.wte.transpose(1, 2))
            losses = F.cross_entropy(logits.flatten(0, 1), targets[wanted], reduction="none").view(m, -1)
            return losses.mean(1)
        return torch.stack([
            F.cross_entropy(hidden[i][wanted[i]] @ self.wte[i].T, targets[i][wanted[i]]) for i in range(m)
        ])


def hf_config(config: ModelConfig, vocab_size: int, n_positions: int, special_ids):
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=config.n_embd, n_layer=config.n_layer,
        n_head=config.n_head, resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
        activation_function="gelu_new", layer_norm_epsilon=1e-5, initializer_range=config.init_std,
        bos_token_id=special_ids["bos"], eos_token_id=special_ids["eos"], pad_token_id=special_ids["pad"],
        tie_word_embeddings=True,
    )


def export_member(model: StackedGPT, member: int, directory, special_ids) -> None:
    """Write member `member` as a Hugging Face GPT-2 directory (config.json + model.safetensors)."""
    from pathlib import Path

    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = hf_config(model.config, model.vocab_size, model.n_positions, special_ids)
    config.architectures = ["GPT2LMHeadModel"]
    config.save_pretrained(directory)
    state = model.member_state_dict(member)
    del state["lm_head.weight"]  # tied: transformers re-ties it to the embeddings on load
    save_file(state, directory / "model.safetensors", metadata={"format": "pt"})
