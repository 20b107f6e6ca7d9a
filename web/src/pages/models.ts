// Models: pick a model, see its configuration, every tensor (sortable, filterable, virtualized)
// with its allowed types, and the layer-by-layer structure.
import { get, query } from "../api";
import { files, serverInfo } from "../state";
import { tensorPlace, sortKinds } from "../tensor-names";
import type { ModelInfo, TensorInfo } from "../types";
import { field, formatBytes, formatCount, h, replace, select, shortPath, showError } from "../ui";
import { VirtualTable } from "../components/virtual-table";

export const title = "Models";

interface Row extends TensorInfo { layer: number | null; kind: string }

export function render(root: HTMLElement, args: string[]): void {
  const picker = h("select", { "data-role": "model-select" }, h("option", { value: "" }, "loading…"));
  const form = h("form", { class: "toolbar" }, field("path", "Model", picker), h("div", { class: "form-error" }));
  const content = h("div", { class: "model-content" });
  root.append(h("h1", {}, "Models"), form, content);

  const open = async (path: string) => {
    if (!path) return;
    history.replaceState(null, "", `#/models/${encodeURIComponent(path)}`);
    replace(content, h("p", { class: "muted" }, "reading the model…"));
    try {
      const model = await get<ModelInfo>("/api/models/inspect" + query({ path }));
      showModel(content, model);
    } catch (e) {
      content.replaceChildren();
      showError(form, e);
    }
  };
  picker.addEventListener("change", () => open(picker.value));

  Promise.all([files("model"), serverInfo()]).then(([list, info]) => {
    replace(picker, h("option", { value: "" }, list.length ? "choose a model…" : "no model under the roots"),
      list.map((f) => h("option", { value: f.path }, `${shortPath(f.path, info.roots)} (${formatBytes(f.bytes)})`)));
    const wanted = args[0] ?? list[0]?.path ?? "";
    if (wanted) {
      picker.value = wanted;
      open(wanted);
    }
  }).catch((e) => showError(form, e));
}

export function showModel(content: HTMLElement, model: ModelInfo): void {
  const rows: Row[] = model.tensors.map((t) => ({ ...t, ...tensorPlace(t.name) }));
  const quantizable = rows.filter((r) => r.quantizable).length;
  const summary = h("dl", { class: "summary" },
    ...([["architecture", model.architecture], ["format", model.format], ["parameters", formatCount(model.params)],
      ["size", formatBytes(model.bytes)], ["tensors", `${rows.length} (${quantizable} quantizable)`], ["path", model.path]] as [string, string][])
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const config = h("details", { class: "config" }, h("summary", {}, "Configuration"),
    h("table", { class: "kv" }, Object.entries(model.config).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v))))));

  const tabs = h("div", { class: "tabs", role: "tablist" });
  const panel = h("div");
  const tensorView = tensorTable(rows);
  const structure = structureView(rows);
  const show = (which: "tensors" | "structure") => {
    for (const b of tabs.children) b.classList.toggle("active", (b as HTMLElement).dataset.tab === which);
    panel.replaceChildren(which === "tensors" ? tensorView : structure);
  };
  tabs.append(
    h("button", { type: "button", role: "tab", "data-tab": "tensors", onclick: () => show("tensors") }, "Tensors"),
    h("button", { type: "button", role: "tab", "data-tab": "structure", onclick: () => show("structure") }, "Structure"));
  replace(content, summary, config, tabs, panel);
  show("tensors");
}

