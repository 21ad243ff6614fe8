// The bundle is committed in ui/dist and embedded in the binary by rust-embed, so `cargo build`
// needs no Node.js. Output names carry no content hash and no build-time values, so the same
// sources always give byte-identical files: CI rebuilds and fails on any difference.
import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API to a running agent (PGMON_DEV_URL, default the sample config's bind).
const agent = process.env.PGMON_DEV_URL ?? "http://127.0.0.1:8181";

export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
  server: {
    proxy: {
      "/api": agent,
      "/healthz": agent,
      "/metrics": agent,
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    setupFiles: ["src/setup-tests.ts"],
  },
});
