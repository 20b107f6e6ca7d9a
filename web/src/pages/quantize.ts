// Quantize: write a GGUF from a strategy file or one of llama.cpp's stock presets, as a job; when
// it is done, the output's path and size.
import { get } from "../api";
import { files, PRESETS, serverInfo } from "../state";
import type { Job, JobDetail } from "../types";
import { baseName, clearErrors, field, formatBytes, h, replace, select, shortPath, showError } from "../ui";
import { createJob, jobPanel } from "../components/job-panel";
import type { Cleanup } from "../main";

export const title = "Quantize";

export function render(root: HTMLElement, args: string[]): Cleanup {
  const cleanups: Cleanup[] = [];
  const model = h("select", { "data-role": "model" }, h("option", { value: "" }, "loading…"));
  const source = select([["strategy", "a strategy file"], ["preset", "a llama.cpp preset"]], "strategy", { "data-role": "source" });
  const strategy = h("input", { type: "text", list: "strategy-files", "data-role": "strategy", placeholder: "/abs/path/strategy.yaml" });
  const strategyList = h("datalist", { id: "strategy-files" });
  const preset = select(PRESETS, "Q4_K_M", { "data-role": "preset" });
  const imatrix = h("select", { "data-role": "imatrix" }, h("option", { value: "" }, "none"));
  const output = h("input", { type: "text", size: 50, "data-role": "output", placeholder: "/abs/path/out.gguf" });
  const submit = h("button", { type: "submit", class: "primary" }, "Quantize");
  const strategyField = field("strategy", "Strategy file", strategy);
  const presetField = field("preset", "Preset", preset);
  const form = h("form", { class: "grid-form", "data-role": "quantize-form" },
    field("model", "Model", model), field("source", "Types from", source), strategyField, presetField, strategyList,
    field("imatrix", "Importance matrix", imatrix, "Needed by the IQ presets and types."),
    field("output", "Output GGUF", output), h("div", { class: "form-error" }), h("div", { class: "actions" }, submit));
  const jobBox = h("div");
  root.append(h("h1", {}, "Quantize"), h("section", { class: "card" }, form), jobBox);

  let roots: string[] = [];
  const suggestOutput = () => {
    if (output.dataset.touched || document.activeElement === output) return;
    const name = baseName(model.value).replace(/\.gguf$/, "");
    const tag = source.value === "preset" ? preset.value : baseName(strategy.value).replace(/\.(ya?ml|json)$/, "") || "strategy";
    output.value = `${roots[0] ?? ""}/out/${name}-${tag}.gguf`;
  };
  const toggle = () => {
    strategyField.hidden = source.value !== "strategy";
    presetField.hidden = source.value !== "preset";
    suggestOutput();
  };
  source.addEventListener("change", toggle);
  // The text field by "input": its "change" fires only as it loses focus, which is as the user
  // enters the output field, and the suggestion would land under their typing.
  for (const c of [model, preset]) c.addEventListener("change", suggestOutput);
  strategy.addEventListener("input", suggestOutput);
  output.addEventListener("input", () => { output.dataset.touched = "1"; });

  Promise.all([files("model"), files("strategy"), files("imatrix"), serverInfo()]).then(([models, strategies, imatrices, info]) => {
    roots = info.roots;
    replace(model, models.map((f) => h("option", { value: f.path }, shortPath(f.path, roots))));
    strategyList.append(...strategies.map((f) => h("option", { value: f.path })));
    if (strategies.length && !strategy.value) strategy.value = strategies[0].path;
    imatrix.append(...imatrices.map((f) => h("option", { value: f.path }, shortPath(f.path, roots))));
    toggle();
  }).catch((e) => showError(form, e));

  const showJob = (id: number) => {
    const result = h("div", { "data-role": "result" });
    const panel = jobPanel(id, (job: Job) => {
      if (job.state !== "done" || result.dataset.shown) return;
      result.dataset.shown = "1";
      outputOf(id).then((text) => replace(result, h("p", { class: "ok" }, text))).catch((e) => replace(result, h("p", { class: "error" }, (e as Error).message)));
    });
    cleanups.push(panel.dispose);
    replace(jobBox, h("section", { class: "card" }, h("h2", {}, `Quantize job #${id}`), panel.el, result));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const params: Record<string, string> = { model: model.value, imatrix: imatrix.value, output: output.value };
    if (source.value === "preset") params.preset = preset.value;
    else params.strategy = strategy.value;
    const id = await createJob(form, submit, { kind: "quantize", params });
    if (id === undefined) return;
    history.replaceState(null, "", `#/quantize/${id}`);
    showJob(id);
  });

  if (args[0]) showJob(Number(args[0]));
  return () => cleanups.forEach((c) => c());
}

// The written GGUF: the job's artifact (or its output param), with its size from the file list.
async function outputOf(id: number): Promise<string> {
  const detail = await get<JobDetail>(`/api/jobs/${id}`);
  const path = detail.artifacts?.find((a) => a.path.endsWith(".gguf"))?.path ?? String(detail.params.output ?? "");
  const gguf = (await files("gguf")).find((f) => f.path === path);
  return `Wrote ${path}` + (gguf ? ` (${formatBytes(gguf.bytes)}, ${gguf.bytes.toLocaleString()} bytes)` : "");
}
