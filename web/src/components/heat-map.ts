// A layer × tensor-kind grid coloured by a value (sensitivity, chosen bits): rows are layers,
// tensors outside the layers form a last row. Cells carry the tensor name and value as a tooltip.
import { h, formatNumber } from "../ui";
import { sortKinds, tensorPlace } from "../tensor-names";

export interface HeatValue { tensor: string; value: number | null; label?: string }

export interface HeatMapOptions {
  log: boolean;                      // colour by log10(value): errors span decades
  legend: string;                    // what the colour means
  onCellClick?: (tensor: string) => void;
}

// Perceptually ordered stops (dark blue → teal → yellow), interpolated in RGB.
const STOPS = [[48, 18, 59], [40, 120, 180], [32, 180, 140], [160, 210, 60], [250, 230, 40]];

export function colourAt(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const c = STOPS[i].map((v, k) => Math.round(v + (STOPS[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export class HeatMap {
  readonly el: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly legend: HTMLElement;

  constructor(private readonly options: HeatMapOptions) {
    this.grid = h("div", { class: "heat-grid" });
    this.legend = h("div", { class: "heat-legend" });
    this.el = h("div", { class: "heat-map" }, this.grid, this.legend);
  }

  setValues(values: HeatValue[]): void {
    const cells = new Map<string, HeatValue>();
    const kinds: string[] = [];
    const layers = new Set<number>();
    let outside = false;
    for (const v of values) {
      const place = tensorPlace(v.tensor);
      kinds.push(place.kind);
      if (place.layer === null) outside = true;
      else layers.add(place.layer);
      cells.set(`${place.layer ?? "-"}/${place.kind}`, v);
    }
    const kindOrder = sortKinds(kinds);
    const layerOrder: (number | null)[] = [...layers].sort((a, b) => a - b);
    if (outside) layerOrder.push(null);

    const finite = values.map((v) => v.value).filter((v): v is number => v !== null && Number.isFinite(v) && (!this.options.log || v > 0));
    const scale = (v: number) => (this.options.log ? Math.log10(v) : v);
    const lo = finite.length ? Math.min(...finite.map(scale)) : 0;
    const hi = finite.length ? Math.max(...finite.map(scale)) : 1;
    const position = (v: number) => (hi > lo ? (scale(v) - lo) / (hi - lo) : 0.5);

    const table = h("table", { class: "heat" });
    table.appendChild(h("thead", {}, h("tr", {}, h("th", {}, "layer"), kindOrder.map((k) => h("th", { class: "kind" }, h("span", {}, k))))));
    const body = h("tbody");
    for (const layer of layerOrder) {
      const tr = h("tr", {}, h("th", {}, layer === null ? "other" : String(layer)));
      for (const kind of kindOrder) {
        const v = cells.get(`${layer ?? "-"}/${kind}`);
        const td = h("td");
        if (v) {
          const ok = v.value !== null && Number.isFinite(v.value) && (!this.options.log || v.value > 0);
          td.className = ok ? "filled" : "empty-value";
          if (ok) td.style.background = colourAt(position(v.value as number));
          td.title = `${v.tensor}: ${v.label ?? formatNumber(v.value)}`;
          td.dataset.tensor = v.tensor;
          if (this.options.onCellClick) td.addEventListener("click", () => this.options.onCellClick?.(v.tensor));
        }
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    this.grid.replaceChildren(table);

    const fmt = (x: number) => formatNumber(this.options.log ? 10 ** x : x, 3);
    this.legend.replaceChildren(
      h("span", {}, this.options.legend + ": "),
      h("span", {}, finite.length ? fmt(lo) : "–"),
      h("span", { class: "heat-ramp", style: `background:linear-gradient(90deg,${STOPS.map((_, i) => colourAt(i / (STOPS.length - 1))).join(",")})` }),
      h("span", {}, finite.length ? fmt(hi) : "–"),
      h("span", { class: "muted" }, ` (${finite.length} of ${values.length} cells)`),
    );
  }
}
