#!/usr/bin/env python3
# Computes the reference data that quantscope's C++ tests compare against, from the files that
# ship (models/kjv-llama, models/tiny/*) as transformers reads them: float32 on the CPU, eager
# attention, no TF32, so a BF16 weight counts as its exact float32 value. Writes, under --work:
#   tests/data/reference/tokenizer_vectors.json        strings -> ids, with and without BOS
#   tests/data/reference/logits_<model>.safetensors    tokens_i (I32) + logits_i (F32 [n, vocab])
#   tests/data/reference/perplexity_kjv.json           llama-perplexity-style PPL of eval.txt
#   tests/data/reference/tokens_eval_kjv.safetensors   eval.txt tokenized (BOS first), I32
# tests/data/reference/README.md (written by hand) describes each file.
import argparse
import json
import os

import torch
import tokenizers
import transformers
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from make_tiny_models import load_for_reference, tiny_specs
from perplexity import llamacpp_perplexity

N_CTX = 512

# Strings for the tokenizer vectors: KJV prose (what the BPE was trained on), other English,
# contractions, digits, whitespace, code, many scripts, emoji, and special tokens inside text.
TEST_STRINGS = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "Jesus wept.",
    "And the LORD spake unto Moses, saying,\nSpeak unto the children of Israel.\n",
    "Blessed are the poor in spirit: for theirs is the kingdom of heaven.\n\nBlessed are they that mourn.",
    "Thou shalt not kill. Thou shalt not commit adultery. Thou shalt not steal.",
    "Nebuchadnezzar, Mahershalalhashbaz, Zaphnathpaaneah and Melchizedek.",
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "Quantization trades accuracy for memory: 4-bit weights take a quarter of the space of 16-bit ones.",
    "It's what we're doing; they'll see, I'd say you've been here, I'm sure.",
    "DON'T SHOUT, IT'S LOUD! WE'RE HERE, THEY'LL HEAR.",
    "O'Neil's rock'n'roll isn't 'quoted' ''twice''",
    "'s 't 're 've 'm 'll 'd",
    "it\u2019s a \u201csmart\u201d \u2018quote\u2019 \u2026 and an em\u2014dash",
    "1234567",
    "3.14159",
    "12 345 6789 0",
    "2024-11-23 08:22:59",
    "v1.2.3 0x1F 1e-5 -42 +7",
    "1,000,000.00",
    "\u0661\u0662\u0663 \u00bd \u00b2 \u2163",
    "a  b   c    d",
    "word\tword\t\tword",
    "\t\tindented with tabs",
    "line1\nline2",
    "line1\r\nline2\r\n",
    "para\n\n\npara",
    " \n \n ",
    "ends with a newline\n",
    "spaces before newline   \nnext",
    "   leading spaces",
    "trailing spaces   ",
    "    four leading spaces and four trailing    ",
    "def f(x):\n    return x ** 2  # square\n",
    "if (a != b) { c += 1; } else { c -= 1; }",
    "foo_bar.baz(qux=[1, 2, 3])",
    "https://example.com/path?q=1&r=2#frag",
    "user@example.com",
    "<html><body><p>Hi</p></body></html>",
    "!!!???... ---- ==== ____",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "The the THE tHe",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe \u00c5ngstr\u00f6m",
    "e\u0301 a\u0308 n\u0303",
    "\u0395\u03bd \u03b1\u03c1\u03c7\u1fc7 \u1f26\u03bd \u1f41 \u03bb\u03cc\u03b3\u03bf\u03c2",
    "\u0412 \u043d\u0430\u0447\u0430\u043b\u0435 \u0431\u044b\u043b\u043e \u0421\u043b\u043e\u0432\u043e",
    "\u592a\u521d\u6709\u9053\uff0c\u9053\u4e0e\u795e\u540c\u5728\uff0c\u9053\u5c31\u662f\u795e\u3002",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\u30ab\u30bf\u30ab\u30ca",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u0641\u064a \u0627\u0644\u0628\u062f\u0621 \u0643\u0627\u0646 \u0627\u0644\u0643\u0644\u0645\u0629",
    "\u05d1\u05bc\u05b0\u05e8\u05b5\u05d0\u05e9\u05c1\u05b4\u05d9\u05ea \u05d1\u05bc\u05b8\u05e8\u05b8\u05d0",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u092a\u093e\u0920",
    "\U0001F600",
    "\U0001F44D\U0001F3FD thumbs up",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 family",
    "\U0001F3F3\ufe0f\u200d\U0001F308",
    "\U0001F1FA\U0001F1F8\U0001F1EC\U0001F1E7\U0001F1EF\U0001F1F5",
    "\U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521\U0001D522",
    "non\u00a0breaking\u2009thin\u3000ideographic",
    "zero\u200bwidth\ufeffBOM",
    "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036b",
    "mixed: na\u00efve caf\u00e9 \u5317\u4eac \U0001F600 42 \u0391\u03b8\u03ae\u03bd\u03b1",
    "<|begin_of_text|>Hello",
    "Hello<|end_of_text|>world",
    "a <|end_of_text|> b",
    "<|pad|><|pad|><|eot_id|>",
    "<|end_of_text",
    "< |end_of_text|>",
    "<|unknown_special|>",
]


