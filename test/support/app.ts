import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp, type App, type AppOptions } from '../../src/app';
import { loadConfig, type Config } from '../../src/core/config';
import type { Delivery, Notice, Reply } from '../../src/core/types';

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

/**
 * An `open` for a test file: every app it opens is closed, and its data removed, after each
 * test. `beforeClose` runs first (e.g. jest.useRealTimers, so closing is not held by fake timers).
 * `open.forget(app)` stops tracking an app a test closed or abandoned itself (a simulated crash).
 */
export function appsClosedAfterEach(beforeClose?: () => void) {
  const apps: TestApp[] = [];
  afterEach(async () => {
    beforeClose?.();
    for (const a of apps.splice(0)) await a.cleanup();
  });
  const open = async (overrides: Record<string, string> = {}, opts: AppOptions = {}): Promise<TestApp> => {
    const app = await openTestApp(overrides, opts);
    apps.push(app);
    return app;
  };
  return Object.assign(open, { forget: (app: TestApp) => void apps.splice(apps.indexOf(app), 1) });
}

/** Every notice the app sends to someone other than the caller, as it is sent. */
export function collectNotices(app: TestApp): Notice[] {
  const got: Notice[] = [];
  app.services.notices.subscribe((n) => void got.push(n));
  return got;
}
