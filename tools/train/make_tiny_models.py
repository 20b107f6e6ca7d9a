#!/usr/bin/env python3
# Builds the tiny random-initialised models that the C++ forward-pass tests run:
#   WORK/models/tiny/{llama,qwen2,qwen3,mixtral,qwen3_moe}/{config.json, model.safetensors}
# Float32, 2 layers, hidden 64, vocab 512, no tokenizer. Every parameter is random, norms and
# biases included (norm weights 1 + 0.1 * N(0,1), biases 0.3 * N(0,1), matrices N(0, 1/fan_in),
# embeddings N(0,1)), so a test catches a skipped norm, a missing bias or a wrong head layout;
# the scales keep attention and MoE routing decisive rather than uniform.
# Each architecture has something the others lack:
#   llama      llama3 rope scaling, tied embeddings
#   qwen2      q/k/v biases
#   qwen3      per-head q/k RMSNorm, head_dim 32 != hidden/heads (q_proj is 128 x 64), tied
#   mixtral    4 experts, top-2 (softmax over all experts, then renormalised top-2)
#   qwen3_moe  4 experts, top-2, norm_topk_prob, q/k norm, head_dim 32
# Checkpoints are written in the classic per-expert layout found on the Hub
# (block_sparse_moe.experts.N.w1 / mlp.experts.N.gate_proj), then reloaded and checked.
# Deterministic on CPU: the same seed gives the same bytes.
import argparse
import json
import os
import re

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MixtralConfig,
                          MixtralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM)

from train_on_device import fix_config_json, rope_config

COMMON = dict(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=512, hidden_act="silu",
              bos_token_id=1, eos_token_id=2)


def tiny_specs():
    """(name, model class, config) for each tiny model."""
    llama3_scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    return [
        # head_dim 16, theta 1e4, original context 64: of the 8 rotary frequencies, one is kept,
        # two are interpolated (wavelengths 20 and 63, between 64/4 and 64/1) and five divided by 8.
        ("llama", LlamaForCausalLM, LlamaConfig(
            **COMMON, intermediate_size=128, head_dim=16, rms_norm_eps=1e-5,
            tie_word_embeddings=True, **rope_config(10000.0, llama3_scaling))),
        ("qwen2", Qwen2ForCausalLM, Qwen2Config(
            **COMMON, intermediate_size=128, rms_norm_eps=1e-6, tie_word_embeddings=False,
            use_sliding_window=False, **rope_config(1000000.0))),
        ("qwen3", Qwen3ForCausalLM, Qwen3Config(
            **COMMON, intermediate_size=128, head_dim=32, rms_norm_eps=1e-6,
            tie_word_embeddings=True, use_sliding_window=False, attention_bias=False,
            **rope_config(1000000.0))),
        ("mixtral", MixtralForCausalLM, MixtralConfig(
            **COMMON, intermediate_size=64, head_dim=16, rms_norm_eps=1e-5,
            num_local_experts=4, num_experts_per_tok=2, router_jitter_noise=0.0,
            sliding_window=None, tie_word_embeddings=False, **rope_config(1000000.0))),
        ("qwen3_moe", Qwen3MoeForCausalLM, Qwen3MoeConfig(
            **COMMON, intermediate_size=128, moe_intermediate_size=64, head_dim=32,
            rms_norm_eps=1e-6, num_experts=4, num_experts_per_tok=2, norm_topk_prob=True,
            decoder_sparse_step=1, mlp_only_layers=[], tie_word_embeddings=False,
            use_sliding_window=False, attention_bias=False, **rope_config(1000000.0))),
    ]


@torch.no_grad()
def randomise(model, generator):
    for name, param in model.named_parameters():  # a tied weight is visited once
        if name.endswith("norm.weight"):
            value = 1.0 + 0.1 * torch.randn(param.shape, generator=generator)
        elif name.endswith("bias"):
            value = 0.3 * torch.randn(param.shape, generator=generator)
        elif "embed_tokens" in name:
            value = torch.randn(param.shape, generator=generator)
        elif param.dim() >= 2:  # [out, in] or fused experts [E, out, in]
            value = torch.randn(param.shape, generator=generator) / param.shape[-1] ** 0.5
        else:
            raise SystemExit(f"make_tiny_models: no rule for parameter {name} {tuple(param.shape)}")
        param.copy_(value)


