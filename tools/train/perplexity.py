# Perplexity the way llama.cpp's `llama-perplexity` computes it by default, shared by the training
# loop (early stopping) and the reference data (tests/data/reference/perplexity_kjv.json).
#
# The whole text is tokenized once, with BOS first. It is cut into n_chunk = len // n_ctx
# non-overlapping chunks of n_ctx tokens (the tail is dropped); the first token of every chunk is
# replaced by BOS. Only the second half of each chunk is scored: the logits at positions
# n_ctx/2 .. n_ctx-2 predict the tokens at n_ctx/2+1 .. n_ctx-1, i.e. n_ctx - 1 - n_ctx/2 tokens a
# chunk (255 for n_ctx = 512). PPL = exp(mean negative log-likelihood over all scored tokens).
import math

import torch


def make_chunks(tokens, n_ctx, bos_id):
    """Returns (inputs, originals), both [n_chunk, n_ctx] int64; inputs have BOS at position 0."""
    n_chunk = tokens.numel() // n_ctx
    if n_chunk < 1:
        raise ValueError(f"need at least {n_ctx} tokens, got {tokens.numel()}")
    originals = tokens[: n_chunk * n_ctx].reshape(n_chunk, n_ctx).long()
    inputs = originals.clone()
    inputs[:, 0] = bos_id
    return inputs, originals


def scored_nll(logits, originals):
    """Sum of the NLL of the scored tokens of each chunk (float64 [batch]) and the count a chunk."""
    n_ctx = originals.shape[1]
    first = n_ctx // 2
    log_probs = torch.log_softmax(logits[:, first : n_ctx - 1].float(), dim=-1)
    targets = originals[:, first + 1 : n_ctx].to(log_probs.device)
    nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return nll.double().sum(dim=1).cpu(), nll.shape[1]


@torch.no_grad()
def llamacpp_perplexity(forward, tokens, n_ctx, bos_id, batch_size=16):
    """forward(input_ids [b, n_ctx]) -> logits [b, n_ctx, vocab]. Returns a dict of figures."""
    inputs, originals = make_chunks(tokens, n_ctx, bos_id)
    sums = []
    per_chunk = 0
    for start in range(0, inputs.shape[0], batch_size):
        logits = forward(inputs[start : start + batch_size])
        chunk_sums, per_chunk = scored_nll(logits, originals[start : start + batch_size])
        sums.append(chunk_sums)
    sums = torch.cat(sums)
    n_scored = per_chunk * inputs.shape[0]
    return {
        "ppl": math.exp(sums.sum().item() / n_scored),
        "mean_nll": sums.sum().item() / n_scored,
        "n_ctx": n_ctx,
        "n_chunks": inputs.shape[0],
        "n_tokens": tokens.numel(),
        "n_scored_tokens": n_scored,
        "chunk_ppl": [math.exp(s / per_chunk) for s in sums.tolist()],
    }
