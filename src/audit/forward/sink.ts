import type { RecordHead } from '../record';

/** One record on its way to a collector. */
export interface ForwardItem {
  id: number;
  /** The record exactly as it is on disk (one JSON line, no newline): the SIEM copy can be chain-verified. */
  line: string;
  /** The line's length in UTF-8 bytes (known where it was read: framing need not measure it again). */
  bytes: number;
  head: RecordHead;
  /** False if the line failed the byte check (see chain.ts): it is forwarded, marked, never dropped. */
  verified: boolean;
}

/**
 * A collector. send() delivers in order and resolves once the batch is handed over; it rejects
 * when the connection failed, and the forwarder then resends from the last confirmed record.
 */
export interface Sink {
  /** Stable name: the cursor file and the metrics label. */
  readonly name: string;
  /** Where it sends (no secrets). */
  readonly target: string;
  send(items: ForwardItem[]): Promise<void>;
  /** Highest record id known to have reached the collector. */
  confirmed(): number;
  /** Close gracefully; after a clean close everything sent counts as confirmed. */
  close(): Promise<void>;
}