def tokenizer_vectors(tok, eval_text):
    strings = list(TEST_STRINGS)
    # Three verses of held-out text: prose the model has not seen, with their newlines.
    lines = eval_text.split("\n")
    strings += ["\n".join(lines[i : i + 3]) for i in (0, 400, 900)]
    strings.append(eval_text[:2000])
    vectors = []
    for text in strings:
        with_bos = tok.encode(text, add_special_tokens=True)
        plain = tok.encode(text, add_special_tokens=False)
        vector = {
            "text": text,
            "ids_with_bos": with_bos.ids,
            "ids_no_special": plain.ids,
            "pieces_no_special": plain.tokens,
            "decoded": tok.decode(plain.ids, skip_special_tokens=False),
        }
        if hasattr(tok, "encode_special_tokens"):
            # Special-token text treated as ordinary text (llama.cpp's parse_special = false).
            tok.encode_special_tokens = True
            vector["ids_no_special_parse"] = tok.encode(text, add_special_tokens=False).ids
            tok.encode_special_tokens = False
        vectors.append(vector)
    bad = [v["text"] for v in vectors if v["decoded"] != v["text"]]
    print(f"tokenizer vectors: {len(vectors)} strings; decode round trip differs for {len(bad)}: {bad!r}")
    return vectors


