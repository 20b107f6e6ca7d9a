// Strategy: from a finished measure job, a type for every tensor. A budget slider walks the
// Pareto curve (each stop asks the server for the exact strategy at that size), any tensor's type
// can be changed by hand (totals recomputed by the server), and the result saved, loaded or
// exported as a llama.cpp / ik_llama.cpp recipe.
import { ApiError, get, post, query } from "../api";
import { onJob } from "../events";
import { files, quantTypes, serverInfo } from "../state";
import type { Candidates, CandidateTensor, ModelInfo, Pareto, StrategyAnswer, StrategyFile } from "../types";
import { clearErrors, debounce, field, formatBytes, formatNumber, h, replace, select, shortPath, showError } from "../ui";
import { candidateChart, paretoChart, type Chart, type ParetoChart } from "../components/charts";
import { HeatMap } from "../components/heat-map";
import { strategyTable } from "../components/strategy-table";
import type { Cleanup } from "../main";

export const title = "Strategy";

const METRICS: [string, string][] = [["", "default (kld, else layer, else proxy)"], ["kld", "kld"], ["layer_error", "layer_error"],
  ["weighted_relative_mse", "weighted_relative_mse"], ["relative_mse", "relative_mse"], ["rmse", "rmse"], ["max_abs_error", "max_abs_error"]];

// The answer of /api/strategy/totals and GET /api/strategy: the strategy itself or {strategy, ...}.
function unwrap(answer: StrategyFile | StrategyAnswer): StrategyFile {
  return "strategy" in answer && answer.strategy ? answer.strategy : (answer as StrategyFile);
}