def unfuse_experts(tensors, arch, config):
    """transformers 5 keeps experts fused ([E, 2I, H] gate_up_proj, [E, H, I] down_proj); write
    them the way Hub checkpoints hold them, in case save_pretrained did not revert the layout."""
    out = {}
    inter = config.intermediate_size if arch == "mixtral" else config.moe_intermediate_size
    for name, tensor in tensors.items():
        match = re.match(r"(model\.layers\.\d+)\.mlp\.(experts\.gate_up_proj|experts\.down_proj|gate\.weight)$", name)
        if not match:
            out[name] = tensor
            continue
        layer, what = match.groups()
        prefix = f"{layer}.block_sparse_moe" if arch == "mixtral" else f"{layer}.mlp"
        if what == "gate.weight":
            out[f"{prefix}.gate.weight"] = tensor
            continue
        names = {"mixtral": ("w1", "w3", "w2"), "qwen3_moe": ("gate_proj", "up_proj", "down_proj")}[arch]
        for e in range(tensor.shape[0]):
            if what == "experts.gate_up_proj":
                fused = tensor[e] if tensor.shape[1] == 2 * inter else tensor[e].t()
                out[f"{prefix}.experts.{e}.{names[0]}.weight"] = fused[:inter].contiguous()
                out[f"{prefix}.experts.{e}.{names[1]}.weight"] = fused[inter:].contiguous()
            else:
                down = tensor[e] if tensor.shape[2] == inter else tensor[e].t()
                out[f"{prefix}.experts.{e}.{names[2]}.weight"] = down.contiguous()
    return out


def load_for_reference(model_dir):
    """Float32, eager attention, on CPU: the configuration every reference number uses."""
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                 attn_implementation="eager")
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description="Build the tiny random test models.")
    parser.add_argument("--work", required=True, help="files land in WORK/models/tiny/<arch>")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    probe = torch.randint(0, 512, (1, 23), generator=torch.Generator().manual_seed(args.seed))

    for index, (arch, cls, config) in enumerate(tiny_specs()):
        out_dir = os.path.join(args.work, "models", "tiny", arch)
        os.makedirs(out_dir, exist_ok=True)
        model = cls(config).float().eval()
        randomise(model, torch.Generator().manual_seed(args.seed + index))
        with torch.no_grad():
            expected = model(input_ids=probe).logits
        model.save_pretrained(out_dir)
        fix_config_json(out_dir, "float32")
        weights_path = os.path.join(out_dir, "model.safetensors")
        tensors = load_file(weights_path)
        if any("gate_up_proj" in name or ".mlp.experts.down_proj" in name for name in tensors):
            print(f"{arch}: save_pretrained kept fused experts; rewriting per-expert")
            save_file(unfuse_experts(tensors, arch, config), weights_path, metadata={"format": "pt"})

        # The files, read back by transformers, must give the same model.
        with torch.no_grad():
            reloaded = load_for_reference(out_dir)(input_ids=probe).logits
        diff = (reloaded - expected).abs().max().item()
        names = sorted(load_file(weights_path))
        params = sum(t.numel() for t in load_file(weights_path).values())
        print(f"{arch:10s} {params:7d} params  {os.path.getsize(weights_path):8d} bytes  "
              f"reload max|diff| {diff:.2e}  logits std {expected.std().item():.3f}")
        print("    " + "\n    ".join(n for n in names if re.match(r"model\.layers\.0\.", n) or
                                      not n.startswith("model.layers.")))
        if diff > 1e-4:  # a layout slip is O(1); eager vs sdpa is ~1e-7
            raise SystemExit(f"{arch}: reloaded model differs from the one saved ({diff})")
        with open(os.path.join(out_dir, "config.json")) as f:
            print("    config keys: " + ", ".join(sorted(json.load(f))))
    print(f"transformers {transformers.__version__}")


if __name__ == "__main__":
    main()
