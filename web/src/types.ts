// The JSON shapes of the API (docs/api.md), as the CLI's --json prints them.

export interface QuantTypeInfo {
  name: string; id: number; block_size: number; block_bytes: number; bpw: number;
  needs_imatrix: boolean; ladder: boolean;
}

export interface FileEntry { path: string; kind: string; bytes: number }

export interface ServerInfo { version: string; roots: string[]; db: string; token_required: boolean; cuda_built: boolean; cuda_devices: number }

export interface TensorInfo {
  name: string; hf_names?: string[]; shape: number[]; dtype: string; params: number; bytes: number;
  quantizable: boolean; allowed_types: string[];
}

export interface ModelInfo {
  architecture: string; format: string; path: string; params: number; bytes: number;
  config: Record<string, unknown>; tensors: TensorInfo[];
}

export type JobState = "queued" | "running" | "paused" | "done" | "failed" | "cancelled";

export interface Job {
  id: number; kind: string; state: JobState; requested_state: string | null;
  units_done: number; units_total: number; progress: number; eta_seconds: number | null;
  error: string | null; created_at: number; started_at: number | null; updated_at: number | null;
  finished_at: number | null; owner?: unknown;
}

export interface JobDetail extends Job {
  params: Record<string, unknown>;
  measurements?: { rows: number; units: number; per_type: Record<string, number>; per_metric: Record<string, number> };
  artifacts?: { kind: string; path: string }[];
}

export interface MeasurementRow { tensor: string; type: string; bits: number; params: number; metrics: Record<string, number | null> }
export interface MeasurementPage { rows: MeasurementRow[]; next: number }

export interface CandidatePoint { type: string; bpw: number; bytes: number; error: number | null; measured: boolean }
export interface CandidateTensor {
  name: string; shape: number[]; params: number; layer: number | null; kind: string;
  points: CandidatePoint[]; knee_type: string | null;
}
export interface Candidates { metric: string; tensors: CandidateTensor[] }

// bytes: the tensors' bytes; file_bytes: the whole GGUF (null when it cannot be laid out).
export interface ParetoPoint { bytes: number; file_bytes?: number | null; bpw: number; error: number }
export interface Pareto { metric: string; points: ParetoPoint[] }

export interface StrategyTensor { type: string; reason: string; shape: number[]; bits?: number; bytes?: number; predicted?: number | null }
export interface StrategyFile {
  quantscope_strategy: number;
  model: { source: string; architecture: string };
  source?: { job?: number; path?: string };
  objective?: Record<string, unknown>;
  fixed_bytes?: number;
  totals?: { tensor_bytes: number; params: number; bpw: number; file_bytes: number; predicted: number | null; count_per_type: Record<string, number> };
  tensors: Record<string, StrategyTensor>;
}
export interface StrategyAnswer { strategy: StrategyFile; summary?: Record<string, unknown> }

export interface ValueError { value: number; error: number }
export interface CompareRow {
  name: string; kind: string; gguf: string; file_bytes: number; tensor_bytes: number; params: number; bpw: number;
  ppl: ValueError; kld: ValueError; kld_p99: number; same_top: ValueError; predicted: number | null; predicted_metric: string;
}
export interface CompareResult { model: string; text: string; scored_tokens: number; base_ppl: ValueError; rows: CompareRow[] }