export function render(root: HTMLElement, args: string[]): Cleanup {
  const cleanups: Cleanup[] = [];
  let jobId = args[0] ? Number(args[0]) : null;
  let candidates = new Map<string, CandidateTensor>();
  let pareto: Pareto | null = null;
  let strategy: StrategyFile | null = null;
  let allowed = new Map<string, string[]>();
  let chart: ParetoChart | null = null;
  let tensorChart: Chart | null = null;
  const pins = new Map<string, string>();
  let selectedTensor: string | null = null;
  let requestSerial = 0;

  // ---- controls
  const jobSelect = h("select", { "data-role": "job-select" }, h("option", { value: "" }, "choose a finished measure job…"));
  const metricSelect = select(METRICS, "", { "data-role": "metric" });
  const loadPath = h("select", { "data-role": "load-path" }, h("option", { value: "" }, "strategy file…"));
  const loadButton = h("button", { type: "button" }, "Load");
  const top = h("form", { class: "toolbar" }, field("job", "Measure job", jobSelect), field("metric", "Metric", metricSelect),
    field("path", "or load", loadPath), loadButton, h("div", { class: "form-error" }));

  const slider = h("input", { type: "range", min: 0, max: 0, value: 0, step: 1, "data-role": "budget-slider", disabled: true });
  const sliderReadout = h("span", { class: "readout", "data-role": "budget-readout" }, "");
  const kneeButton = h("button", { type: "button", "data-role": "knee" }, "Knee per tensor");
  const pinInfo = h("span", { class: "muted", "data-role": "pins" });
  const budgetForm = h("form", { class: "budget" }, field("budget", "Size budget (Pareto curve)", slider), sliderReadout, kneeButton, pinInfo, h("div", { class: "form-error" }));
  const paretoBox = h("div", { class: "chart" });

  const totals = h("div", { class: "totals", "data-role": "totals" }, h("p", { class: "muted" }, "No strategy yet."));
  const heat = new HeatMap({ log: false, legend: "chosen bits per weight", onCellClick: (t) => showTensor(t) });
  const tensorBox = h("div", { class: "chart", "data-role": "tensor-chart" }, h("p", { class: "muted" }, "Click a tensor (table row or map cell) to see its error curve."));
  const tableBox = h("div");
  const tableError = h("div", { class: "form-error" });

  const savePath = h("input", { type: "text", size: 60, "data-role": "save-path", placeholder: "/abs/path/strategy.yaml" });
  const saveButton = h("button", { type: "button", "data-role": "save" }, "Save");
  const saved = h("span", { class: "ok", "data-role": "saved" });
  const saveForm = h("form", { class: "toolbar" }, field("path", "Save to (.yaml or .json)", savePath), saveButton, saved, h("div", { class: "form-error" }));
  const recipeTool = select([["llama", "llama.cpp (llama-quantize)"], ["ik", "ik_llama.cpp"]], "llama", { "data-role": "recipe-tool" });
  const recipeButton = h("button", { type: "button", "data-role": "recipe" }, "Export recipe");
  const recipeText = h("pre", { class: "recipe", "data-role": "recipe-text", hidden: true });
  const copyButton = h("button", { type: "button", hidden: true }, "Copy");
  const recipeForm = h("form", { class: "toolbar" }, field("tool", "Recipe for", recipeTool), recipeButton, copyButton, h("div", { class: "form-error" }));

  root.append(h("h1", {}, "Strategy"), top,
    h("section", { class: "card" }, h("h2", {}, "Budget"), budgetForm, paretoBox),
    h("section", { class: "card" }, h("h2", {}, "Totals"), totals),
    h("div", { class: "two-col" },
      h("section", { class: "card" }, h("h2", {}, "Chosen bits by layer"), heat.el),
      h("section", { class: "card" }, h("h2", {}, "Tensor"), tensorBox)),
    h("section", { class: "card" }, h("h2", {}, "Every tensor"), tableError, tableBox),
    h("section", { class: "card" }, h("h2", {}, "Save and export"), saveForm, recipeForm, recipeText));

  // ---- showing a strategy
  const typeBits = new Map<string, number>();
  quantTypes().then((types) => types.forEach((t) => typeBits.set(t.name, t.bpw))).catch(() => {});

  const table = strategyTable({
    typesFor: (name) => allowed.get(name) ?? candidates.get(name)?.points.map((p) => p.type) ?? [],
    bits: (t) => typeBits.get(t),
    onTypeChange: (name, type) => editType(name, type),
    onRowClick: (name) => showTensor(name),
  });
  tableBox.append(table.el);

  const showStrategy = (s: StrategyFile) => {
    strategy = s;
    recipeText.hidden = copyButton.hidden = true;  // a recipe of the previous strategy would mislead
    const t = s.totals;
    replace(totals,
      h("dl", { class: "summary" },
        h("dt", {}, "file size"), h("dd", { "data-role": "total-size" }, t ? `${formatBytes(t.file_bytes)} (${t.file_bytes.toLocaleString()} bytes)` : "–"),
        h("dt", {}, "bits per weight"), h("dd", { "data-role": "total-bpw" }, t ? t.bpw.toFixed(4) : "–"),
        h("dt", {}, `predicted ${String(s.objective?.metric ?? "error")}`), h("dd", { "data-role": "total-error" }, formatNumber(t?.predicted)),
        h("dt", {}, "method"), h("dd", {}, String(s.objective?.method ?? "–"))),
      h("div", { class: "chips" }, Object.entries(t?.count_per_type ?? {}).map(([type, n]) => h("span", { class: "chip" }, `${type} × ${n}`))));
    heat.setValues(Object.entries(s.tensors).map(([name, x]) => ({ tensor: name, value: x.bits ?? typeBits.get(x.type) ?? null, label: `${x.type} (${x.bits ?? typeBits.get(x.type) ?? "?"} bpw, ${x.reason})` })));
    table.setStrategy(s);
    pinInfo.textContent = pins.size ? `${pins.size} tensor(s) set by hand are kept when the budget moves` : "";
    if (selectedTensor) showTensor(selectedTensor);
  };

  const showTensor = (name: string) => {
    selectedTensor = name;
    table.select(name);
    tensorChart?.destroy();
    tensorChart = null;
    const c = candidates.get(name);
    tensorBox.replaceChildren();
    if (!c) {
      tensorBox.append(h("p", { class: "muted" }, `${name}: no measurements for this tensor in the job.`));
      return;
    }
    const chosen = strategy?.tensors[name]?.type ?? null;
    tensorBox.append(h("p", { class: "muted", "data-role": "tensor-caption" }, `${name}: knee ${c.knee_type ?? "–"}, chosen ${chosen ?? "–"}` + (c.points.some((p) => !p.measured) ? " (* predicted)" : "")));
    const holder = h("div");
    tensorBox.append(holder);
    tensorChart = candidateChart(holder, c, chosen);
  };

  // ---- asking the server
  const solve = async (budget: Record<string, unknown>) => {
    if (!jobId) return;
    const serial = ++requestSerial;
    clearErrors(budgetForm);
    totals.classList.add("busy");
    try {
      const body: Record<string, unknown> = { job: jobId, budget };
      if (metricSelect.value) body.metric = metricSelect.value;
      if (pins.size) body.pins = Object.fromEntries(pins);
      const answer = await post<StrategyAnswer>("/api/strategy", body);
      if (serial === requestSerial) showStrategy(answer.strategy);
    } catch (e) {
      if (serial === requestSerial) showError(budgetForm, e);
    } finally {
      if (serial === requestSerial) totals.classList.remove("busy");
    }
  };
  const solveDebounced = debounce(solve, 250);

  const sliderMoved = () => {
    if (!pareto?.points.length) return;
    const i = Number(slider.value);
    const p = pareto.points[i];
    const fileBytes = p.file_bytes ?? p.bytes + (strategy?.fixed_bytes ?? 0);
    sliderReadout.textContent = `${formatBytes(fileBytes)} · ${p.bpw.toFixed(3)} bpw · ${pareto.metric} ${formatNumber(p.error)}`;
    chart?.mark(i);
    // A size budget is the whole file, as a string ("4718592", "4.5MiB").
    solveDebounced({ size: String(fileBytes) });
  };
  slider.addEventListener("input", sliderMoved);
  kneeButton.addEventListener("click", () => solve({ knee: true }));

  const editType = async (name: string, type: string) => {
    if (!strategy) return;
    clearErrors(tableError.parentElement!);
    pins.set(name, type);
    const edited: StrategyFile = structuredClone(strategy);
    edited.tensors[name] = { ...edited.tensors[name], type, reason: "manual" };
    try {
      showStrategy(unwrap(await post<StrategyFile | StrategyAnswer>("/api/strategy/totals", { strategy: edited })));
    } catch (e) {
      pins.delete(name);
      showError(tableError.parentElement!, e instanceof ApiError ? new ApiError(`${name}: ${e.message}`, e.status) : e);
      table.setStrategy(strategy);
    }
  };

  const loadJob = async (id: number) => {
    jobId = id;
    history.replaceState(null, "", `#/strategy/${id}`);
    clearErrors(top);
    const metric = metricSelect.value || undefined;
    try {
      const [c, p] = await Promise.all([
        get<Candidates>(`/api/jobs/${id}/candidates` + query({ metric })),
        get<Pareto>(`/api/jobs/${id}/pareto` + query({ metric })),
      ]);
      candidates = new Map(c.tensors.map((t) => [t.name, t]));
      pareto = p;
      chart?.destroy();
      paretoBox.replaceChildren();
      chart = p.points.length ? paretoChart(paretoBox, p.points, p.metric) : null;
      slider.max = String(Math.max(0, p.points.length - 1));
      slider.disabled = p.points.length === 0;
      slider.value = String(Math.floor(p.points.length / 2));
      sliderMoved();
    } catch (e) {
      showError(top, e);
    }
  };

  const loadAllowed = async (model: string) => {
    try {
      const info = await get<ModelInfo>("/api/models/inspect" + query({ path: model }));
      allowed = new Map(info.tensors.filter((t) => t.quantizable).map((t) => [t.name, t.allowed_types]));
      if (strategy) table.setStrategy(strategy);
    } catch { /* the dropdowns fall back to the measured types */ }
  };

  // ---- wiring
  jobSelect.addEventListener("change", () => { if (jobSelect.value) { pins.clear(); loadJob(Number(jobSelect.value)); } });
  metricSelect.addEventListener("change", () => { if (jobId) loadJob(jobId); });
  const seen = new Set<number>();
  cleanups.push(onJob((job) => {
    if (job.kind !== "measure" && job.kind !== "import") return;
    if (job.state !== "done" || seen.has(job.id)) return;
    seen.add(job.id);
    jobSelect.append(h("option", { value: String(job.id), selected: job.id === jobId }, `#${job.id} ${job.kind} (${job.units_total} units)`));
  }));

  loadButton.addEventListener("click", async () => {
    clearErrors(top);
    if (!loadPath.value) return;
    try {
      const s = unwrap(await get<StrategyFile | StrategyAnswer>("/api/strategy" + query({ path: loadPath.value })));
      pins.clear();
      showStrategy(s);
      loadAllowed(s.model.source);
      const source = s.source?.job;
      if (source && seen.has(source) && source !== jobId) {
        jobId = source;
        jobSelect.value = String(source);
        const [c] = await Promise.all([get<Candidates>(`/api/jobs/${source}/candidates`)]);
        candidates = new Map(c.tensors.map((t) => [t.name, t]));
      }
    } catch (e) {
      showError(top, e);
    }
  });

  saveButton.addEventListener("click", async () => {
    clearErrors(saveForm);
    saved.textContent = "";
    if (!strategy) return showError(saveForm, new Error("no strategy to save yet"));
    try {
      const answer = await post<{ path: string }>("/api/strategy/save", { strategy, path: savePath.value });
      saved.textContent = `saved ${answer.path}`;
    } catch (e) {
      showError(saveForm, e);
    }
  });

  recipeButton.addEventListener("click", async () => {
    clearErrors(recipeForm);
    if (!strategy) return showError(recipeForm, new Error("no strategy yet"));
    try {
      const answer = await post<{ text: string }>("/api/strategy/recipe", { strategy, tool: recipeTool.value });
      recipeText.textContent = answer.text;
      recipeText.hidden = false;
      copyButton.hidden = false;
    } catch (e) {
      showError(recipeForm, e);
    }
  });
  copyButton.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(recipeText.textContent ?? "");
      copyButton.textContent = "Copied";
    } catch {
      getSelection()?.selectAllChildren(recipeText);
      copyButton.textContent = "Selected: press Ctrl+C";
    }
  });

  Promise.all([files("strategy"), serverInfo()]).then(([list, info]) => {
    loadPath.append(...list.map((f) => h("option", { value: f.path }, shortPath(f.path, info.roots))));
    if (!savePath.value) savePath.value = `${info.roots[0] ?? ""}/out/strategy${jobId ? `-job${jobId}` : ""}.yaml`;
  }).catch((e) => showError(top, e));

  if (jobId) {
    loadJob(jobId);
    get<{ params: { model?: string } }>(`/api/jobs/${jobId}`).then((d) => { if (d.params.model) loadAllowed(d.params.model); }).catch(() => {});
  }
  return () => { cleanups.forEach((c) => c()); chart?.destroy(); tensorChart?.destroy(); };
}
