import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../core/config';
import { VmbotError } from '../core/errors';
import { formatZodIssues } from '../policy/loader';
import type { Backend } from './backend';
import { PowerShellBackend } from './powershell/backend';
import { DEFAULT_INVENTORY, InventorySchema, loadInventory, readInventoryText, SimulatedHyperV, type Inventory } from './simulator';

/** The configured backend: the simulator (embedded default) or PowerShell against real hosts. */
export async function openBackend(config: Config): Promise<Backend> {
  if (config.VMBOT_BACKEND === 'simulator') {
    return SimulatedHyperV.open({
      file: join(config.VMBOT_DATA_DIR, 'simulator.json'),
      inventory: config.VMBOT_SIM_INVENTORY ? readInventoryText(config.VMBOT_SIM_INVENTORY) : undefined,
      latencyMs: config.VMBOT_SIM_LATENCY_MS,
    });
  }
  return PowerShellBackend.open({
    hosts: config.VMBOT_HYPERV_HOSTS,
    modulePath: config.VMBOT_PS_MODULE_PATH,
    jeaEndpoint: config.VMBOT_JEA_ENDPOINT,
    pool: { size: config.VMBOT_PS_POOL_SIZE, executable: config.VMBOT_PS_EXECUTABLE, timeoutMs: config.VMBOT_PS_TIMEOUT_MS },
  });
}

/**
 * The VMs and their hosts, for reviews that must not change anything (`policy access`,
 * `policy diff`, `policy explain --inventory`). The simulator's state file is only read (the
 * serving bot owns it); PowerShell asks the configured hosts.
 */
export async function readInventory(config: Config): Promise<{ name: string; host: string }[]> {
  if (config.VMBOT_BACKEND === 'simulator') {
    const file = join(config.VMBOT_DATA_DIR, 'simulator.json');
    if (existsSync(file)) {
      const r = z.object({ vms: z.array(z.object({ name: z.string(), host: z.string() })) }).safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!r.success) throw new VmbotError('config', formatZodIssues(file, r.error).join('\n'));
      return r.data.vms.map(({ name, host }) => ({ name, host }));
    }
    return inventoryHosts(config.VMBOT_SIM_INVENTORY ? loadInventory(config.VMBOT_SIM_INVENTORY) : DEFAULT_INVENTORY);
  }
  const backend = await openBackend(config);
  try {
    return (await backend.list()).map(({ name, host }) => ({ name, host }));
  } finally {
    await backend.close();
  }
}

export const inventoryHosts = (inv: Inventory) => InventorySchema.parse(inv).vms.map(({ name, host }) => ({ name, host }));
