// Measure: the form that starts a measure job, then its live progress and a layer × kind heat map
// of sensitivity at a chosen type that fills in as measurement rows arrive.
import { get, query } from "../api";
import { onJob } from "../events";
import { files, quantTypes, serverInfo } from "../state";
import type { Job, JobDetail, MeasurementPage, MeasurementRow, ModelInfo } from "../types";
import { clearErrors, field, formatBytes, h, replace, select, shortPath, showError } from "../ui";
import { createJob, jobPanel } from "../components/job-panel";
import { HeatMap } from "../components/heat-map";
import type { Cleanup } from "../main";

export const title = "Measure";

const METRIC_PREFERENCE = ["kld", "delta_ppl", "layer_error", "weighted_relative_mse", "relative_mse", "rmse", "max_abs_error"];

export function render(root: HTMLElement, args: string[]): Cleanup {
  const cleanups: Cleanup[] = [];
  const jobId = args[0] ? Number(args[0]) : null;
  root.append(h("h1", {}, "Measure"));
  const form = measureForm();
  const jobPicker = existingJobs(jobId, cleanups);
  if (jobId) {
    root.append(jobPicker, jobView(jobId, cleanups), h("details", { class: "card" }, h("summary", {}, "New measurement"), form));
  } else {
    root.append(h("section", { class: "card" }, h("h2", {}, "New measurement"), form), jobPicker);
  }
  return () => cleanups.forEach((c) => c());
}

function existingJobs(current: number | null, cleanups: Cleanup[]): HTMLElement {
  const picker = h("select", { "data-role": "job-select" }, h("option", { value: "" }, "open a measure job…"));
  const options = new Map<number, HTMLOptionElement>();
  cleanups.push(onJob((job) => {
    if (job.kind !== "measure") return;
    let option = options.get(job.id);
    if (!option) {
      option = h("option", { value: String(job.id), selected: job.id === current });
      options.set(job.id, option);
      picker.appendChild(option);
    }
    option.textContent = `#${job.id} (${job.state})`;
  }));
  picker.addEventListener("change", () => { if (picker.value) location.hash = `#/measure/${picker.value}`; });
  return h("div", { class: "toolbar" }, h("label", {}, "Measure jobs "), picker);
}

function measureForm(): HTMLFormElement {
  const model = h("select", {}, h("option", { value: "" }, "loading…"));
  const metric = select([["proxy", "proxy — weight-space errors (seconds)"], ["layer", "layer — + the tensor's output error"], ["kld", "kld — + the model's KLD and ΔPPL"]], "proxy");
  const typeBoxes = h("div", { class: "type-grid", "data-role": "types" });
  const probes = h("input", { type: "text", placeholder: "e.g. Q4_K,Q2_K (kld only)" });
  const text = h("select", {}, h("option", { value: "" }, "none"));
  const imatrix = h("select", {}, h("option", { value: "" }, "none"));
  const tensors = h("input", { type: "text", placeholder: "regex over GGUF names (empty: all)" });
  const device = select([["auto", "auto — the GPU when there is one"], ["cpu", "cpu"], ["cuda", "cuda (NVIDIA GPU)"]], "auto", { "data-role": "device" });
  const deviceField = field("device", "Device", device, "Where the layer and kld levels run.");
  const precision = select([["fp32", "fp32 — the CPU's precision"], ["tf32", "tf32 — tensor cores: faster, small KLDs blur"]], "fp32", { "data-role": "precision" });
  const chunks = h("input", { type: "number", min: -1, value: 8 });
  const ctx = h("input", { type: "number", min: 16, value: 512 });
  const submit = h("button", { type: "submit", class: "primary" }, "Start measurement");
  const form = h("form", { class: "grid-form", "data-role": "measure-form" },
    field("model", "Model", model),
    field("metric", "Metric level", metric),
    field("types", "Types", typeBoxes, "None ticked: the ladder of `quantscope types`."),
    field("probes", "KLD probes", probes, "With kld: only these types get the KLD; the rest are predicted."),
    field("text", "Calibration text", text, "Needed for layer and kld."),
    field("imatrix", "Importance matrix", imatrix),
    field("tensors", "Tensors", tensors),
    field("chunks", "Chunks", chunks), field("ctx", "Tokens per chunk", ctx),
    deviceField,
    field("precision", "GPU products", precision, "tf32 about halves a GPU sweep; KLDs below ~1e-4 then blur (docs/gpu.md)."),
    h("div", { class: "form-error" }), h("div", { class: "actions" }, submit));

  Promise.all([files("model"), files("text"), files("imatrix"), quantTypes(), serverInfo()]).then(([models, texts, imatrices, types, info]) => {
    const label = (p: string, bytes: number) => `${shortPath(p, info.roots)} (${formatBytes(bytes)})`;
    replace(model, models.map((f) => h("option", { value: f.path }, label(f.path, f.bytes))));
    text.append(...texts.map((f) => h("option", { value: f.path }, label(f.path, f.bytes))));
    imatrix.append(...imatrices.map((f) => h("option", { value: f.path }, label(f.path, f.bytes))));
    const gpus = !info.cuda_built ? "this server was built without the CUDA backend"
      : info.cuda_devices > 0 ? `${info.cuda_devices} GPU${info.cuda_devices > 1 ? "s" : ""} visible` : "no GPU visible";
    deviceField.querySelector(".hint")!.textContent = `Where the layer and kld levels run: ${gpus}.`;
    const calibration = texts.find((f) => f.path.endsWith("calibration.txt"));
    if (calibration) text.value = calibration.path;
    replace(typeBoxes, types.filter((t) => t.ladder).map((t) =>
      h("label", { class: "type-box", title: `${t.bpw} bpw${t.needs_imatrix ? ", needs an imatrix" : ""}` },
        h("input", { type: "checkbox", value: t.name }), ` ${t.name}`, t.needs_imatrix ? h("sup", {}, "i") : null)));
  }).catch((e) => showError(form, e));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const list = (s: string) => s.split(/[,\s]+/).map((x) => x.trim()).filter(Boolean);
    const params = {
      model: model.value, metric: metric.value,
      types: [...typeBoxes.querySelectorAll<HTMLInputElement>("input:checked")].map((c) => c.value),
      probes: list(probes.value), text: text.value, imatrix: imatrix.value, tensors: tensors.value,
      shard: "1/1", ctx: Number(ctx.value), chunks: Number(chunks.value), device: device.value,
      precision: precision.value,
    };
    const id = await createJob(form, submit, { kind: "measure", params });
    if (id !== undefined) location.hash = `#/measure/${id}`;
  });
  return form;
}

