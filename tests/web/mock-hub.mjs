// A stand-in for the Hugging Face Hub, for the browser test's download (the real Hub cannot be
// reached here): one repo served the way huggingface.co serves it (listing with blob ids and LFS
// sha256, resolve URLs, LFS files by redirect to a second host name), behind a token. It sends the
// weights in slices so the page shows progress. tests/hub/mock_hub.h is the C++ tests' twin.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const COMMIT = "0123456789abcdef0123456789abcdef01234567";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
// Git's blob id: what the Hub gives a small file as its ETag.
const gitBlobId = (bytes) => createHash("sha1").update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes])).digest("hex");

export function startMockHub({ repoId, modelDir, token }) {
  const files = ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"].map((path) => {
    const bytes = readFileSync(join(modelDir, path));
    return { path, bytes, lfs: path.endsWith(".safetensors") };
  });
  const seenTokens = [];  // [host, authorization] of every request
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    seenTokens.push([req.headers.host, req.headers.authorization ?? ""]);
    const fail = (status, code) => { res.writeHead(status, { "X-Error-Code": code }); res.end(code); };
    if (url.pathname.startsWith("/cdn/")) {
      const file = files.find((f) => f.lfs && sha256(f.bytes) === url.pathname.slice(5));
      return file ? sendSlowly(req, res, file.bytes) : fail(404, "EntryNotFound");
    }
    if (req.headers.authorization !== `Bearer ${token}`) return fail(401, "RepoNotFound");
    const listing = url.pathname.match(/^\/api\/models\/(.+)\/revision\/([^/]+)$/);
    if (listing) {
      if (listing[1] !== repoId) return fail(404, "RepoNotFound");
      const siblings = files.map((f) => ({ rfilename: f.path, size: f.bytes.length, blobId: gitBlobId(f.bytes),
        ...(f.lfs ? { lfs: { sha256: sha256(f.bytes), size: f.bytes.length, pointerSize: 134 } } : {}) }));
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify({ id: repoId, sha: COMMIT, siblings }));
    }
    const resolve = url.pathname.match(/^\/(.+)\/resolve\/([^/]+)\/(.+)$/);
    const file = resolve && resolve[1] === repoId && files.find((f) => f.path === resolve[3]);
    if (!file) return fail(404, "EntryNotFound");
    if (file.lfs) {
      const sha = sha256(file.bytes);
      res.writeHead(302, { Location: `http://localhost:${server.address().port}/cdn/${sha}`, "X-Repo-Commit": COMMIT,
        "X-Linked-Etag": `"${sha}"`, "X-Linked-Size": String(file.bytes.length) });
      return res.end();
    }
    res.writeHead(200, { ETag: `"${gitBlobId(file.bytes)}"`, "X-Repo-Commit": COMMIT, "Content-Length": file.bytes.length });
    res.end(file.bytes);
  });
  return new Promise((ready) => server.listen(0, "127.0.0.1", () => ready({
    endpoint: `http://127.0.0.1:${server.address().port}`,
    seenTokens,
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
  })));
}

// The bytes from the Range's start, 1 MiB every 50 ms.
function sendSlowly(req, res, bytes) {
  const range = (req.headers.range ?? "").match(/^bytes=(\d+)-$/);
  const start = range ? Number(range[1]) : 0;
  res.writeHead(range ? 206 : 200, { "Content-Length": bytes.length - start,
    ...(range ? { "Content-Range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}) });
  let at = start;
  const next = () => {
    if (at >= bytes.length || res.destroyed) return res.end();
    const end = Math.min(bytes.length, at + (1 << 20));
    res.write(bytes.subarray(at, end));
    at = end;
    setTimeout(next, 50);
  };
  next();
}
