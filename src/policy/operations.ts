/**
 * The closed set of operation names a policy may mention.
 *
 * Hyper-V (Windows Server 2008) defines 33 Authorization Manager operations that cannot be
 * created or changed; 2008 R2 added "Allow Virtual Machine Snapshot". Names are the exact AzMan
 * strings so a policy reads like the host's InitialStore.xml; they follow the Hyper-V Security
 * Guide's operation table.
 */
export const SERVICE_OPERATIONS = ['Read Service Configuration', 'Reconfigure Service'] as const;

export const NETWORK_OPERATIONS = [
  'Bind to External Ethernet Port',
  'Change VLAN Configuration on Port',
  'Connect Virtual Switch Port',
  'Create Internal Ethernet Port',
  'Create Virtual Switch',
  'Create Virtual Switch Port',
  'Delete Internal Ethernet Port',
  'Delete Virtual Switch',
  'Delete Virtual Switch Port',
  'Disconnect Virtual Switch Port',
  'Modify Internal Ethernet Port',
  'Modify Switch Port Settings',
  'Modify Switch Settings',
  'Unbind from External Ethernet Port',
  'View External Ethernet Ports',
  'View Internal Ethernet Ports',
  'View LAN Endpoints',
  'View Switch Ports',
  'View Switches',
  'View Virtual Switch Management Service',
  'View VLAN Settings',
] as const;

export const VM_OPERATIONS = [
  'Allow Input to Virtual Machine',
  'Allow Output from Virtual Machine',
  'Change Virtual Machine Authorization Scope',
  'Create Virtual Machine',
  'Delete Virtual Machine',
  'Pause and Restart Virtual Machine',
  'Reconfigure Virtual Machine',
  'Start Virtual Machine',
  'Stop Virtual Machine',
  'View Virtual Machine Configuration',
  'Allow Virtual Machine Snapshot', // 2008 R2 addition (OperationID 355)
] as const;

export const HYPERV_OPERATIONS = [...SERVICE_OPERATIONS, ...NETWORK_OPERATIONS, ...VM_OPERATIONS] as const;

/** Operations of the bot itself: they exist in no Hyper-V store. */
export const BOT_OPERATIONS = [
  'Request Virtual Machine',
  'Approve Virtual Machine Request',
  'Read Audit Log',
] as const;

export const ALL_OPERATIONS = [...HYPERV_OPERATIONS, ...BOT_OPERATIONS] as const;

export type HyperVOperation = (typeof HYPERV_OPERATIONS)[number];
export type Operation = (typeof ALL_OPERATIONS)[number];

/**
 * S 4.413: what a guest administrator may hold without a security analysis. Console access
 * needs both Allow Input and Allow Output.
 */
export const GUEST_ADMIN_PERMITTED: ReadonlySet<Operation> = new Set<Operation>([
  'Start Virtual Machine',
  'Stop Virtual Machine',
  'Allow Input to Virtual Machine',
  'Allow Output from Virtual Machine',
]);

const HYPERV_SET: ReadonlySet<string> = new Set(HYPERV_OPERATIONS);
export const isHyperVOperation = (op: string): op is HyperVOperation => HYPERV_SET.has(op);
