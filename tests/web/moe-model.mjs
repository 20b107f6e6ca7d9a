// A generated `inspect --json` of a large MoE model (94 layers × 32 tensors + 3 = 3,011 tensors,
// shapes in the style of Qwen3-MoE), for the tensor table's responsiveness check.
const TYPES = ["F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K", "IQ4_XS", "IQ3_S", "IQ2_XS"];
const D = 4096, EXPERTS = 128, FF = 1536, LAYERS = 94;

const KINDS = [
  ["attn_q", [D, 8192]], ["attn_k", [D, 512]], ["attn_v", [D, 512]], ["attn_output", [8192, D]],
  ["attn_q_norm", [128]], ["attn_k_norm", [128]], ["attn_norm", [D]], ["ffn_norm", [D]],
  ["ffn_gate_inp", [D, EXPERTS]], ["ffn_gate_exps", [D, FF, EXPERTS]], ["ffn_up_exps", [D, FF, EXPERTS]],
  ["ffn_down_exps", [FF, D, EXPERTS]], ["ffn_gate_shexp", [D, FF]], ["ffn_up_shexp", [D, FF]], ["ffn_down_shexp", [FF, D]],
  ["ffn_gate_inp_shexp", [D]],
  ...Array.from({ length: 16 }, (_, i) => [`lora_a_${i}`, [D, 16]]),
];

function tensor(name, shape) {
  const params = shape.reduce((a, b) => a * b, 1);
  const quantizable = shape.length > 1;
  return { name, hf_names: [name], shape, dtype: "BF16", params, bytes: params * 2, quantizable, allowed_types: quantizable ? TYPES : TYPES.slice(0, 3) };
}

export function moeModel() {
  const tensors = [tensor("token_embd.weight", [D, 151936])];
  for (let layer = 0; layer < LAYERS; layer++)
    for (const [kind, shape] of KINDS) tensors.push(tensor(`blk.${layer}.${kind}.weight`, shape));
  tensors.push(tensor("output_norm.weight", [D]), tensor("output.weight", [D, 151936]));
  const params = tensors.reduce((s, t) => s + t.params, 0);
  return {
    architecture: "qwen3moe", format: "safetensors", path: "/generated/moe-3011", params, bytes: params * 2,
    config: { model_type: "qwen3_moe", num_hidden_layers: LAYERS, hidden_size: D, num_experts: EXPERTS, moe_intermediate_size: FF },
    tensors,
  };
}
