// Bundles livetrace/element into one self-contained ES module, dist/element.js: the custom
// element, livetrace/client, the shared reducer and eventsource-parser, with no imports left,
// so a page can load it with a single <script type="module">.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  build: {
    lib: {
      entry: fileURLToPath(new URL('../src/element/index.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'element.js',
    },
    outDir: fileURLToPath(new URL('../dist', import.meta.url)),
    emptyOutDir: false,
    target: 'es2022',
    minify: true,
    sourcemap: false,
    reportCompressedSize: true,
  },
  logLevel: 'warn',
});
