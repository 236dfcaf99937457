#!/usr/bin/env node
import { main } from '../dist/index.js';

// A reader that went away (`edge-bci ... | head`) is not an error of ours: stop quietly, as Unix tools do.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`edge-bci: ${err?.stack ?? err}\n`);
    process.exitCode = 70;
  },
);
