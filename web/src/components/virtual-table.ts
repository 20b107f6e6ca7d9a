// A table that renders only the rows in view, so 3,000+ rows scroll and sort without delay.
// Rows are divs in a CSS grid (ARIA table roles); a tall spacer gives the scrollbar its length.
import { h } from "../ui";

export interface Column<T> {
  key: string;
  title: string;
  width: string;                       // a grid track: "1fr", "6rem", ...
  render: (row: T) => Node | string;
  sortValue?: (row: T) => number | string;
  align?: "right";
}

export interface VirtualTableOptions<T> {
  rowHeight?: number;
  height?: number;                     // px of the scrolling body
  rowKey: (row: T) => string;
  onRowClick?: (row: T) => void;
}

export class VirtualTable<T> {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly window: HTMLElement;
  private readonly header: HTMLElement;
  private rows: T[] = [];
  private sorted: T[] = [];
  private sortKey: string | null = null;
  private sortDir = 1;
  private selectedKey: string | null = null;
  private frame = 0;
  private readonly rowHeight: number;

  constructor(private readonly columns: Column<T>[], private readonly options: VirtualTableOptions<T>) {
    this.rowHeight = options.rowHeight ?? 28;
    const template = columns.map((c) => c.width).join(" ");
    this.header = h("div", { class: "vt-row vt-head", role: "row", style: `grid-template-columns:${template}` });
    for (const c of columns) {
      const cell = h("div", { class: "vt-cell" + (c.align === "right" ? " right" : ""), role: "columnheader", "data-key": c.key }, c.title);
      if (c.sortValue) {
        cell.classList.add("sortable");
        cell.addEventListener("click", () => this.sortBy(c.key));
      }
      this.header.appendChild(cell);
    }
    this.spacer = h("div", { class: "vt-spacer" });
    this.window = h("div", { class: "vt-window", role: "rowgroup" });
    this.body = h("div", { class: "vt-body", style: `height:${options.height ?? 480}px` }, this.spacer, this.window);
    this.body.addEventListener("scroll", () => this.schedule());
    this.el = h("div", { class: "vt", role: "table" }, this.header, this.body);
    this.window.dataset.template = template;
  }

  setRows(rows: T[]): void {
    this.rows = rows;
    this.applySort();
    this.body.scrollTop = Math.min(this.body.scrollTop, Math.max(0, this.sorted.length * this.rowHeight - this.body.clientHeight));
    this.render();
  }

  get rowCount(): number {
    return this.sorted.length;
  }

  refresh(): void {
    this.render();
  }

  select(key: string | null): void {
    this.selectedKey = key;
    this.render();
  }

  sortBy(key: string, dir?: number): void {
    this.sortDir = dir ?? (this.sortKey === key ? -this.sortDir : 1);
    this.sortKey = key;
    for (const cell of this.header.children) {
      const el = cell as HTMLElement;
      el.dataset.sort = el.dataset.key === key ? (this.sortDir > 0 ? "asc" : "desc") : "";
    }
    this.applySort();
    this.render();
  }

  private applySort(): void {
    const column = this.columns.find((c) => c.key === this.sortKey);
    if (!column?.sortValue) {
      this.sorted = this.rows;
      return;
    }
    const value = column.sortValue;
    const keyed = this.rows.map((row) => ({ row, v: value(row) }));
    const dir = this.sortDir;
    keyed.sort((a, b) => (a.v < b.v ? -dir : a.v > b.v ? dir : 0));
    this.sorted = keyed.map((k) => k.row);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const total = this.sorted.length;
    this.spacer.style.height = `${total * this.rowHeight}px`;
    const viewHeight = this.body.clientHeight || (this.options.height ?? 480);
    const first = Math.max(0, Math.floor(this.body.scrollTop / this.rowHeight) - 5);
    const last = Math.min(total, Math.ceil((this.body.scrollTop + viewHeight) / this.rowHeight) + 5);
    this.window.style.transform = `translateY(${first * this.rowHeight}px)`;
    const template = this.window.dataset.template ?? "";
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const row = this.sorted[i];
      const key = this.options.rowKey(row);
      const el = h("div", {
        class: "vt-row" + (key === this.selectedKey ? " selected" : ""), role: "row", "data-key": key,
        style: `grid-template-columns:${template};height:${this.rowHeight}px`,
      });
      for (const c of this.columns) {
        const content = c.render(row);
        el.appendChild(h("div", { class: "vt-cell" + (c.align === "right" ? " right" : ""), role: "cell", title: typeof content === "string" ? content : null }, content));
      }
      if (this.options.onRowClick) {
        el.addEventListener("click", (event) => {
          if ((event.target as HTMLElement).closest("select, input, button")) return;
          this.selectedKey = key;
          this.options.onRowClick?.(row);
          this.render();
        });
      }
      fragment.appendChild(el);
    }
    this.window.replaceChildren(fragment);
  }
}
