import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './support/app';

/** Issue 8 item 7: the repository explains itself; nothing in it points at files outside it. */
test('no source, test, bench or doc file refers to the design brief or files outside the repository', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js|md|json|ya?ml)$/.test(name)) files.push(p);
    }
  };
  for (const d of ['src', 'commands', 'test', 'bench', 'docs', 'tools']) walk(join(REPO, d));
  files.push(join(REPO, 'README.md'));
  const outside = /\bDESIGN(\.md|\b(?!_))|\.\.\/shared\/|\/work\/(shared|coord)\b/;
  const self = relative(REPO, __filename);
  const hits = files.filter((f) => relative(REPO, f) !== self && outside.test(readFileSync(f, 'utf8'))).map((f) => relative(REPO, f));
  expect(hits).toEqual([]);
});
