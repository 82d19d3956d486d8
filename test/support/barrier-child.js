// One contender of the lock race test (test/lock-race.test.ts). It loads every module of the
// built CLI once, then takes part in many rounds:
// - SIGUSR1 is a round's barrier (the parent signals every contender in one loop): open the app
//   on the shared data directory exactly as `vmbot` does (openApp: lock first) and report
//   whether it serves, or the message and the exit code the CLI gives that refusal;
// - the parent then has the one that serves do some work (`work`) and close it (`close`), or kills it;
// - SIGUSR2 is the last round's barrier: run the real CLI (`vmbot serve`) with real exit codes.
const { readFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const dist = join(__dirname, '..', '..', 'dist', 'src');
const cli = join(dist, 'cli.js');
for (const m of readFileSync(cli, 'utf8').matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) require(resolve(dirname(cli), m[1]));
const { openApp } = require(join(dist, 'app.js'));
const { loadConfig } = require(join(dist, 'core', 'config.js'));
const { exitCodeForError } = require(join(dist, 'core', 'errors.js'));

let app = null;
const onRound = async () => {
  try {
    app = await openApp(loadConfig());
    process.send({ t: 'serving' });
  } catch (e) {
    process.send({ t: 'refused', code: exitCodeForError(e), message: e instanceof Error ? e.message : String(e) });
  }
};
process.on('SIGUSR1', onRound);
process.on('message', async (m) => {
  if (m.t === 'work') {
    const statuses = [];
    for (const text of m.lines) statuses.push((await app.pipeline.handle({ principal: 'local:alice', text, channel: { kind: 'local', id: 'race' } })).status);
    process.send({ t: 'worked', statuses });
  } else if (m.t === 'close') {
    await app.close();
    app = null;
    process.send({ t: 'closed' });
  }
});
process.once('SIGUSR2', () => {
  process.off('SIGUSR1', onRound);
  process.disconnect();
  process.argv = [process.argv[0], cli, 'serve'];
  require(cli);
});
process.send({ t: 'ready' });
