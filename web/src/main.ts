// Entry point: the token from the URL, the navigation bar and the hash router (#/page/arg...).
import "./style.css";
import { takeTokenFromUrl } from "./api";
import { h } from "./ui";
import * as models from "./pages/models";
import * as measure from "./pages/measure";
import * as strategy from "./pages/strategy";
import * as quantize from "./pages/quantize";
import * as verify from "./pages/verify";
import * as jobs from "./pages/jobs";
import * as download from "./pages/download";

export type Cleanup = () => void;
export interface Page { title: string; render: (root: HTMLElement, args: string[]) => Cleanup | void }

const pages: Record<string, Page> = { models, measure, strategy, quantize, verify, jobs, download };

let cleanup: Cleanup | void;

function route(): void {
  const [name = "models", ...args] = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const page = pages[name] ?? models;
  const key = pages[name] ? name : "models";
  cleanup?.();
  cleanup = undefined;
  const root = document.getElementById("page")!;
  root.replaceChildren();
  root.dataset.page = key;
  document.title = `${page.title} · quantscope`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("#nav a")) a.classList.toggle("active", a.dataset.page === key);
  cleanup = page.render(root, args);
}

takeTokenFromUrl();
const nav = document.getElementById("nav")!;
for (const [key, page] of Object.entries(pages)) nav.appendChild(h("a", { href: `#/${key}`, "data-page": key }, page.title));
window.addEventListener("hashchange", route);
route();
