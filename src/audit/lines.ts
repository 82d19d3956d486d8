import { open } from 'node:fs/promises';

/** Where one line of a segment stands: its bytes are buf[start, end) (no newline). */
export interface LineAt {
  buf: Buffer;
  start: number;
  end: number;
  /** 1-based line number in the file. */
  line: number;
  /** Byte offset of the line's first byte in the file; the next line starts at offset + (end - start) + 1. */
  offset: number;
}

export interface ScanOptions {
  /** Start reading here (a line start); line numbers then count from `firstLine`. */
  fromOffset?: number;
  firstLine?: number;
  /** Stop before this byte offset (e.g. the writer's durable end); default: end of file. */
  toOffset?: number;
  /** Bytes read so far in this file (for progress). */
  onBytes?: (n: number) => void;
}

const CHUNK = 1 << 20;
const NL = 0x0a;

/**
 * Read a file's complete lines in large chunks, without copying them into strings: the caller
 * hashes the bytes as they are on disk and decodes only what it needs. A last line without its
 * newline (a write cut off, or still being written) is passed with `torn: true` only if asked
 * for, so readers behind a live writer never see half a record. Empty lines are skipped (but
 * counted). Return false from `each` to stop.
 */
export async function scanLines(
  file: string,
  each: (l: LineAt) => boolean | void,
  opts: ScanOptions & { onTorn?: (l: LineAt) => void } = {},
): Promise<{ endOffset: number; lines: number; stopped: boolean }> {
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(CHUNK);
    let filled = 0; // bytes of buf holding data not yet consumed
    let pos = opts.fromOffset ?? 0; // file offset of buf[0]
    let line = (opts.firstLine ?? 1) - 1;
    const limit = opts.toOffset ?? Infinity;
    for (;;) {
      if (filled === buf.length) {
        // One line longer than the buffer: grow (rare; records are a few hundred bytes).
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const want = Math.min(buf.length - filled, limit - (pos + filled));
      const { bytesRead } = want > 0 ? await fh.read(buf, filled, want, pos + filled) : { bytesRead: 0 };
      opts.onBytes?.(bytesRead);
      const avail = filled + bytesRead;
      let start = 0;
      for (let nl = buf.indexOf(NL, 0); nl !== -1 && nl < avail; nl = buf.indexOf(NL, start)) {
        line++;
        if (nl > start && each({ buf, start, end: nl, line, offset: pos + start }) === false)
          return { endOffset: pos + nl + 1, lines: line, stopped: true };
        start = nl + 1;
      }
      if (bytesRead === 0) {
        if (avail > start) opts.onTorn?.({ buf, start, end: avail, line: line + 1, offset: pos + start });
        return { endOffset: pos + start, lines: line, stopped: false };
      }
      buf.copy(buf, 0, start, avail);
      pos += start;
      filled = avail - start;
    }
  } finally {
    await fh.close();
  }
}
