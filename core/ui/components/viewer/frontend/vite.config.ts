import { defineConfig } from "vite";

// Relative asset paths (Streamlit serves the bundle under /component/<name>/) and fixed file
// names, so that the committed dist/ changes only when its source does.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2020",
    rollupOptions: { output: { entryFileNames: "viewer.js", assetFileNames: "[name][extname]" } },
  },
});
