// Every tensor of a strategy in a virtualized table, with a type dropdown per row.
import type { StrategyFile, StrategyTensor } from "../types";
import { formatBytes, formatNumber, h } from "../ui";
import { tensorPlace } from "../tensor-names";
import { VirtualTable } from "./virtual-table";

interface Row extends StrategyTensor { name: string; layer: number | null; kind: string }

export interface StrategyTableOptions {
  typesFor: (tensor: string) => string[];
  bits: (type: string) => number | undefined;
  onTypeChange: (tensor: string, type: string) => void;
  onRowClick: (tensor: string) => void;
}

export function strategyTable(options: StrategyTableOptions) {
  const typeCell = (r: Row) => {
    const types = options.typesFor(r.name);
    const list = types.includes(r.type) ? types : [r.type, ...types];
    const sorted = [...list].sort((a, b) => (options.bits(b) ?? 0) - (options.bits(a) ?? 0));
    const el = h("select", { class: "type-select", "data-tensor": r.name, "aria-label": `type of ${r.name}` },
      sorted.map((t) => h("option", { value: t, selected: t === r.type }, t)));
    el.addEventListener("change", () => options.onTypeChange(r.name, el.value));
    return el;
  };
  const table = new VirtualTable<Row>([
    { key: "name", title: "tensor", width: "minmax(14rem,2fr)", render: (r) => r.name, sortValue: (r) => r.name },
    { key: "layer", title: "layer", width: "4rem", align: "right", render: (r) => (r.layer === null ? "–" : String(r.layer)), sortValue: (r) => r.layer ?? -1 },
    { key: "kind", title: "kind", width: "minmax(6rem,1fr)", render: (r) => r.kind, sortValue: (r) => r.kind },
    { key: "type", title: "type", width: "7.5rem", render: typeCell, sortValue: (r) => r.bits ?? 0 },
    { key: "bits", title: "bpw", width: "5rem", align: "right", render: (r) => formatNumber(r.bits ?? null), sortValue: (r) => r.bits ?? 0 },
    { key: "bytes", title: "bytes", width: "6.5rem", align: "right", render: (r) => formatBytes(r.bytes), sortValue: (r) => r.bytes ?? 0 },
    { key: "predicted", title: "predicted", width: "6.5rem", align: "right", render: (r) => formatNumber(r.predicted ?? null), sortValue: (r) => r.predicted ?? -1 },
    { key: "reason", title: "reason", width: "5.5rem", render: (r) => r.reason, sortValue: (r) => r.reason },
  ], { rowKey: (r) => r.name, height: 420, onRowClick: (r) => options.onRowClick(r.name) });

  let rows: Row[] = [];
  const filter = h("input", { type: "search", placeholder: "tensor name contains", "data-role": "strategy-filter" });
  const count = h("span", { class: "muted" });
  const apply = () => {
    const text = filter.value.trim();
    const shown = text ? rows.filter((r) => r.name.includes(text)) : rows;
    table.setRows(shown);
    count.textContent = `${shown.length} of ${rows.length} tensors`;
  };
  filter.addEventListener("input", apply);

  return {
    el: h("div", {}, h("div", { class: "toolbar" }, filter, count), table.el),
    setStrategy(s: StrategyFile) {
      rows = Object.entries(s.tensors).map(([name, t]) => ({ ...t, name, ...tensorPlace(name) }));
      apply();
    },
    select(name: string) { table.select(name); },
  };
}
