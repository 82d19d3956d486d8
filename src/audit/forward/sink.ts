import type { RecordHead } from '../record';

/** One record on its way to a collector. */
export interface ForwardItem {
  id: number;
  /**
   * The record exactly as it is on disk: its line's bytes, no newline (the SIEM copy can be
   * chain-verified). Bytes, not text: a sink copies them into its message without encoding again.
   */
  line: Buffer;
  head: RecordHead;
  /** False if the line failed the byte check (see chain.ts): it is forwarded, marked, never dropped. */
  verified: boolean;
}

/**
 * A collector. Sending is split in two so that the forwarder can do the work on the writer's
 * thread in slices small enough to delay no append (see Forwarder.besideWriter()) and still
 * hand the collector a whole batch at once: encode() turns a slice of records into the bytes
 * (or whatever the sink sends) for the wire; deliver() sends the encoded slices, in order, in
 * one go, resolves once they are handed over and rejects when the connection failed (the
 * forwarder then resends from the last confirmed record).
 */
export interface Sink<Part = unknown> {
  /** Stable name: the cursor file and the metrics label. */
  readonly name: string;
  /** Where it sends (no secrets). */
  readonly target: string;
  /** At most this many records in one delivery, where the collector limits a request's size. */
  readonly maxBatch?: number;
  encode(items: ForwardItem[]): Part;
  /** `lastId`: the last record the parts hold. */
  deliver(parts: Part[], lastId: number): Promise<void>;
  /** Highest record id known to have reached the collector. */
  confirmed(): number;
  /** Close gracefully; after a clean close everything sent counts as confirmed. */
  close(): Promise<void>;
}
