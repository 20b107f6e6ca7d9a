// Data every page needs and that rarely changes: server info, the type table, file lists.
import { get, query } from "./api";
import type { FileEntry, QuantTypeInfo, ServerInfo } from "./types";

let infoPromise: Promise<ServerInfo> | null = null;
let typesPromise: Promise<QuantTypeInfo[]> | null = null;

export function serverInfo(): Promise<ServerInfo> {
  infoPromise ??= get<ServerInfo>("/api/info").catch((e) => { infoPromise = null; throw e; });
  return infoPromise;
}

export function quantTypes(): Promise<QuantTypeInfo[]> {
  typesPromise ??= get<QuantTypeInfo[]>("/api/types").catch((e) => { typesPromise = null; throw e; });
  return typesPromise;
}

export type FileKind = "model" | "text" | "imatrix" | "strategy" | "gguf";

// File lists change as jobs write outputs, so they are fetched fresh each time.
export function files(kind: FileKind): Promise<FileEntry[]> {
  return get<FileEntry[]>("/api/files" + query({ kind }));
}

// llama.cpp's stock mixes that `quantize --preset` writes (docs/compare.md).
export const PRESETS = [
  "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K", "Q2_K_S",
  "IQ4_XS", "IQ4_NL", "IQ3_M", "IQ3_S", "IQ3_XS", "IQ3_XXS", "IQ2_M", "IQ2_S", "IQ2_XS", "IQ2_XXS", "IQ1_M",
  "IQ1_S", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "MXFP4_MOE",
];
