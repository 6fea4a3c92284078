#!/usr/bin/env node
// The `livetrace` command: a thin wrapper; everything lives in dist/cli/main.js.
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`livetrace: ${err?.code ?? 'LT_ERR_INTERNAL'}: ${err?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
