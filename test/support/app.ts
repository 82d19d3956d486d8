import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp, type App, type AppOptions } from '../../src/app';
import { loadConfig, type Config } from '../../src/core/config';
import type { Delivery, Reply } from '../../src/core/types';

export const REPO = join(__dirname, '..', '..');
export const EXAMPLE_POLICY = join(REPO, 'policies', 'example.yaml');

export function tempDir(prefix = 'vmbot-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Config for a test: example policy, simulator without latency, a fresh data dir. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ VMBOT_DATA_DIR: tempDir(), VMBOT_POLICY: EXAMPLE_POLICY, VMBOT_SIM_LATENCY_MS: '0', ...overrides });
}

export interface TestApp extends App {
  /** Send one chat line as `local:<user>`; collects progress messages too. */
  say(user: string, text: string, delivery?: Delivery): Promise<Reply & { progress: string[] }>;
  cleanup(): Promise<void>;
}

export async function openTestApp(overrides: Record<string, string> = {}, opts: AppOptions = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const app = await openApp(config, opts);
  return Object.assign(app, {
    async say(user: string, text: string, delivery: Delivery = {}) {
      const progress: string[] = [];
      const reply = await app.pipeline.handle(
        { principal: user.includes(':') ? user : `local:${user}`, text, channel: { kind: 'local', id: 'test' } },
        { ...delivery, progress: (r: Reply) => void progress.push(r.text) },
      );
      return { ...reply, progress };
    },
    async cleanup() {
      await app.close();
      rmSync(config.VMBOT_DATA_DIR, { recursive: true, force: true });
    },
  });
}
