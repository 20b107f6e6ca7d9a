// A job's live state: progress bar, units, ETA, pause/resume/cancel, error. Fed by the shared
// event stream; `onChange` lets a page react (e.g. fetch the new measurement rows).
import { post } from "../api";
import { onJob } from "../events";
import type { Job } from "../types";
import { formatDuration, h, replace, showError } from "../ui";

const ACTIVE = new Set(["queued", "running"]);

export function progressBar(job: Job): HTMLElement {
  const pct = Math.round((job.progress ?? (job.units_total ? job.units_done / job.units_total : 0)) * 1000) / 10;
  return h("div", { class: `progress state-${job.state}`, role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 },
    h("div", { class: "progress-fill", style: `width:${pct}%` }),
    h("span", { class: "progress-text" }, `${job.units_done} / ${job.units_total} (${pct}%)`));
}

export function etaText(job: Job): string {
  if (job.state === "running" && job.eta_seconds !== null && job.eta_seconds !== undefined) return `ETA ${formatDuration(job.eta_seconds)}`;
  if (job.state === "running" && job.units_done === 0) return "starting…";
  return "";
}

// Pause, resume and cancel as the job's state allows them; errors show beside the buttons.
export function jobButtons(job: Job): HTMLElement {
  const message = h("span", { class: "error-inline" });
  const act = (action: "pause" | "resume" | "cancel") => async (event: Event) => {
    const button = event.currentTarget as HTMLButtonElement;
    button.disabled = true;
    message.textContent = "";
    try {
      await post(`/api/jobs/${job.id}/${action}`, {});
    } catch (e) {
      message.textContent = (e as Error).message;
      button.disabled = false;
    }
  };
  const requested = job.requested_state;
  return h("span", { class: "job-buttons" },
    h("button", { type: "button", "data-action": "pause", disabled: !ACTIVE.has(job.state) || requested === "paused", onclick: act("pause") }, requested === "paused" ? "pausing…" : "Pause"),
    h("button", { type: "button", "data-action": "resume", disabled: !["paused", "failed", "cancelled"].includes(job.state) || job.state === "cancelled", onclick: act("resume") }, "Resume"),
    h("button", { type: "button", class: "danger", "data-action": "cancel", disabled: !ACTIVE.has(job.state) && job.state !== "paused", onclick: act("cancel") }, requested === "cancelled" ? "cancelling…" : "Cancel"),
    message);
}

export interface JobPanel { el: HTMLElement; dispose: () => void }

export function jobPanel(jobId: number, onChange?: (job: Job) => void): JobPanel {
  const el = h("section", { class: "job-panel", "data-job": jobId }, h("p", { class: "muted" }, `Job #${jobId}: waiting for its first event…`));
  const dispose = onJob((job) => {
    if (job.id !== jobId) return;
    el.dataset.state = job.state;
    replace(el,
      h("div", { class: "job-head" },
        h("strong", {}, `Job #${job.id} · ${job.kind}`),
        h("span", { class: `badge state-${job.state}`, "data-role": "state" }, job.state),
        h("span", { class: "muted", "data-role": "eta" }, etaText(job)),
        jobButtons(job)),
      progressBar(job),
      job.error ? h("div", { class: "error", role: "alert" }, job.error) : null);
    onChange?.(job);
  });
  return { el, dispose };
}

// A form's submit that creates a job: the button is off while the request is out, and an API error
// lands next to the field it names. Returns the new job's id, or undefined when it was refused.
export async function createJob(form: HTMLFormElement, submit: HTMLButtonElement, body: Record<string, unknown>): Promise<number | undefined> {
  submit.disabled = true;
  try {
    return (await post<{ id: number }>("/api/jobs", body)).id;
  } catch (e) {
    showError(form, e);
    return undefined;
  } finally {
    submit.disabled = false;
  }
}
