import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const BACKEND = "http://127.0.0.1:8000";

// In production Django serves dist/index.html for every non-API route and the
// hashed assets under /static/. The dev server serves the app from the root so
// client-side routes such as /library work there too.
export default defineConfig(({ command }) => ({
  base: command === "build" ? "/static/" : "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": BACKEND,
      "/healthz": BACKEND,
      "/media": BACKEND,
      "/admin": BACKEND,
    },
  },
  test: {
    environment: "jsdom",
    environmentOptions: { jsdom: { url: "http://localhost:3000/" } },
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    unstubGlobals: true,
    pool: "threads",
    maxWorkers: 2,
    // Interaction tests take a few seconds on a loaded 2-core machine; 5 s (the default) is
    // too tight there, and a test that really hangs still fails.
    testTimeout: 20_000,
  },
}));