function jobView(jobId: number, cleanups: Cleanup[]): HTMLElement {
  const rows: MeasurementRow[] = [];
  let modelTensors: string[] = [];  // every quantizable tensor: the map's cells before their rows arrive
  let next = 0, fetching = false, again = false;
  const typeSelect = h("select", { "data-role": "heat-type" });
  const metricSelect = h("select", { "data-role": "heat-metric" });
  const rowCount = h("span", { class: "muted", "data-role": "row-count" }, "0 rows");
  const heat = new HeatMap({ log: true, legend: "error" });
  const params = h("p", { class: "muted" });
  const done = h("div");

  const redraw = () => {
    const types = [...new Set(rows.map((r) => r.type))];
    const metrics = METRIC_PREFERENCE.filter((m) => rows.some((r) => r.metrics[m] !== null && r.metrics[m] !== undefined));
    syncOptions(typeSelect, types);
    syncOptions(metricSelect, metrics);
    const type = typeSelect.value, metric = metricSelect.value;
    const values = new Map(rows.filter((r) => r.type === type).map((r) => [r.tensor, r.metrics[metric] ?? null]));
    const names = [...new Set([...modelTensors, ...values.keys()])];
    heat.setValues(names.map((tensor) => ({ tensor, value: values.get(tensor) ?? null, label: values.has(tensor) ? undefined : "not measured yet" })));
    rowCount.textContent = `${rows.length} rows`;
  };
  typeSelect.addEventListener("change", redraw);
  metricSelect.addEventListener("change", redraw);

  // Rows arrive in commit order; `after` keeps each fetch to the new ones.
  const fetchRows = async () => {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      for (;;) {
        const page = await get<MeasurementPage>(`/api/jobs/${jobId}/measurements` + query({ after: next }));
        if (!page.rows.length || page.next === next) break;
        rows.push(...page.rows);
        next = page.next;
      }
      redraw();
    } catch (e) {
      rowCount.textContent = (e as Error).message;
    } finally {
      fetching = false;
      if (again) { again = false; fetchRows(); }
    }
  };

  let lastDone = -1;
  const panel = jobPanel(jobId, (job: Job) => {
    if (job.units_done !== lastDone || job.state === "done") { lastDone = job.units_done; fetchRows(); }
    replace(done, job.state === "done" ? h("a", { href: `#/strategy/${jobId}`, class: "button primary", "data-role": "to-strategy" }, "Choose a strategy from this job →") : null);
  });
  cleanups.push(panel.dispose);
  let tensorRegex = "";
  get<JobDetail>(`/api/jobs/${jobId}`).then((d) => {
    const p = d.params;
    tensorRegex = String(p.tensors ?? "");
    params.textContent = `${String(p.model)} · metric ${String(p.metric)} · types ${(p.types as string[] | undefined)?.join(",") || "the ladder"}`;
    return get<ModelInfo>("/api/models/inspect" + query({ path: String(p.model) }));
  }).then((model) => {
    let only: RegExp | null = null;
    try { only = tensorRegex ? new RegExp(tensorRegex) : null; } catch { /* the server checked it; ECMAScript may differ */ }
    modelTensors = model.tensors.filter((t) => t.quantizable && (!only || only.test(t.name))).map((t) => t.name);
    redraw();
  }).catch((e) => { params.textContent = (e as Error).message; });
  fetchRows();

  return h("section", { class: "card" }, h("h2", {}, `Measurement #${jobId}`), params, panel.el,
    h("div", { class: "toolbar" }, h("label", {}, "Sensitivity at type "), typeSelect, h("label", {}, " metric "), metricSelect, rowCount),
    heat.el, done);
}

function syncOptions(el: HTMLSelectElement, values: string[]): void {
  const have = [...el.options].map((o) => o.value);
  if (have.join() === values.join()) return;
  const keep = el.value;
  replace(el, values.map((v) => h("option", { value: v }, v)));
  if (values.includes(keep)) el.value = keep;
}
