#!/usr/bin/env python3
# Trains quantscope's shipped model, models/kjv-llama: a Llama-3-style byte-level BPE tokenizer and
# a small LlamaForCausalLM on the KJV train split (tools/train/data/train.txt, made by
# prepare_corpus.sh), early-stopped on the llama.cpp-style perplexity of models/kjv-llama/eval.txt.
# Runs on a GPU machine (bf16 autocast); run_on_device.sh calls it. Writes, under --work:
#   models/kjv-llama/{model.safetensors (BF16), config.json, generation_config.json,
#                     tokenizer.json, tokenizer_config.json, special_tokens_map.json,
#                     training_log.json}
# Seeded throughout; GPU kernels are not bit-deterministic, so a rerun gives a slightly different
# model: the shipped files, not this script, are the reference for tests.
import argparse
import inspect
import json
import math
import os
import re
import time

import torch
import torch.nn.functional as F
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM

from perplexity import llamacpp_perplexity

# Llama 3's pre-tokenizer regex, verbatim from its tokenizer.json.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
BOS, EOS, PAD, EOT = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>", "<|eot_id|>"
SPECIAL_TOKENS = [BOS, EOS, PAD, EOT]  # appended after the BPE vocabulary, like Llama 3's

# 3840 = 15 * 256, not 4096: with the dimensions below and a 4096 vocabulary the BF16 file is
# 16.01 MiB, over the 16 MiB a device run can return in one file. Every dimension stays a
# multiple of 256 (k_proj/v_proj have 128 rows, but their rows are 256 long).
DEFAULT_VOCAB = 3840
N_CTX = 512


def parse_args():
    p = argparse.ArgumentParser(description="Train the kjv-llama tokenizer and model.")
    p.add_argument("--repo", default=".", help="repository root (reads the corpus from it)")
    p.add_argument("--work", required=True, help="output root; files land in WORK/models/kjv-llama")
    p.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB)
    p.add_argument("--batch-size", type=int, default=32, help="512-token windows per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine floor, fraction of --lr")
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--max-steps", type=int, default=2000, help="length of the cosine schedule")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.3,
                   help="residual dropout (embeddings, attention and MLP outputs), training only")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--patience", type=int, default=8, help="evals without improvement before stopping")
    p.add_argument("--time-limit", type=float, default=360.0, help="seconds of training at most")
    p.add_argument("--seed", type=int, default=20241123)
    return p.parse_args()


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def train_tokenizer(train_text, vocab_size):
    """Byte-level BPE with Llama 3's pre-tokenization, post-processing and decoder."""
    tok = Tokenizer(models.BPE(ignore_merges=True))  # Llama 3 sets ignore_merges too
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(SPECIAL_TOKENS),
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: any text encodes
        special_tokens=[],
    )
    # One training sequence per chapter (chapters end in "\n\n"), so the blank line between
    # chapters is seen as the single pre-token "\n\n" exactly as when a whole file is encoded.
    chapters = re.split(r"(?<=\n\n)", train_text)
    tok.train_from_iterator(chapters, trainer=trainer, length=len(chapters))
    tok.add_special_tokens(SPECIAL_TOKENS)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(
            single=f"{BOS}:0 $A:0",
            pair=f"{BOS}:0 $A:0 {BOS}:1 $B:1",
            special_tokens=[(BOS, bos_id)],
        ),
    ])
    if tok.get_vocab_size() != vocab_size:
        raise SystemExit(f"tokenizer has {tok.get_vocab_size()} tokens, expected {vocab_size}")
    return tok


def save_tokenizer(tok, out_dir):
    """Writes tokenizer.json (ignore_merges forced on) plus the transformers side files."""
    path = os.path.join(out_dir, "tokenizer.json")
    tok.save(path, pretty=True)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not data["model"].get("ignore_merges"):
        data["model"]["ignore_merges"] = True
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
    added = {}
    for name in SPECIAL_TOKENS:
        added[str(tok.token_to_id(name))] = {
            "content": name, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": True,
        }
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": BOS,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS,
        "pad_token": PAD,
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": N_CTX,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    special_map = {
        key: {"content": value, "lstrip": False, "normalized": False, "rstrip": False,
              "single_word": False}
        for key, value in (("bos_token", BOS), ("eos_token", EOS), ("pad_token", PAD))
    }
    for name, obj in (("tokenizer_config.json", config), ("special_tokens_map.json", special_map)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    return Tokenizer.from_file(path)  # from now on, use exactly what ships


def rope_config(theta, scaling=None):
    """RoPE settings for a config class of this transformers version (5.x: rope_parameters)."""
    if "rope_parameters" in getattr(LlamaConfig, "__dataclass_fields__", {}) or \
            "rope_parameters" in inspect.signature(LlamaConfig.__init__).parameters:
        params = {"rope_type": "default", "rope_theta": theta}
        params.update(scaling or {})
        return {"rope_parameters": params}
    return {"rope_theta": theta, "rope_scaling": scaling}


def model_config(vocab_size, tok):
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=8,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=64,
        max_position_embeddings=N_CTX,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        hidden_act="silu",
        initializer_range=0.02,
        bos_token_id=tok.token_to_id(BOS),
        eos_token_id=tok.token_to_id(EOS),
        pad_token_id=tok.token_to_id(PAD),
        **rope_config(10000.0),
    )


def add_residual_dropout(model, p):
    """Dropout on the embeddings and on what each attention and MLP block adds to the residual
    stream, in training mode only. LlamaConfig has no such option (only attention_dropout); the
    hooks hold no parameters, so the saved model is a plain Llama."""
    def drop(module, _inputs, output):
        if not module.training:
            return output
        if isinstance(output, tuple):
            return (F.dropout(output[0], p, training=True),) + tuple(output[1:])
        return F.dropout(output, p, training=True)

    model.model.embed_tokens.register_forward_hook(drop)
    for layer in model.model.layers:
        layer.self_attn.register_forward_hook(drop)
        layer.mlp.register_forward_hook(drop)