def write_json_list(path, items):
    """One item a line: readable diffs, and a file that does not balloon with indentation."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(item, ensure_ascii=False) for item in items))
        f.write("\n]\n")


def check_against_transformers_tokenizer(model_dir, vectors):
    try:
        hf = transformers.AutoTokenizer.from_pretrained(model_dir)
    except Exception as error:  # informative only: the shipped tokenizer.json is the reference
        print(f"AutoTokenizer could not load {model_dir}: {error}")
        return
    bad = 0
    for v in vectors:
        if hf(v["text"], add_special_tokens=True)["input_ids"] != v["ids_with_bos"] or \
                hf(v["text"], add_special_tokens=False)["input_ids"] != v["ids_no_special"]:
            bad += 1
    print(f"AutoTokenizer ({type(hf).__name__}) disagrees with tokenizer.json on {bad} of {len(vectors)} strings")


def check_weights_are_upcast(model, weights_path):
    """The float32 model must hold exactly the shipped BF16 values (no re-rounding anywhere)."""
    state = model.state_dict()
    for name, stored in load_file(weights_path).items():
        if not torch.equal(state[name], stored.float()):
            raise SystemExit(f"{name}: loaded float32 weight is not the upcast stored weight")


@torch.no_grad()
def save_logits(model, sequences, path, metadata):
    tensors = {}
    for i, ids in enumerate(sequences):
        ids = torch.tensor(ids, dtype=torch.long)
        tensors[f"tokens_{i}"] = ids.to(torch.int32)
        tensors[f"logits_{i}"] = model(input_ids=ids[None]).logits[0].float().contiguous()
    save_file(tensors, path, metadata={k: str(v) for k, v in metadata.items()})
    print(f"{os.path.basename(path)}: lengths {[len(s) for s in sequences]}, "
          f"{os.path.getsize(path)} bytes")


@torch.no_grad()
def router_margin(model, ids, top_k):
    """Smallest gap, over tokens and layers, between the k-th and (k+1)-th router output: how far
    routing is from a tie that float rounding could flip."""
    outputs = []

    def hook(_module, _inputs, output):
        outputs.append(output[0] if isinstance(output, tuple) else output)

    handles = [m.register_forward_hook(hook) for name, m in model.named_modules()
               if name.endswith(("mlp.gate", "block_sparse_moe.gate"))]
    model(input_ids=torch.tensor(ids)[None])
    for handle in handles:
        handle.remove()
    margins = []
    for output in outputs:
        if output.shape[-1] != model.config.num_experts_per_tok and output.shape[-1] > top_k:
            ranked = output.reshape(-1, output.shape[-1]).float().sort(dim=-1, descending=True).values
            margins.append((ranked[:, top_k - 1] - ranked[:, top_k]).min().item())
    return min(margins) if margins else float("nan")


def main():
    parser = argparse.ArgumentParser(description="Compute the C++ tests' reference data.")
    parser.add_argument("--repo", default=".")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(os.cpu_count() or 1)
    ref_dir = os.path.join(args.work, "tests", "data", "reference")
    os.makedirs(ref_dir, exist_ok=True)
    kjv_dir = os.path.join(args.work, "models", "kjv-llama")
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__}
    compute = "float32 on CPU, eager attention, from the stored weights (BF16 ones upcast exactly)"

    tok = Tokenizer.from_file(os.path.join(kjv_dir, "tokenizer.json"))
    with open(os.path.join(args.repo, "models/kjv-llama/eval.txt"), encoding="utf-8") as f:
        eval_text = f.read()
    vectors = tokenizer_vectors(tok, eval_text)
    write_json_list(os.path.join(ref_dir, "tokenizer_vectors.json"), vectors)
    check_against_transformers_tokenizer(kjv_dir, vectors)

    model = load_for_reference(kjv_dir)
    check_weights_are_upcast(model, os.path.join(kjv_dir, "model.safetensors"))
    bos = tok.token_to_id("<|begin_of_text|>")
    eval_ids = tok.encode(eval_text, add_special_tokens=True).ids
    sequences = [eval_ids[:7], [bos] + eval_ids[1000:1063], [bos] + eval_ids[5000:5199]]
    save_logits(model, sequences, os.path.join(ref_dir, "logits_kjv-llama.safetensors"),
                {"model": "models/kjv-llama", "compute": compute,
                 "source": "eval.txt tokens [0:7], BOS+[1000:1063], BOS+[5000:5199]", **versions})
    save_file({"tokens": torch.tensor(eval_ids, dtype=torch.int32)},
              os.path.join(ref_dir, "tokens_eval_kjv.safetensors"),
              metadata={"text": "models/kjv-llama/eval.txt", "add_bos": "true", **versions})

    forward = lambda ids: model(input_ids=ids).logits  # noqa: E731
    result = llamacpp_perplexity(forward, torch.tensor(eval_ids), N_CTX, bos, batch_size=8)
    with open(os.path.join(args.repo, "models/kjv-llama/calibration.txt"), encoding="utf-8") as f:
        calibration_ids = tok.encode(f.read(), add_special_tokens=True).ids
    calibration = llamacpp_perplexity(forward, torch.tensor(calibration_ids), N_CTX, bos, batch_size=8)
    report = {
        "model": "models/kjv-llama",
        "text": "models/kjv-llama/eval.txt",
        "method": "llama-perplexity default: whole text tokenized once with BOS; n_chunks = "
                  "n_tokens // n_ctx non-overlapping chunks, first token of each replaced by BOS; "
                  "positions n_ctx/2 .. n_ctx-2 scored (predicting the next token); ppl = exp(mean nll)",
        "compute": compute,
        **{k: result[k] for k in ("n_ctx", "n_tokens", "n_chunks", "n_scored_tokens", "ppl", "mean_nll")},
        "chunk_ppl": [round(x, 5) for x in result["chunk_ppl"]],
        "other_texts": {"models/kjv-llama/calibration.txt": {
            k: calibration[k] for k in ("n_tokens", "n_chunks", "n_scored_tokens", "ppl", "mean_nll")}},
        "versions": versions,
    }
    with open(os.path.join(ref_dir, "perplexity_kjv.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"llama.cpp-style PPL: eval {result['ppl']:.4f} over {result['n_chunks']} chunks "
          f"({result['n_tokens']} tokens); calibration {calibration['ppl']:.4f} over "
          f"{calibration['n_chunks']} chunks")

    for index, (arch, _cls, config) in enumerate(tiny_specs()):
        tiny = load_for_reference(os.path.join(args.work, "models", "tiny", arch))
        generator = torch.Generator().manual_seed(4242 + index)
        sequences = [torch.randint(0, config.vocab_size, (n,), generator=generator).tolist()
                     for n in (7, 64, 200)]
        metadata = {"model": f"models/tiny/{arch}", "compute": compute,
                    "source": "uniform random token ids", **versions}
        if hasattr(config, "num_experts_per_tok"):
            try:  # a diagnostic only: it must not cost the run
                margin = min(router_margin(tiny, s, config.num_experts_per_tok) for s in sequences)
                metadata["min_router_margin"] = f"{margin:.6f}"
                print(f"{arch}: smallest top-{config.num_experts_per_tok} router margin {margin:.6f}")
            except Exception as error:
                print(f"{arch}: router margin not measured: {error!r}")
        save_logits(tiny, sequences, os.path.join(ref_dir, f"logits_tiny-{arch}.safetensors"), metadata)


if __name__ == "__main__":
    main()
