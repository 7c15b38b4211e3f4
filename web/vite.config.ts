import { defineConfig } from "vitest/config";

// Preact through esbuild's automatic JSX runtime: no framework plugin needed.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // The page is served under a strict Content-Security-Policy
    // (script-src 'self'): no inline module-preload polyfill.
    modulePreload: { polyfill: false },
    target: "es2020",
  },
  server: {
    // `npm run dev` against a local loupe on :3000.
    proxy: { "/api": "http://localhost:3000" },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
