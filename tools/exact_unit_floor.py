#!/usr/bin/env python3
"""Flop floor of an exact single-tensor KLD measurement, in full-pass equivalents.

For a llama-shaped model (dense SwiGLU, GQA), context n with the second half scored as
llama-perplexity scores it, counts the multiply-adds a unit must run when it starts

  - at its layer ("layer": the whole layer, or the feed-forward block for FFN weights), or
  - at the product its weight is in ("product": what quantscope's staged start runs),

then the later layers over every row (the last one trimmed to the scored rows, Q/K/V for all),
the output product for the scored rows; averaged over the 7 weights of every layer plus
token_embd (a full pass) and output (the output product only), divided by one full pass.
Prints the table of docs/measure.md ("How low the cost of an exact unit can go").
"""


def floor(n_embd, n_ff, n_vocab, n_layer, n_head, n_head_kv, head_dim, n_ctx=512, start="product"):
    q_width, kv_width = n_head * head_dim, n_head_kv * head_dim
    first = n_ctx // 2
    scored_rows = n_ctx - first
    pairs_all = sum(i + 1 for i in range(n_ctx))          # causal (query, key) pairs
    pairs_last = sum(i + 1 for i in range(first, n_ctx))  # queries of the trimmed last layer
    q = n_ctx * n_embd * q_width
    k = v = n_ctx * n_embd * kv_width
    full_layer = q + k + v + 2 * pairs_all * q_width + n_ctx * q_width * n_embd + 3 * n_ctx * n_embd * n_ff
    last_layer = (q + k + v + 2 * pairs_last * q_width + scored_rows * q_width * n_embd
                  + 3 * scored_rows * n_embd * n_ff)
    output = scored_rows * n_embd * n_vocab
    full_pass = (n_layer - 1) * full_layer + last_layer + output

    def later_layers(layer):
        return (n_layer - 2 - layer) * full_layer + last_layer if layer < n_layer - 1 else 0

    def own_layer(layer, weight):
        last = layer == n_layer - 1
        rows = scored_rows if last else n_ctx
        attention = 2 * (pairs_last if last else pairs_all) * q_width
        projection, ffn = rows * q_width * n_embd, 3 * rows * n_embd * n_ff
        if start == "layer":
            return ffn if weight in "gud" else q + k + v + attention + projection + ffn
        return {"q": q + attention + projection + ffn, "k": k + attention + projection + ffn,
                "v": v + attention + projection + ffn, "o": projection + ffn,
                "g": 2 * rows * n_embd * n_ff, "u": 2 * rows * n_embd * n_ff, "d": rows * n_embd * n_ff}[weight]

    units = [own_layer(l, w) + later_layers(l) + output for l in range(n_layer) for w in "qkvogud"]
    units += [full_pass, output]
    return sum(units) / len(units) / full_pass, output / full_pass


SHAPES = {  # n_embd, n_ff, n_vocab, n_layer, n_head, n_head_kv, head_dim
    "shipped kjv-llama": (256, 768, 3840, 8, 4, 2, 64),
    "Qwen2.5-0.5B shape": (896, 4864, 151936, 24, 14, 2, 64),
    "Llama-3-8B shape": (4096, 14336, 128256, 32, 32, 8, 128),
    "Llama-2-7B shape": (4096, 11008, 32000, 32, 32, 32, 128),
}

if __name__ == "__main__":
    print("| model | layers | output share of a pass | start at the layer | start at the weight's product |")
    print("|---|---|---|---|---|")
    for name, shape in SHAPES.items():
        product, output_share = floor(*shape)
        layer, _ = floor(*shape, start="layer")
        print(f"| {name} | {shape[3]} | {100 * output_share:.1f} % | {layer:.3f} | {product:.3f} |")
