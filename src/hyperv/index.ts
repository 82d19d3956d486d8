import { join } from 'node:path';
import type { Config } from '../core/config';
import type { Backend } from './backend';
import { PowerShellBackend } from './powershell/backend';
import { loadInventoryFile, SimulatedHyperV } from './simulator';

/** The configured backend: the simulator (embedded default) or PowerShell against real hosts. */
export async function openBackend(config: Config): Promise<Backend> {
  if (config.VMBOT_BACKEND === 'simulator') {
    return SimulatedHyperV.open({
      file: join(config.VMBOT_DATA_DIR, 'simulator.json'),
      inventory: config.VMBOT_SIM_INVENTORY ? loadInventoryFile(config.VMBOT_SIM_INVENTORY) : undefined,
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