function tensorTable(rows: Row[]): HTMLElement {
  const detail = h("div", { class: "tensor-detail muted" }, "Click a tensor to see its allowed types.");
  const table = new VirtualTable<Row>([
    { key: "name", title: "name", width: "minmax(14rem,2fr)", render: (r) => r.name, sortValue: (r) => r.name },
    { key: "layer", title: "layer", width: "4rem", align: "right", render: (r) => (r.layer === null ? "–" : String(r.layer)), sortValue: (r) => r.layer ?? -1 },
    { key: "kind", title: "kind", width: "minmax(7rem,1fr)", render: (r) => r.kind, sortValue: (r) => r.kind },
    { key: "shape", title: "shape", width: "8rem", render: (r) => r.shape.join(" × "), sortValue: (r) => r.params },
    { key: "dtype", title: "dtype", width: "4.5rem", render: (r) => r.dtype, sortValue: (r) => r.dtype },
    { key: "params", title: "params", width: "6rem", align: "right", render: (r) => formatCount(r.params), sortValue: (r) => r.params },
    { key: "bytes", title: "bytes", width: "6rem", align: "right", render: (r) => formatBytes(r.bytes), sortValue: (r) => r.bytes },
    { key: "types", title: "allowed types", width: "minmax(8rem,1.5fr)", render: (r) => (r.quantizable ? `${r.allowed_types.length}: ${r.allowed_types.join(" ")}` : "not quantized"), sortValue: (r) => r.allowed_types.length },
  ], {
    rowKey: (r) => r.name, height: 460,
    onRowClick: (r) => replace(detail,
      h("strong", {}, r.name), ` — ${r.hf_names?.join(", ") ?? ""} · ${r.shape.join(" × ")} ${r.dtype}`,
      h("div", { class: "chips" }, r.allowed_types.map((t) => h("span", { class: "chip" }, t)))),
  });

  const nameFilter = h("input", { type: "search", placeholder: "name contains (or /regex/)", "data-role": "filter-name" });
  const layers = [...new Set(rows.map((r) => r.layer))].sort((a, b) => (a ?? -1) - (b ?? -1));
  const layerFilter = select([["", "all layers"], ...layers.map((l): [string, string] => [l === null ? "none" : String(l), l === null ? "outside layers" : `layer ${l}`])], "", { "data-role": "filter-layer" });
  const kindFilter = select([["", "all kinds"], ...sortKinds(rows.map((r) => r.kind))], "", { "data-role": "filter-kind" });
  const quantOnly = h("input", { type: "checkbox", "data-role": "filter-quantizable" });
  const count = h("span", { class: "muted", "data-role": "tensor-count" });

  const apply = () => {
    const text = nameFilter.value.trim();
    let match: (name: string) => boolean = (n) => n.includes(text);
    const re = text.match(/^\/(.+)\/$/);
    if (re) {
      try {
        const r = new RegExp(re[1]);
        match = (n) => r.test(n);
      } catch { /* an unfinished regex: keep the substring match */ }
    }
    const layer = layerFilter.value, kind = kindFilter.value;
    const shown = rows.filter((r) => (!text || match(r.name)) &&
      (!layer || (layer === "none" ? r.layer === null : r.layer === Number(layer))) &&
      (!kind || r.kind === kind) && (!quantOnly.checked || r.quantizable));
    table.setRows(shown);
    count.textContent = `${shown.length} of ${rows.length} tensors`;
  };
  nameFilter.addEventListener("input", apply);
  for (const c of [layerFilter, kindFilter, quantOnly]) c.addEventListener("change", apply);
  apply();

  return h("div", { class: "tensor-table" },
    h("div", { class: "toolbar" }, nameFilter, layerFilter, kindFilter, h("label", { class: "inline" }, quantOnly, " quantizable only"), count),
    table.el, detail);
}

// One row per layer, one column per tensor kind; each cell shows the shape, shaded by size.
function structureView(rows: Row[]): HTMLElement {
  const kinds = sortKinds(rows.filter((r) => r.layer !== null).map((r) => r.kind));
  const byLayer = new Map<number, Map<string, Row>>();
  for (const r of rows) {
    if (r.layer === null) continue;
    if (!byLayer.has(r.layer)) byLayer.set(r.layer, new Map());
    byLayer.get(r.layer)!.set(r.kind, r);
  }
  const maxParams = Math.max(1, ...rows.filter((r) => r.layer !== null).map((r) => r.params));
  const outside = rows.filter((r) => r.layer === null);
  const table = h("table", { class: "structure" },
    h("thead", {}, h("tr", {}, h("th", {}, "layer"), kinds.map((k) => h("th", {}, k)), h("th", {}, "params"))),
    h("tbody", {}, [...byLayer.entries()].sort((a, b) => a[0] - b[0]).map(([layer, cells]) =>
      h("tr", {}, h("th", {}, String(layer)),
        kinds.map((k) => {
          const r = cells.get(k);
          if (!r) return h("td", { class: "muted" }, "");
          const shade = Math.round(8 + 30 * Math.sqrt(r.params / maxParams));
          return h("td", { title: `${r.name} ${r.shape.join("×")} ${r.dtype}`, style: `background:color-mix(in srgb, var(--accent) ${shade}%, transparent)` }, r.shape.join("×"));
        }),
        h("td", { class: "right" }, formatCount([...cells.values()].reduce((s, r) => s + r.params, 0)))))));
  return h("div", { class: "structure-view" },
    h("p", {}, "Outside the layers: ", outside.map((r) => h("span", { class: "chip", title: r.shape.join("×") }, `${r.name} ${r.shape.join("×")}`))),
    h("div", { class: "scroll-x" }, table));
}
