// Development only: a stand-in for `quantscope serve`'s /api (docs/api.md) that shells out to a
// built quantscope CLI, so the UI can be worked on before the server exists. The browser tests
// never use it; they run the real server. Run: QUANTSCOPE_BIN=... node dev/mock-api.mjs [port]
// then `QUANTSCOPE_API=http://127.0.0.1:PORT npm run dev`.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const bin = process.env.QUANTSCOPE_BIN ?? "quantscope";
const root = resolve(process.env.QUANTSCOPE_ROOT ?? join(import.meta.dirname, "../.."));
const scratch = mkdtempSync(join(tmpdir(), "qs-mock-"));
const db = process.env.QUANTSCOPE_DB ?? join(scratch, "mock.db");
const port = Number(process.argv[2] ?? 8080);

const cli = (...args) => execFileSync(bin, [...args], { encoding: "utf8", maxBuffer: 1 << 28 });
const cliJson = (...args) => JSON.parse(cli(...args, "--json"));
const types = cliJson("types");
const bpw = Object.fromEntries(types.map((t) => [t.name, t.bpw]));

function walk(dir, depth, out) {
  if (depth > 4) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".") || name === "node_modules" || name.startsWith("build")) continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) {
      if (readdirSync(path).includes("config.json")) out.push({ path, kind: "model", bytes: st.size });
      walk(path, depth + 1, out);
    } else {
      const kind = name.endsWith(".txt") ? "text" : name.endsWith(".gguf") ? (name.includes("imatrix") ? "imatrix" : "gguf")
        : /\.(ya?ml|json)$/.test(name) && name.includes("strateg") ? "strategy" : null;
      if (kind) out.push({ path, kind, bytes: st.size });
    }
  }
}

function measurementRows(id) {
  const csv = join(scratch, `m${id}.csv`);
  try { cli("jobs", "export", String(id), "--db", db, "-o", csv); } catch { return []; }
  const [head, ...lines] = readFileSync(csv, "utf8").trim().split("\n");
  const cols = head.split(",");
  return lines.map((l) => {
    const v = l.split(",");
    const metrics = {};
    cols.slice(4).forEach((c, i) => { if (v[4 + i] !== "") metrics[c] = Number(v[4 + i]); });
    return { tensor: v[0], type: v[1], bits: Number(v[2]), params: Number(v[3]), metrics };
  });
}

function strategyJson(id, extra) {
  return cliJson("strategy", String(id), "--db", db, ...extra);
}

