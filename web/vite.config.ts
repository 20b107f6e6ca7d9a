// Builds the UI into dist/ (index.html + dist/assets/<name>-<hash>.js|css), which the server
// embeds at build time. `npm run dev` proxies /api to a running `quantscope serve` (or the mock).
import { defineConfig } from "vite";

const api = process.env.QUANTSCOPE_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  build: { outDir: "dist", assetsDir: "assets", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": { target: api, changeOrigin: false } } },
});
