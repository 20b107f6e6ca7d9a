# Regenerates tests/data/transformers5/: tiny random checkpoints saved by transformers 5.x, the
# runtime (fused-expert) state dicts of the MoE ones, and reference.safetensors with values torch
# computes (FP8/F16/BF16/F64 decoding, convert_hf_to_gguf.py's q/k permute and llama3 rope_freqs,
# re-typed from their definitions). Not part of the product or the build: needs torch,
# transformers>=5 and safetensors. The committed files were made with torch 2.11, transformers
# 5.17.0, safetensors 0.8.0.
#   python3 tools/make_transformers5_fixtures.py tests/data/transformers5
import math
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, MixtralConfig,
                          MixtralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM,
                          Qwen3MoeConfig, Qwen3MoeForCausalLM)

out = sys.argv[1]
common = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
              num_key_value_heads=1, vocab_size=32, max_position_embeddings=64)


def save(model, name, **kwargs):
    directory = os.path.join(out, name)
    model.save_pretrained(directory, **kwargs)
    generation_config = os.path.join(directory, 'generation_config.json')
    if os.path.exists(generation_config):
        os.remove(generation_config)
    return directory


torch.manual_seed(0)
llama3 = {'rope_type': 'llama3', 'rope_theta': 500000.0, 'factor': 8.0, 'low_freq_factor': 1.0,
          'high_freq_factor': 4.0, 'original_max_position_embeddings': 32}
save(LlamaForCausalLM(LlamaConfig(**common, head_dim=8, rope_parameters=llama3)).to(torch.bfloat16), 'llama')
save(MistralForCausalLM(MistralConfig(**common, head_dim=8)).to(torch.float16), 'mistral')
save(Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=True)), 'qwen2')
save(Qwen3ForCausalLM(Qwen3Config(**common, head_dim=8, tie_word_embeddings=True)), 'qwen3')
yarn = {'rope_type': 'yarn', 'rope_theta': 1000000.0, 'factor': 4.0, 'original_max_position_embeddings': 16}
qwen3_moe = Qwen3MoeForCausalLM(Qwen3MoeConfig(**common, head_dim=8, num_experts=4, num_experts_per_tok=2,
                                               moe_intermediate_size=8, norm_topk_prob=True, rope_parameters=yarn))
save(qwen3_moe, 'qwen3_moe_sharded', max_shard_size='20KB')

# One-layer MoE models saved both ways: save_pretrained writes the per-expert names, while the
# model's own state dict (what other tools may save) holds the fused 5.x parameters.
torch.manual_seed(3)
one_layer = dict(common, num_hidden_layers=1, head_dim=8)
for name, model in [('mixtral', MixtralForCausalLM(MixtralConfig(**one_layer, num_local_experts=3, num_experts_per_tok=2))),
                    ('qwen3_moe', Qwen3MoeForCausalLM(Qwen3MoeConfig(**one_layer, num_experts=3, num_experts_per_tok=2,
                                                                     moe_intermediate_size=8)))]:
    directory = save(model, name)
    fused = {k: v.contiguous() for k, v in model.state_dict().items() if 'experts' in k or '.gate.' in k}
    save_file(fused, os.path.join(directory, 'runtime_state_dict.safetensors'))


def permute(w, n_head, n_head_kv):  # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_factors(base, dim, factor, low, high, old):  # LlamaModel.generate_extra_tensors
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    low_wavelen, high_wavelen, factors = old / low, old / high, []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            factors.append(1)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(factors, dtype=torch.float32)


codes = torch.arange(256, dtype=torch.uint8)
g = torch.Generator().manual_seed(1)
wq, wk = torch.randn(24, 5, generator=g), torch.randn(8, 5, generator=g)
f16 = torch.cat([torch.randn(60, generator=g), torch.tensor([65504.0, 6e-8, float('inf'), -0.0])]).to(torch.float16)
bf16 = torch.randn(64, generator=g).to(torch.bfloat16)
f64 = torch.randn(8, generator=g, dtype=torch.float64)
reference = {
    'e4m3': codes.clone().view(torch.float8_e4m3fn), 'e4m3_decoded': codes.view(torch.float8_e4m3fn).float(),
    'e5m2': codes.clone().view(torch.float8_e5m2), 'e5m2_decoded': codes.view(torch.float8_e5m2).float(),
    'f16': f16, 'f16_decoded': f16.float(), 'bf16': bf16, 'bf16_decoded': bf16.float(),
    'f64': f64, 'f64_decoded': f64.float(),
    'permute.q_in': wq, 'permute.q_out': permute(wq, 3, 3),
    'permute.k_in': wk, 'permute.k_out': permute(wk, 3, 1),
    'llama3.theta500000_dim128_f8_l1_h4_old8192': llama3_factors(500000.0, 128, 8.0, 1.0, 4.0, 8192),
    'llama3.theta10000_dim64_f32_l1_h4_old2048': llama3_factors(10000.0, 64, 32.0, 1.0, 4.0, 2048),
}
save_file({k: v.contiguous() for k, v in reference.items()}, os.path.join(out, 'reference.safetensors'),
          metadata={'made_by': 'torch ' + torch.__version__})