def lr_at(step, args):
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = min(1.0, (step - args.warmup_steps) / max(1, args.max_steps - args.warmup_steps))
    floor = args.lr * args.min_lr_ratio
    return floor + (args.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def fix_config_json(model_dir, dtype_name):
    """transformers 5 writes "dtype"; older readers (and llama.cpp's converter) look for
    "torch_dtype". Keep both, same value."""
    path = os.path.join(model_dir, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["dtype"] = dtype_name
    config["torch_dtype"] = dtype_name
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    return config


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda")
    out_dir = os.path.join(args.work, "models", "kjv-llama")
    os.makedirs(out_dir, exist_ok=True)
    print(f"torch {torch.__version__}  transformers {transformers.__version__}  "
          f"tokenizers {tokenizers.__version__}  GPU {torch.cuda.get_device_name()}")

    started = time.time()
    train_text = read_text(os.path.join(args.repo, "tools/train/data/train.txt"))
    eval_text = read_text(os.path.join(args.repo, "models/kjv-llama/eval.txt"))
    tok = save_tokenizer(train_tokenizer(train_text, args.vocab_size), out_dir)
    bos_id = tok.token_to_id(BOS)
    # The training stream has no BOS of its own: every window gets BOS at position 0, exactly as
    # llama-perplexity feeds its chunks. The eval text starts with BOS as llama-perplexity's does.
    train_ids = torch.tensor(tok.encode(train_text, add_special_tokens=False).ids, dtype=torch.long)
    eval_ids = torch.tensor(tok.encode(eval_text, add_special_tokens=True).ids, dtype=torch.long)
    print(f"tokenizer: {tok.get_vocab_size()} tokens, trained in {time.time() - started:.1f} s; "
          f"train {train_ids.numel()} tokens ({len(train_text) / train_ids.numel():.2f} bytes/token), "
          f"eval {eval_ids.numel()} tokens")

    config = model_config(args.vocab_size, tok)
    model = LlamaForCausalLM(config).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    if args.dropout > 0:
        add_residual_dropout(model, args.dropout)
    print(f"model: {n_params} parameters")

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)

    def forward_bf16(input_ids):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return model(input_ids=input_ids.to(device)).logits.float()

    train_gpu = train_ids.to(device)
    sampler = torch.Generator(device="cpu").manual_seed(args.seed)
    offsets = torch.arange(N_CTX + 1, device=device)
    best = {"ppl": float("inf"), "step": -1}
    best_state = None
    history = []
    evals_since_best = 0
    train_started = time.time()
    step = 0
    stop_reason = "max_steps"
    while step < args.max_steps:
        model.train()
        starts = torch.randint(0, train_gpu.numel() - N_CTX - 1, (args.batch_size,), generator=sampler)
        windows = train_gpu[starts.to(device)[:, None] + offsets]
        inputs = windows[:, :N_CTX].clone()
        inputs[:, 0] = bos_id
        targets = windows[:, 1:]
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=inputs).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1

        if step % args.eval_every == 0 or step == args.max_steps:
            model.eval()
            result = llamacpp_perplexity(forward_bf16, eval_ids, N_CTX, bos_id, batch_size=64)
            elapsed = time.time() - train_started
            history.append({"step": step, "train_loss": round(loss.item(), 5),
                            "eval_ppl": round(result["ppl"], 4), "lr": lr_at(step - 1, args),
                            "seconds": round(elapsed, 1)})
            marker = ""
            if result["ppl"] < best["ppl"]:
                best = {"ppl": result["ppl"], "step": step}
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                evals_since_best = 0
                marker = "  *best*"
            else:
                evals_since_best += 1
            print(f"step {step:5d}  loss {loss.item():.4f}  eval ppl {result['ppl']:.3f}  "
                  f"lr {lr_at(step - 1, args):.2e}  {elapsed:6.1f} s{marker}")
            if evals_since_best >= args.patience:
                stop_reason = f"patience ({args.patience} evals without improvement)"
                break
            if elapsed > args.time_limit:
                stop_reason = f"time limit ({args.time_limit:.0f} s)"
                break
    train_seconds = time.time() - train_started
    print(f"stopped after {step} steps ({stop_reason}), {train_seconds:.1f} s; "
          f"best eval ppl {best['ppl']:.3f} at step {best['step']}")

    model.load_state_dict(best_state)
    model = model.to(torch.bfloat16).cpu()
    model.save_pretrained(out_dir)
    fix_config_json(out_dir, "bfloat16")
    size = os.path.getsize(os.path.join(out_dir, "model.safetensors"))
    print(f"model.safetensors: {size} bytes ({size / 2**20:.3f} MiB)")
    if size >= 16 * 2**20:
        raise SystemExit("model.safetensors must stay under 16 MiB")

    log = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "gpu": torch.cuda.get_device_name(),
        "corpus_tokens": {"train": train_ids.numel(), "eval": eval_ids.numel()},
        "parameters": n_params,
        "hyperparameters": {k: v for k, v in vars(args).items() if k not in ("repo", "work")},
        "tokens_per_step": args.batch_size * N_CTX,
        "steps_run": step,
        "stop_reason": stop_reason,
        "train_seconds": round(train_seconds, 1),
        "best_step": best["step"],
        "best_eval_ppl_bf16_autocast": round(best["ppl"], 4),
        "history": history,
    }
    with open(os.path.join(out_dir, "training_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
