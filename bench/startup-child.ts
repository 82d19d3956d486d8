/**
 * One cold start-up, in a process of its own (bench/startup.ts spawns it): load vmbot's modules,
 * then openApp with the policy, inventory and data directory given, and print one JSON line with
 * the phase figures. A fresh process, so nothing is warm: no JIT, no module cache, no file cache
 * beyond the operating system's, as when a platform admin (re)starts the bot.
 *
 *   node dist/bench/startup-child.js <policy> <inventory|-> <dataDir>
 */
export async function child(policy: string, inventory: string, dataDir: string): Promise<Record<string, unknown>> {
  // performance.now() counts from the process's time origin: Node's own boot is included.
  const processStart = performance.now();
  let t = performance.now();
  const { openApp } = await import('../src/app');
  const { loadConfig } = await import('../src/core/config');
  const modulesMs = performance.now() - t;
  // '-': no inventory, the simulator's small fixture estate (the VMs live in Hyper-V, not in the bot).
  const config = loadConfig({ VMBOT_POLICY: policy, VMBOT_DATA_DIR: dataDir, ...(inventory === '-' ? {} : { VMBOT_SIM_INVENTORY: inventory }), VMBOT_SIM_LATENCY_MS: '0' });
  const phases: Record<string, number> = {};
  t = performance.now();
  const app = await openApp(config, { onPhase: (p, ms) => void (phases[p] = ms) });
  const openAppMs = performance.now() - t;
  const readyMs = performance.now();
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  await app.close();
  return { bootMs: processStart, modulesMs, openAppMs, phases, readyMs, rssMiB, heapMiB };
}

if (require.main === module) {
  const [policy, inventory, dataDir] = process.argv.slice(2);
  void child(policy!, inventory!, dataDir!).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
