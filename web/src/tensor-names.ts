// What a GGUF tensor name says: its layer (blk.N.) and its kind (attn_q, ffn_down_exps, ...).

export interface TensorPlace { layer: number | null; kind: string }

export function tensorPlace(name: string): TensorPlace {
  const m = name.match(/^blk\.(\d+)\.(.+?)(\.weight|\.bias)?$/);
  if (m) return { layer: Number(m[1]), kind: m[2] + (m[3] === ".bias" ? ".bias" : "") };
  return { layer: null, kind: name.replace(/\.weight$/, "") };
}

// Kinds in a stable, readable order: attention, then feed-forward, then the rest alphabetically.
export function sortKinds(kinds: Iterable<string>): string[] {
  const rank = (k: string) => (k.startsWith("attn") ? 0 : k.startsWith("ffn") ? 1 : 2);
  return [...new Set(kinds)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
