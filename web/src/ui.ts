// Small DOM helpers: element building, number formatting, and showing an API error next to the
// form field it names.
import { ApiError } from "./api";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = String(value);
    else if (key === "value" && "value" in el) (el as HTMLInputElement).value = String(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replace(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " B";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e3) return (n / 1e3).toFixed(1) + " k";
  return String(n);
}

export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatTime(unixSeconds: number | null | undefined): string {
  if (!unixSeconds) return "";
  return new Date(unixSeconds * 1000).toLocaleString();
}

// Errors land next to the field the API names (an element with data-field=NAME inside the form),
// else in the form's general message box.
export function showError(form: Element, error: unknown): void {
  clearErrors(form);
  const message = error instanceof Error ? error.message : String(error);
  const field = error instanceof ApiError ? error.field : undefined;
  const target = field ? fieldElement(form, field) : null;
  const box = h("div", { class: "error", role: "alert" }, message);
  if (target) {
    target.classList.add("has-error");
    target.appendChild(box);
  } else {
    (form.querySelector(".form-error") ?? form).appendChild(box);
  }
}

// The API names fields by their path in the request ("params.model", "budget.size"); the form
// row is found by the whole path, then without "params.", then by its first part.
function fieldElement(form: Element, field: string): Element | null {
  const names = [field, field.replace(/^params\./, ""), field.replace(/^params\./, "").split(".")[0]];
  for (const name of names) {
    const el = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (el) return el;
  }
  return null;
}

export function clearErrors(form: Element): void {
  form.querySelectorAll(".error").forEach((e) => e.remove());
  form.querySelectorAll(".has-error").forEach((e) => e.classList.remove("has-error"));
}

// A labelled form row; data-field ties it to the API's error.field.
export function field(name: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.setAttribute("name", name);
  if (!control.id) control.id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  return h("div", { class: "field", "data-field": name },
    h("label", { for: control.id }, label), control, hint ? h("small", { class: "hint" }, hint) : null);
}

export function select(options: (string | [string, string])[], value?: string, attrs: Attrs = {}): HTMLSelectElement {
  const el = h("select", attrs);
  for (const o of options) {
    const [v, text] = typeof o === "string" ? [o, o] : o;
    el.appendChild(h("option", { value: v, selected: v === value }, text));
  }
  return el;
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: number | undefined;
  return (...args: A) => {
    clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
}

export function baseName(path: string): string {
  return path.split("/").filter(Boolean).pop() ?? path;
}

// Shows the path relative to the first root that holds it (shorter in lists).
export function shortPath(path: string, roots: string[]): string {
  for (const r of roots) {
    const root = r.endsWith("/") ? r : r + "/";
    if (path.startsWith(root)) return path.slice(root.length) || path;
  }
  return path;
}
