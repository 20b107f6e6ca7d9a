// Download: a placeholder until the Hugging Face download has an API (issue 13).
import { h } from "../ui";

export const title = "Download";

export function render(root: HTMLElement): void {
  const token = h("input", { type: "password", autocomplete: "off", placeholder: "hf_…", disabled: true });
  root.append(h("h1", {}, "Download"),
    h("section", { class: "card" },
      h("p", { class: "notice", "data-role": "notice" }, "Downloading from the Hugging Face Hub arrives with issue 13; the server has no API for it yet. Until then: ",
        h("code", {}, "quantscope download <org/name>"), " is planned on the command line, and any model already in the Hugging Face cache or under the server's roots is listed on the Models page."),
      h("form", { class: "grid-form", onsubmit: (e: Event) => e.preventDefault() },
        h("div", { class: "field" }, h("label", {}, "Repository"), h("input", { type: "text", placeholder: "org/name", disabled: true })),
        h("div", { class: "field" }, h("label", {}, "Revision"), h("input", { type: "text", placeholder: "main", disabled: true })),
        h("div", { class: "field" }, h("label", {}, "Access token"), token, h("small", { class: "hint" }, "Never shown again once entered; sent only to the server.")),
        h("div", { class: "actions" }, h("button", { type: "submit", disabled: true }, "Download")))));
}
