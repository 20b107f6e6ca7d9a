// Verify: the comparison an auto job ends with — every preset and strategy's size, PPL and KLD
// against the unquantized model on held-out text, as a table and two charts. Also starts auto jobs.
import { get } from "../api";
import { onJob } from "../events";
import { files, PRESETS, serverInfo } from "../state";
import type { CompareResult, Job } from "../types";
import { clearErrors, field, formatBytes, formatNumber, h, replace, select, shortPath, showError } from "../ui";
import { compareChart, type Chart } from "../components/charts";
import { createJob, jobPanel } from "../components/job-panel";
import type { Cleanup } from "../main";

export const title = "Verify";

export function render(root: HTMLElement, args: string[]): Cleanup {
  const cleanups: Cleanup[] = [];
  const charts: Chart[] = [];
  let jobId = args[0] ? Number(args[0]) : null;
  const jobSelect = h("select", { "data-role": "job-select" }, h("option", { value: "" }, "choose an auto job…"));
  const top = h("form", { class: "toolbar" }, field("job", "Auto job", jobSelect), h("div", { class: "form-error" }));
  const panelBox = h("div");
  const result = h("div", { "data-role": "compare" });
  root.append(h("h1", {}, "Verify"), top, panelBox, result,
    h("details", { class: "card" }, h("summary", {}, "New auto job (imatrix → measure → strategy → GGUF → compare)"), autoForm()));

  const show = async (id: number) => {
    jobId = id;
    history.replaceState(null, "", `#/verify/${id}`);
    cleanups.splice(1).forEach((c) => c());
    const panel = jobPanel(id, (job: Job) => {
      if (job.state === "done" && !result.dataset.loaded) loadCompare(id);
    });
    cleanups.push(panel.dispose);
    replace(panelBox, panel.el);
    result.dataset.loaded = "";
    result.replaceChildren();
  };

  const loadCompare = async (id: number) => {
    result.dataset.loaded = "1";
    charts.splice(0).forEach((c) => c.destroy());
    try {
      const answer = await get<CompareResult | { compare: CompareResult }>(`/api/jobs/${id}/compare`);
      const compare = "compare" in answer ? answer.compare : answer;
      replace(result, compareView(compare, charts));
    } catch (e) {
      result.dataset.loaded = "";
      replace(result, h("div", { class: "error" }, (e as Error).message));
    }
  };

  const seen = new Set<number>();
  cleanups.push(onJob((job) => {
    if (job.kind !== "auto" || seen.has(job.id)) return;
    seen.add(job.id);
    jobSelect.append(h("option", { value: String(job.id), selected: job.id === jobId }, `#${job.id} (${job.state})`));
  }));
  jobSelect.addEventListener("change", () => { if (jobSelect.value) show(Number(jobSelect.value)); });
  if (jobId) show(jobId);
  return () => { cleanups.forEach((c) => c()); charts.forEach((c) => c.destroy()); };
}

function compareView(compare: CompareResult, charts: Chart[]): HTMLElement {
  const best = Math.min(...compare.rows.map((r) => r.kld.value));
  const table = h("table", { class: "compare", "data-role": "compare-table" },
    h("thead", {}, h("tr", {}, ["name", "kind", "size", "bpw", "PPL", "mean KLD", "KLD p99", "same top token", "predicted"].map((t) => h("th", {}, t)))),
    h("tbody", {}, [...compare.rows].sort((a, b) => b.file_bytes - a.file_bytes).map((r) => h("tr", { class: r.kind, "data-name": r.name },
      h("td", {}, h("strong", {}, r.name)), h("td", {}, r.kind), h("td", { class: "right" }, formatBytes(r.file_bytes)),
      h("td", { class: "right" }, r.bpw.toFixed(3)),
      h("td", { class: "right" }, `${r.ppl.value.toFixed(3)} ± ${r.ppl.error.toFixed(3)}`),
      h("td", { class: "right" + (r.kld.value === best ? " best" : "") }, `${formatNumber(r.kld.value)} ± ${formatNumber(r.kld.error, 2)}`),
      h("td", { class: "right" }, formatNumber(r.kld_p99)),
      h("td", { class: "right" }, `${(100 * r.same_top.value).toFixed(1)} %`),
      h("td", { class: "right" }, r.predicted === null ? "" : `${formatNumber(r.predicted)} (${r.predicted_metric})`)))));
  const kld = h("div", { class: "chart" });
  const ppl = h("div", { class: "chart" });
  const view = h("div", {},
    h("p", { class: "muted" }, `${compare.model} on ${compare.text} (${compare.scored_tokens} scored tokens); unquantized PPL ${compare.base_ppl.value.toFixed(3)} ± ${compare.base_ppl.error.toFixed(3)}`),
    h("section", { class: "card" }, h("h2", {}, "Results"), h("div", { class: "scroll-x" }, table)),
    h("div", { class: "two-col" },
      h("section", { class: "card" }, h("h2", {}, "Size vs KLD"), kld),
      h("section", { class: "card" }, h("h2", {}, "Size vs perplexity"), ppl)));
  // Charts need their containers in the document to measure their width.
  requestAnimationFrame(() => {
    charts.push(compareChart(kld, compare.rows, "kld"), compareChart(ppl, compare.rows, "ppl", compare.base_ppl.value));
  });
  return view;
}

