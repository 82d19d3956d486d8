#!/usr/bin/env node
// `npm start`: run the built CLI, rebuilding first only when the build is missing or older than
// a source file (src/, commands/, policies/*.json used at run time, tsconfig*, package.json).
// A current build starts in well under a second instead of paying for a full tsc run.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'dist', 'src', 'cli.js');

/** Newest mtime under a directory, for the files `keep` accepts. */
function newest(dir, keep) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, newest(p, keep));
    else if (keep(e.name)) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

function stale() {
  if (!existsSync(entry)) return 'no build yet';
  // tsc rewrites every output on each build, so the entry's time is the build's time.
  const sources = Math.max(
    newest(join(root, 'src'), (n) => n.endsWith('.ts')),
    newest(join(root, 'commands'), (n) => n.endsWith('.ts')),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(join(root, f)).mtimeMs),
  );
  return sources > statSync(entry).mtimeMs ? 'sources changed since the last build' : null;
}

const why = stale();
if (why) {
  process.stderr.write(`Building (${why})…\n`);
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
}
// The CLI reads process.argv itself; run it in this process (no second node start-up).
process.argv = [process.argv[0], entry, ...process.argv.slice(2)];
require(entry);
