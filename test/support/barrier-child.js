// One contender of the lock race test (test/lock-race.test.ts). It loads every module the built
// CLI loads (so module loading is not what spreads the start times), tells the parent "ready"
// on fd 3, waits for SIGUSR1 (the barrier: the parent releases all contenders together), then
// runs the real CLI with its arguments, exactly as `node dist/src/cli.js <args>` would.
const { readFileSync, writeSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const cli = join(__dirname, '..', '..', 'dist', 'src', 'cli.js');
for (const m of readFileSync(cli, 'utf8').matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) require(resolve(dirname(cli), m[1]));
require('better-sqlite3');

const keepAlive = setInterval(() => undefined, 60_000);
process.once('SIGUSR1', () => {
  clearInterval(keepAlive);
  process.argv = [process.argv[0], cli, ...process.argv.slice(2)];
  require(cli);
});
writeSync(3, 'ready\n');
