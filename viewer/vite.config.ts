// Builds the viewer SPA into ../viewer-dist (served by `livetrace serve` at `/`).
// Hashed file names under assets/ let the server cache them forever; index.html is not cached.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  // Relative asset URLs: the viewer works wherever the server mounts it.
  base: './',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../viewer-dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    // `npx vite --config viewer/vite.config.ts` while `livetrace serve` runs on 7411.
    proxy: { '/v1': 'http://127.0.0.1:7411' },
  },
});