function autoForm(): HTMLFormElement {
  const model = h("select", {}, h("option", { value: "" }, "loading…"));
  const text = h("select", {});
  const evalText = h("select", {});
  const budgetKind = select([["target_bpw", "bits per weight"], ["size", "file size"]], "target_bpw");
  const budget = h("input", { type: "text", value: "4.5" });
  const outDir = h("input", { type: "text" });
  const probes = h("input", { type: "text", value: "Q4_K,Q2_K" });
  const presets = h("input", { type: "text", value: "Q8_0,Q6_K,Q4_K_M,Q3_K_M,Q2_K", title: PRESETS.join(" ") });
  const chunks = h("input", { type: "number", value: 8 });
  const evalChunks = h("input", { type: "number", value: -1 });
  const submit = h("button", { type: "submit", class: "primary" }, "Start auto job");
  const form = h("form", { class: "grid-form", "data-role": "auto-form" },
    field("model", "Model", model), field("text", "Calibration text", text), field("eval_text", "Held-out text", evalText),
    field("budget_kind", "Budget", budgetKind), field(budgetKind.value, "Budget value", budget, "4.5, or a size such as 4.2GiB"),
    field("out_dir", "Output folder", outDir), field("probes", "KLD probes", probes), field("presets", "Compare with", presets),
    field("chunks", "Calibration chunks", chunks), field("eval_chunks", "Held-out chunks (-1: all)", evalChunks),
    h("div", { class: "form-error" }), h("div", { class: "actions" }, submit));
  budgetKind.addEventListener("change", () => budget.parentElement!.setAttribute("data-field", budgetKind.value));

  Promise.all([files("model"), files("text"), serverInfo()]).then(([models, texts, info]) => {
    replace(model, models.map((f) => h("option", { value: f.path }, shortPath(f.path, info.roots))));
    const options = texts.map((f) => [f.path, shortPath(f.path, info.roots)] as [string, string]);
    replace(text, options.map(([v, t]) => h("option", { value: v }, t)));
    replace(evalText, options.map(([v, t]) => h("option", { value: v }, t)));
    text.value = texts.find((f) => f.path.endsWith("calibration.txt"))?.path ?? "";
    evalText.value = texts.find((f) => f.path.endsWith("eval.txt"))?.path ?? "";
    outDir.value = `${info.roots[0] ?? ""}/out/auto`;
  }).catch((e) => showError(form, e));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const list = (s: string) => s.split(/[,\s]+/).filter(Boolean);
    const params = {
      model: model.value, text: text.value, eval_text: evalText.value, out_dir: outDir.value,
      target_bpw: budgetKind.value === "target_bpw" ? Number(budget.value) : null,
      size: budgetKind.value === "size" ? budget.value : "",
      probes: list(probes.value), presets: list(presets.value),
      n_ctx: 512, chunks: Number(chunks.value), imatrix_chunks: -1, eval_chunks: Number(evalChunks.value),
    };
    const id = await createJob(form, submit, { kind: "auto", params });
    if (id !== undefined) location.hash = `#/verify/${id}`;
  });
  return form;
}
