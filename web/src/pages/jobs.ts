// Jobs: every job of the database, live from the event stream, with progress and controls.
import { onJob } from "../events";
import type { Job } from "../types";
import { formatTime, h, replace } from "../ui";
import { etaText, jobButtons, progressBar } from "../components/job-panel";
import type { Cleanup } from "../main";

export const title = "Jobs";

const PAGE_OF_KIND: Record<string, string> = { measure: "measure", import: "strategy", quantize: "quantize", auto: "verify" };

export function render(root: HTMLElement): Cleanup {
  const body = h("tbody");
  const empty = h("p", { class: "muted" }, "No jobs yet.");
  root.append(h("h1", {}, "Jobs"),
    h("table", { class: "jobs", "data-role": "jobs" },
      h("thead", {}, h("tr", {}, ["job", "kind", "state", "progress", "ETA", "created", "", ""].map((t) => h("th", {}, t)))), body),
    empty);
  const rows = new Map<number, HTMLTableRowElement>();
  return onJob((job: Job) => {
    empty.remove();
    let tr = rows.get(job.id);
    if (!tr) {
      tr = h("tr", { "data-job": job.id });
      rows.set(job.id, tr);
      const after = [...rows.keys()].filter((id) => id > job.id).sort((a, b) => a - b)[0];
      body.insertBefore(tr, after === undefined ? body.firstChild : rows.get(after)!.nextSibling);
    }
    const page = PAGE_OF_KIND[job.kind];
    replace(tr,
      h("td", {}, `#${job.id}`), h("td", {}, job.kind),
      h("td", {}, h("span", { class: `badge state-${job.state}`, title: job.error ?? "" }, job.state)),
      h("td", { class: "wide" }, progressBar(job), job.error ? h("div", { class: "error" }, job.error) : null),
      h("td", {}, etaText(job)), h("td", { class: "muted" }, formatTime(job.created_at)),
      h("td", {}, jobButtons(job)),
      h("td", {}, page ? h("a", { href: `#/${page}/${job.id}` }, "open") : ""));
  });
}
