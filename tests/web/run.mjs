// Browser tests of the web UI: Debian's chromium (headless, driven by playwright-core) against the
// real `quantscope serve` ($QUANTSCOPE_BIN) on the shipped model. Walks every page as a user
// would, asserts on what the page shows, and saves a screenshot of each page in docs/screenshots/.
//   QUANTSCOPE_BIN=build/quantscope node tests/web/run.mjs      (or: npm --prefix web run test:browser)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, routeBuiltUi, startServer } from "./harness.mjs";
import { COMMIT, startMockHub } from "./mock-hub.mjs";
import { moeModel } from "./moe-model.mjs";

const repo = resolve(import.meta.dirname, "../..");
const bin = resolve(repo, process.env.QUANTSCOPE_BIN ?? "build/quantscope");
const shots = join(repo, "docs/screenshots");
const model = join(repo, "models/kjv-llama");
const scratch = mkdtempSync(join(tmpdir(), "quantscope-web-test-"));
const token = "web-test-" + process.pid;
const LONG = 0;  // a job: wait as long as it takes (no time limit in a test; CI bounds the whole run)

const hubToken = "hf_webTestSecret" + process.pid;
let server, browser, page, hub;

before(async () => {
  mkdirSync(shots, { recursive: true });
  hub = await startMockHub({ repoId: "org/kjv", modelDir: model, token: hubToken });
  server = await startServer(bin, ["--db", join(scratch, "jobs.db"), "--root", repo, "--root", scratch, "--token", token], {
    HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(scratch, "hf-hub"), HF_HOME: join(scratch, "hf-home"), HF_TOKEN: "",
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(0);  // every wait ends by what the page shows, never by a clock
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  // A binary built without web/dist serves a placeholder page; the UI then comes from web/dist.
  if (await routeBuiltUi(page, server.url, join(repo, "web/dist")))
    console.log("note: this binary has no UI embedded; web/dist is served to the page instead (the API is the real server's)");
  await page.goto(`${server.url}/#token=${token}`);
});

after(async () => {
  await browser?.close();
  server?.stop();
  await hub?.close();
  rmSync(scratch, { recursive: true, force: true });
});

// Full-page shots from the top (the sticky bar would otherwise land where the page was scrolled).
const shot = async (name) => {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
};
const text = (selector) => page.locator(selector).first().innerText();
// The API as the page calls it (same origin, the bearer token): for state the page does not show.
const api = (path) => page.evaluate(async ([p, t]) => (await fetch(p, { headers: { Authorization: `Bearer ${t}` } })).json(), [path, token]);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const TERMINAL = new Set(["done", "failed", "cancelled"]);
// Waits until a job has ended, by its state in the API (not by the page, so a page that missed an
// event cannot hang the run), and fails the test with the job's own error unless it is done.
async function jobEnded(id) {
  for (;;) {
    const job = await api(`/api/jobs/${id}`);
    if (TERMINAL.has(job.state)) {
      if (job.state !== "done") assert.fail(`job #${id} (${job.kind}) ${job.state}: ${job.error ?? ""}`);
      return job;
    }
    await pause(250);
  }
}
// The id of the job a form just created (its panel appears), or the test fails with the form's error.
async function createdJob(form) {
  const panel = page.locator(".job-panel[data-job]").first();
  const outcome = await Promise.race([
    panel.waitFor({ timeout: LONG }).then(() => "created"),
    form.locator(".error").waitFor({ timeout: LONG }).then(() => "refused"),
  ]);
  if (outcome === "refused") assert.fail(await form.locator(".error").innerText());
  return Number(await panel.getAttribute("data-job"));
}

test("the API refuses a request without the token", async () => {
  const status = await page.evaluate(async () => (await fetch("/api/info")).status);
  assert.equal(status, 401);
});

test("models: the shipped model's config and tensors", async () => {
  await page.goto(`${server.url}/#/models/${encodeURIComponent(model)}`);
  // 8 layers of 9 tensors, plus token_embd, output_norm and output (models/kjv-llama/config.json).
  await page.locator('[data-role="tensor-count"]', { hasText: "75 of 75 tensors" }).waitFor();
  assert.match(await text(".summary"), /llama/);
  assert.ok(await page.locator('.vt-row[data-key="token_embd.weight"]').isVisible());
  await page.fill('[data-role="filter-name"]', "ffn_down");
  await page.locator('[data-role="tensor-count"]', { hasText: "8 of 75 tensors" }).waitFor();
  await page.fill('[data-role="filter-name"]', "");
  await page.selectOption('[data-role="filter-layer"]', "3");
  await page.locator('[data-role="tensor-count"]', { hasText: "9 of 75 tensors" }).waitFor();
  await page.click('.vt-row[data-key="blk.3.attn_v.weight"]');
  assert.match(await text(".tensor-detail"), /Q4_K/);  // its allowed types
  await page.selectOption('[data-role="filter-layer"]', "");
  await shot("models");
  await page.click('[data-tab="structure"]');
  assert.equal(await page.locator("table.structure tbody tr").count(), 8);
});

let measureJob;

test("measure: start, see progress, pause, resume, heat map fills", async () => {
  await page.goto(`${server.url}/#/measure`);
  const form = page.locator('[data-role="measure-form"]');
  await form.locator('select[name="model"]').selectOption(model);
  await form.locator('select[name="metric"]').selectOption("proxy");
  // The device: auto by default, and the page says whether the server sees a GPU.
  assert.equal(await form.locator('select[name="device"]').inputValue(), "auto");
  const info = await api("/api/info");
  await form.locator('[data-field="device"] .hint', { hasText: info.cuda_devices > 0 ? "visible" : info.cuda_built ? "no GPU visible" : "without the CUDA backend" }).waitFor();
  // The GPU's products: fp32 by default; tf32 at the proxy level (no products on a GPU) is refused
  // by the server, and the form says why.
  assert.equal(await form.locator('select[name="precision"]').inputValue(), "fp32");
  await form.locator('select[name="precision"]').selectOption("tf32");
  await form.locator('button[type="submit"]').click();
  await form.locator(".error", { hasText: "tf32" }).waitFor();
  assert.match(page.url(), /#\/measure$/);
  await form.locator('select[name="precision"]').selectOption("fp32");
  // No type ticked: the whole ladder, ~1,100 units at the proxy level, long enough to pause.
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/#\/measure\/\d+$/);
  measureJob = Number(page.url().match(/(\d+)$/)[1]);
  const panel = page.locator(`.job-panel[data-job="${measureJob}"]`);
  const done = async () => Number((await panel.locator(".progress").getAttribute("aria-valuenow")) ?? 0);
  await page.waitForFunction((id) => {
    const panel = document.querySelector(`.job-panel[data-job="${id}"]`);
    const bar = panel?.querySelector(".progress");
    if (["failed", "cancelled"].includes(panel?.dataset.state)) return true;  // jobEnded below says why
    return bar && Number(bar.getAttribute("aria-valuenow")) >= 20;  // a fifth: the map shows a few layers
  }, measureJob, { timeout: LONG });
  if (["failed", "cancelled"].includes(await panel.getAttribute("data-state"))) await jobEnded(measureJob);
  await panel.locator('[data-action="pause"]').click();
  await page.waitForFunction((id) => ["paused", "done", "failed", "cancelled"].includes(document.querySelector(`.job-panel[data-job="${id}"]`)?.dataset.state), measureJob, { timeout: LONG });
  if ((await panel.getAttribute("data-state")) === "paused") {
    const pausedAt = await done();
    assert.ok(pausedAt < 100, "paused before the end");
    await page.locator('[data-role="row-count"]', { hasText: /[1-9]\d* rows/ }).waitFor();
    assert.ok(await page.locator("table.heat td.filled").count() > 0, "the heat map shows the rows so far");
    await shot("measure");
    await panel.locator('[data-action="resume"]').click();
  } else {
    console.log("note: the measurement finished before the pause landed (a fast machine); pause not checked");
  }
  await jobEnded(measureJob);
  await page.waitForFunction((id) => document.querySelector(`.job-panel[data-job="${id}"]`)?.dataset.state === "done", measureJob, { timeout: LONG });
  assert.equal(await done(), 100);
  // Every quantizable tensor (58) has a cell at the chosen type.
  await page.locator("table.heat td.filled").nth(57).waitFor();
  assert.equal(await page.locator("table.heat td.filled").count(), 58);
  if (!existsSync(join(shots, "measure.png"))) await shot("measure");
});

const strategyPath = join(scratch, "kjv-strategy.yaml");

test("strategy: tensor chart, budget slider, hand edit, save, recipe", async () => {
  assert.ok(measureJob, "needs the measure job");
  await page.click('[data-role="to-strategy"]');
  await page.waitForURL(/#\/strategy\/\d+$/);
  const size = page.locator('[data-role="total-size"]');
  await size.waitFor();
  const sizeOf = async () => Number((await size.innerText()).match(/\(([\d,]+) bytes\)/)[1].replaceAll(",", ""));
  const before = await sizeOf();

  // The largest budget on the Pareto curve: a bigger file than the middle one.
  await page.focus('[data-role="budget-slider"]');
  await page.keyboard.press("End");
  await page.waitForFunction((b) => {
    const m = document.querySelector('[data-role="total-size"]')?.textContent?.match(/\(([\d,]+) bytes\)/);
    return m && Number(m[1].replaceAll(",", "")) !== b;
  }, before);
  const largest = await sizeOf();
  assert.ok(largest > before, `largest budget ${largest} > middle ${before}`);
  assert.match(await text('[data-role="budget-readout"]'), /bpw/);

  // A tensor's error curve: a uPlot chart with the tensor's name as its title.
  await page.click('table.heat td[data-tensor="blk.0.attn_v.weight"]');
  await page.locator('[data-role="tensor-chart"] .uplot').waitFor();
  assert.match(await text('[data-role="tensor-chart"]'), /blk\.0\.attn_v\.weight/);

  // The smallest budget, then token_embd by hand to Q8_0 (8.5 bits per weight): a bigger file.
  await page.focus('[data-role="budget-slider"]');
  await page.keyboard.press("Home");
  await page.waitForFunction((b) => {
    const m = document.querySelector('[data-role="total-size"]')?.textContent?.match(/\(([\d,]+) bytes\)/);
    return m && Number(m[1].replaceAll(",", "")) < b;
  }, before);
  const smallest = await sizeOf();
  await page.fill('[data-role="strategy-filter"]', "token_embd");
  const embd = page.locator('select[data-tensor="token_embd.weight"]');
  assert.notEqual(await embd.inputValue(), "Q8_0");
  await embd.selectOption("Q8_0");
  await page.waitForFunction((b) => {
    const m = document.querySelector('[data-role="total-size"]')?.textContent?.match(/\(([\d,]+) bytes\)/);
    return m && Number(m[1].replaceAll(",", "")) > b;
  }, smallest);
  assert.equal(await page.locator('.vt-row[data-key="token_embd.weight"] .vt-cell').last().innerText(), "manual");

  // A path outside the roots: the API's error lands next to the field it names.
  await page.fill('[data-role="save-path"]', "/etc/quantscope-web-test.yaml");
  await page.click('[data-role="save"]');
  await page.locator('.field:has([data-role="save-path"]) .error', { hasText: /outside/ }).waitFor();
  await page.fill('[data-role="save-path"]', strategyPath);
  await page.click('[data-role="save"]');
  await page.locator('[data-role="saved"]', { hasText: strategyPath }).waitFor();
  const saved = readFileSync(strategyPath, "utf8");
  assert.match(saved, /quantscope_strategy: 1/);
  assert.match(saved, /token_embd\.weight:.*Q8_0/);

  await page.click('[data-role="recipe"]');
  await page.locator('[data-role="recipe-text"]').waitFor();
  assert.match(await text('[data-role="recipe-text"]'), /token_embd/);
  await page.fill('[data-role="strategy-filter"]', "");
  // For the picture: a budget two thirds along the curve (the hand-set tensor stays pinned).
  const edited = await sizeOf();
  await page.$eval('[data-role="budget-slider"]', (el) => { el.value = String(Math.round(el.max * 0.66)); el.dispatchEvent(new Event("input")); });
  await page.waitForFunction((b) => {
    const m = document.querySelector('[data-role="total-size"]')?.textContent?.match(/\(([\d,]+) bytes\)/);
    return m && Number(m[1].replaceAll(",", "")) > b;
  }, edited);
  await page.click('[data-role="recipe"]');
  await page.locator('[data-role="recipe-text"]').waitFor();
  await shot("strategy");
});

test("quantize: the saved strategy into a GGUF", async () => {
  assert.ok(existsSync(strategyPath), "needs the saved strategy");
  const output = join(scratch, "kjv-strategy.gguf");
  await page.goto(`${server.url}/#/quantize`);
  const form = page.locator('[data-role="quantize-form"]');
  await form.locator('[data-role="model"]').selectOption(model);
  await form.locator('[data-role="source"]').selectOption("strategy");
  await form.locator('[data-role="strategy"]').fill(strategyPath);
  await form.locator('[data-role="output"]').fill(output);
  assert.equal(await form.locator('[data-role="output"]').inputValue(), output);
  await form.locator('button[type="submit"]').click();
  await jobEnded(await createdJob(form));
  const shown = await Promise.race([
    page.locator('[data-role="result"] .ok').waitFor({ timeout: LONG }).then(() => "ok"),
    page.locator('[data-role="result"] .error').waitFor({ timeout: LONG }).then(() => "error"),
  ]);
  if (shown === "error") assert.fail(await text('[data-role="result"] .error'));
  assert.match(await text('[data-role="result"]'), new RegExp(`Wrote ${output}`));
  assert.ok(statSync(output).size > 1_000_000);
  await shot("quantize");
});

test("verify: an auto job's comparison table and charts", async () => {
  // The smallest auto run: one chunk each, two presets (~20 s on two cores).
  const created = await page.evaluate(async ([t, params]) => {
    const r = await fetch("/api/jobs", { method: "POST", headers: { Authorization: `Bearer ${t}`, "Content-Type": "application/json" }, body: JSON.stringify({ kind: "auto", params }) });
    return r.json();
  }, [token, {
    model, text: join(model, "calibration.txt"), eval_text: join(model, "eval.txt"), target_bpw: 4.5, out_dir: join(scratch, "auto"),
    presets: ["Q4_K_M", "Q2_K"], n_ctx: 128, chunks: 1, imatrix_chunks: 1, eval_chunks: 1,
  }]);
  assert.ok(created.id, JSON.stringify(created));
  await jobEnded(created.id);
  await page.goto(`${server.url}/#/verify/${created.id}`);
  const shown = await Promise.race([
    page.locator('[data-role="compare-table"]').waitFor({ timeout: LONG }).then(() => "table"),
    page.locator('[data-role="compare"] .error').waitFor({ timeout: LONG }).then(() => "error"),
  ]);
  if (shown === "error") assert.fail(await text('[data-role="compare"] .error'));
  for (const name of ["Q4_K_M", "Q2_K", "strategy"]) assert.equal(await page.locator(`[data-role="compare-table"] tr[data-name="${name}"]`).count(), 1, name);
  await page.locator(".chart .uplot").nth(1).waitFor();
  await shot("verify");
});

test("jobs: every job with its state", async () => {
  await page.goto(`${server.url}/#/jobs`);
  const row = page.locator(`table.jobs tr[data-job="${measureJob}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /measure\s+done/);
  const jobs = await api("/api/jobs");
  await page.locator("table.jobs tbody tr").nth(jobs.length - 1).waitFor();
  assert.equal(await page.locator("table.jobs tbody tr").count(), jobs.length);
  await shot("jobs");
});

test("download: a repo from the (mock) Hub into the cache, the token used once and never kept", async () => {
  await page.goto(`${server.url}/#/download`);
  const form = page.locator('[data-role="download-form"]');
  await form.locator('[data-role="repo"]').fill("org/kjv");
  await form.locator('[data-role="token"]').fill(hubToken);
  await form.locator('button[type="submit"]').click();
  assert.equal(await form.locator('[data-role="token"]').inputValue(), "");  // the page keeps no copy
  await jobEnded(await createdJob(form));
  await page.locator('[data-role="files"] tr[data-file="model.safetensors"]').waitFor();
  await page.locator('[data-role="snapshot"]').waitFor({ timeout: LONG });
  assert.equal(await page.locator('[data-role="files"] tbody tr[data-done="1"]').count(), 4);
  const snapshot = join(scratch, "hf-hub", "models--org--kjv", "snapshots", COMMIT);
  assert.match(await text('[data-role="snapshot"]'), new RegExp(snapshot));
  assert.deepEqual(readFileSync(join(snapshot, "model.safetensors")), readFileSync(join(model, "model.safetensors")));
  await shot("download");
  // The token reached the Hub's host only, and no answer of the server holds it.
  for (const [host, authorization] of hub.seenTokens)
    if (host.startsWith("localhost")) assert.equal(authorization, "", "the CDN host saw the token");
  const jobs = await api("/api/jobs");
  const id = jobs.find((j) => j.kind === "download").id;
  assert.ok(!JSON.stringify(await api(`/api/jobs/${id}`)).includes(hubToken));
  assert.ok(!readFileSync(join(scratch, "jobs.db")).includes(hubToken));
  // The downloaded model opens on the Models page (the cache is a read-only root).
  await page.click('[data-role="snapshot"] a');
  await page.locator('[data-role="tensor-count"]', { hasText: "75 of 75 tensors" }).waitFor();
});

test("responsiveness: a 3,000-tensor MoE model's table (timings printed, not asserted)", async () => {
  const generated = moeModel();
  await page.route("**/api/models/inspect*", (route) => route.fulfill({ contentType: "application/json", body: JSON.stringify(generated) }));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const busy = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
  const total = generated.tensors.length;

  await page.goto(`${server.url}/#/download`);
  let t0 = await busy();
  await page.goto(`${server.url}/#/models/${encodeURIComponent(generated.path)}`);
  await page.locator('[data-role="tensor-count"]', { hasText: `${total} of ${total} tensors` }).waitFor();
  const render = (await busy()) - t0;

  t0 = await busy();
  await page.fill('[data-role="filter-name"]', "ffn_down_exps");
  await page.locator('[data-role="tensor-count"]', { hasText: `94 of ${total}` }).waitFor();
  const filter = (await busy()) - t0;

  t0 = await busy();
  await page.fill('[data-role="filter-name"]', "");
  await page.click('.vt-head [data-key="params"]');
  await page.locator('[data-role="tensor-count"]', { hasText: `${total} of ${total}` }).waitFor();
  const sort = (await busy()) - t0;
  assert.ok(await page.locator(".vt-window .vt-row").count() < 60, "only the rows in view are in the DOM");
  console.log(`responsiveness (${total} tensors, main-thread task time): page load + table ${(render * 1000).toFixed(0)} ms, ` +
    `name filter ${(filter * 1000).toFixed(0)} ms, clear + sort ${(sort * 1000).toFixed(0)} ms`);
  await page.unroute("**/api/models/inspect*");
});
