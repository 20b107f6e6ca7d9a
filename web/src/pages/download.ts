// Download: a Hugging Face repo into the Hugging Face cache (shared with huggingface_hub), as a
// job: repo id, revision, an access token for gated repos (sent once with the request, kept only in
// the server's memory, never shown again), progress per file, pause/resume/cancel.
import { get } from "../api";
import type { Job } from "../types";
import { clearErrors, field, formatBytes, h, replace } from "../ui";
import { createJob, jobPanel } from "../components/job-panel";
import type { Cleanup } from "../main";

export const title = "Download";

interface DownloadFile { path: string; size: number; bytes_on_disk: number; done: boolean }
interface DownloadFiles { repo: string; commit: string; files: DownloadFile[]; snapshot?: string }

export function render(root: HTMLElement, args: string[]): Cleanup {
  const cleanups: Cleanup[] = [];
  const repo = h("input", { type: "text", "data-role": "repo", placeholder: "org/name", size: 40 });
  const revision = h("input", { type: "text", "data-role": "revision", value: "main" });
  const token = h("input", { type: "password", "data-role": "token", autocomplete: "off", placeholder: "hf_… (gated or private repos)" });
  const include = h("input", { type: "text", "data-role": "include", placeholder: "globs, comma separated (default: what a conversion needs)" });
  const submit = h("button", { type: "submit", class: "primary" }, "Download");
  const form = h("form", { class: "grid-form", "data-role": "download-form" },
    field("repo_id", "Repository", repo),
    field("revision", "Revision", revision, "Branch, tag or commit."),
    field("token", "Access token", token, "Sent once with this download and kept only in the server's memory; never shown again."),
    field("include", "Include", include),
    h("div", { class: "form-error" }), h("div", { class: "actions" }, submit));
  const jobBox = h("div");
  root.append(h("h1", {}, "Download"), h("section", { class: "card" }, form), jobBox);

  const showJob = (id: number) => {
    const table = h("div", { "data-role": "files" });
    const refresh = async (job: Job) => {
      const listing = await get<DownloadFiles>(`/api/jobs/${id}/files`);
      replace(table,
        h("p", { class: "muted" }, `${listing.repo} at ${listing.commit.slice(0, 12)}`),
        h("table", { class: "files" },
          h("thead", {}, h("tr", {}, h("th", {}, "file"), h("th", {}, "size"), h("th", {}, "progress"))),
          h("tbody", {}, listing.files.map((f) => h("tr", { "data-file": f.path, "data-done": f.done ? "1" : "0" },
            h("td", {}, f.path),
            h("td", { class: "num" }, formatBytes(f.size)),
            h("td", {}, f.done ? "done" : f.size > 0 ? `${Math.floor((100 * f.bytes_on_disk) / f.size)} %` : formatBytes(f.bytes_on_disk)))))),
        listing.snapshot && job.state === "done"
          ? h("p", { class: "ok", "data-role": "snapshot" }, "In the cache: ", h("code", {}, listing.snapshot), " — ",
            h("a", { href: `#/models/${encodeURIComponent(listing.snapshot)}` }, "open on the Models page"))
          : null);
    };
    const panel = jobPanel(id, (job) => { refresh(job).catch((e) => replace(table, h("p", { class: "error" }, (e as Error).message))); });
    cleanups.push(panel.dispose);
    replace(jobBox, h("section", { class: "card" }, h("h2", {}, `Download job #${id}`), panel.el, table));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const params: Record<string, unknown> = { repo_id: repo.value.trim(), revision: revision.value.trim() || "main" };
    const globs = include.value.split(",").map((g) => g.trim()).filter(Boolean);
    if (globs.length) params.include = globs;
    const body: Record<string, unknown> = { kind: "download", params };
    if (token.value) body.token = token.value;
    token.value = "";  // sent once; the page keeps no copy
    const id = await createJob(form, submit, body);
    if (id === undefined) return;
    history.replaceState(null, "", `#/download/${id}`);
    showJob(id);
  });

  if (args[0]) showJob(Number(args[0]));
  return () => cleanups.forEach((c) => c());
}