const routes = [
  ["GET", /^\/api\/info$/, () => ({ version: "mock", roots: [root], db, token_required: false })],
  ["GET", /^\/api\/types$/, () => types],
  ["GET", /^\/api\/files$/, (_m, q) => { const out = []; walk(root, 0, out); return out.filter((f) => f.kind === q.get("kind")); }],
  ["GET", /^\/api\/models\/inspect$/, (_m, q) => cliJson("inspect", q.get("path"))],
  ["GET", /^\/api\/jobs$/, () => cliJson("jobs", "list", "--db", db)],
  ["GET", /^\/api\/jobs\/(\d+)$/, (m) => cliJson("jobs", "show", m[1], "--db", db)],
  ["GET", /^\/api\/jobs\/(\d+)\/measurements$/, (m, q) => {
    const rows = measurementRows(m[1]);
    const after = Number(q.get("after") ?? 0);
    return { rows: rows.slice(after), next: Math.max(after, rows.length) };
  }],
  ["POST", /^\/api\/jobs$/, (_m, _q, body) => {
    if (body.kind !== "measure") throw { status: 400, field: "kind", message: `kind: '${body.kind}' is not a job kind the server creates (mock: measure)` };
    const p = body.params;
    const args = ["measure", p.model, "--metric", p.metric, "--db", db, "--detach", "--json", "--chunks", String(p.chunks ?? 8)];
    if (p.types?.length) args.push("--types", p.types.join(","));
    if (p.probes?.length) args.push("--probes", p.probes.join(","));
    if (p.text) args.push("--text", p.text);
    if (p.imatrix) args.push("--imatrix", p.imatrix);
    let created;
    try { created = JSON.parse(execFileSync(bin, args, { encoding: "utf8" })); }
    catch (e) { throw { status: 400, field: "params.model", message: String(e.stderr ?? e).trim() }; }
    spawn(bin, ["jobs", "resume", String(created.id), "--db", db], { stdio: "ignore" });
    return { id: created.id, resumed: false };
  }],
  ["POST", /^\/api\/jobs\/(\d+)\/(pause|resume|cancel)$/, (m) => {
    if (m[2] === "resume") spawn(bin, ["jobs", "resume", m[1], "--db", db], { stdio: "ignore" });
    else cli("jobs", m[2], m[1], "--db", db);
    return { state: "?", changed: true, waiting_for_runner: false };
  }],
  ["GET", /^\/api\/jobs\/(\d+)\/candidates$/, (m) => {
    const knee = strategyJson(m[1], ["--knee"]);
    const byTensor = new Map();
    const metric = knee.metric.column;
    for (const r of measurementRows(m[1])) {
      if (!byTensor.has(r.tensor)) byTensor.set(r.tensor, []);
      byTensor.get(r.tensor).push({ type: r.type, bpw: r.bits, bytes: Math.round((r.bits * r.params) / 8), error: r.metrics[metric] ?? null, measured: true });
    }
    return { metric, tensors: Object.entries(knee.strategy.tensors).map(([name, t]) => ({
      name, shape: t.shape, params: t.shape.reduce((a, b) => a * b, 1), layer: Number(name.match(/^blk\.(\d+)/)?.[1] ?? NaN) || null,
      kind: name.replace(/^blk\.\d+\./, "").replace(/\.weight$/, ""), points: byTensor.get(name) ?? [], knee_type: t.type })) };
  }],
  ["GET", /^\/api\/jobs\/(\d+)\/pareto$/, (m) => {
    const out = strategyJson(m[1], ["--pareto"]);
    return { metric: out.metric?.column ?? "", points: out.pareto.map((p) => ({ bytes: p.tensor_bytes, file_bytes: p.file_bytes, bpw: p.bpw, error: p.error })) };
  }],
  ["POST", /^\/api\/strategy$/, (_m, _q, body) => {
    const args = body.budget.knee ? ["--knee"] : body.budget.size ? ["--size", String(body.budget.size)] : ["--target-bpw", String(body.budget.target_bpw)];
    for (const [t, type] of Object.entries(body.pins ?? {})) args.push("--pin", `^${t.replace(/\./g, "\\.")}$=${type}`);
    if (body.metric) args.push("--metric", body.metric);
    const out = strategyJson(body.job, args);
    const { strategy, ...summary } = out;
    return { strategy, summary };
  }],
  ["POST", /^\/api\/strategy\/totals$/, (_m, _q, body) => {
    const s = body.strategy;
    let bytes = 0, params = 0;
    for (const t of Object.values(s.tensors)) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      t.bits = bpw[t.type];
      t.bytes = Math.round((t.bits * n) / 8);
      bytes += t.bytes; params += n;
    }
    const count = {};
    for (const t of Object.values(s.tensors)) count[t.type] = (count[t.type] ?? 0) + 1;
    s.totals = { ...s.totals, tensor_bytes: bytes, params, bpw: (8 * bytes) / params, file_bytes: bytes + (s.fixed_bytes ?? 0), count_per_type: count };
    return s;
  }],
  ["POST", /^\/api\/strategy\/save$/, (_m, _q, body) => { writeFileSync(body.path, JSON.stringify(body.strategy, null, 1)); return { path: body.path }; }],
  ["GET", /^\/api\/strategy$/, (_m, q) => JSON.parse(readFileSync(q.get("path"), "utf8"))],
  ["POST", /^\/api\/strategy\/recipe$/, (_m, _q, body) => ({ text: Object.entries(body.strategy.tensors).map(([n, t]) => `^${n}$=${t.type}`).join("\n") })],
  ["GET", /^\/api\/jobs\/(\d+)\/compare$/, (m) => {
    const show = cliJson("jobs", "show", m[1], "--db", db);
    return JSON.parse(readFileSync(join(show.params.out_dir, "compare.json"), "utf8"));
  }],
];

function events(res) {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  const sent = new Map();
  const tick = () => {
    let jobs = [];
    try { jobs = cliJson("jobs", "list", "--db", db); } catch { /* no database yet */ }
    for (const job of jobs) {
      const key = JSON.stringify(job);
      if (sent.get(job.id) === key) continue;
      sent.set(job.id, key);
      res.write(`event: job\ndata: ${key}\n\n`);
    }
  };
  tick();
  const timer = setInterval(tick, 500);
  res.on("close", () => clearInterval(timer));
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/api/events") return events(res);
  let body = "";
  for await (const chunk of req) body += chunk;
  const route = routes.find(([method, re]) => method === req.method && re.test(url.pathname));
  const send = (status, data) => { res.writeHead(status, { "Content-Type": "application/json" }); res.end(JSON.stringify(data)); };
  if (!route) return send(404, { error: { message: `no route ${req.method} ${url.pathname}` } });
  try {
    send(req.method === "POST" && url.pathname === "/api/jobs" ? 201 : 200, route[2](url.pathname.match(route[1]), url.searchParams, body ? JSON.parse(body) : {}));
  } catch (e) {
    send(e.status ?? 500, { error: { message: e.message ?? String(e.stderr ?? e), field: e.field } });
  }
});
server.listen(port, "127.0.0.1", () => console.log(`mock api: listening on http://127.0.0.1:${server.address().port}/ (db ${db}, root ${root})`));
