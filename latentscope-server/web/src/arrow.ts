// Arrow IPC: an incremental reader for the points stream (each record batch
// handed over as soon as its bytes have arrived) and a one-shot decoder.
import { tableFromIPC, type Table } from '@uwdata/flechette';

const u32 = (b: Uint8Array, o: number) =>
  (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const i32 = (b: Uint8Array, o: number) => u32(b, o) | 0;
const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);

/** The `bodyLength` of an IPC message's flatbuffer header (field 3 of `Message`). */
function bodyLength(head: Uint8Array): number {
  const table = u32(head, 0);
  const vtable = table - i32(head, table);
  const vlen = u16(head, vtable);
  const slot = 4 + 3 * 2;
  if (slot >= vlen) return 0;
  const off = u16(head, vtable + slot);
  if (!off) return 0;
  const at = table + off;
  return u32(head, at) + u32(head, at + 4) * 2 ** 32;
}

/** A queue of byte chunks read from the front. */
class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;
  push(c: Uint8Array) {
    if (c.byteLength) {
      this.chunks.push(c);
      this.length += c.byteLength;
    }
  }
  /** The first n bytes as a fresh, aligned buffer. */
  peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      if (o >= n) break;
      const take = Math.min(c.byteLength, n - o);
      out.set(take === c.byteLength ? c : c.subarray(0, take), o);
      o += take;
    }
    return out;
  }
  take(n: number): Uint8Array {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const c = this.chunks[0];
      if (c.byteLength <= left) {
        left -= c.byteLength;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.length -= n;
    return out;
  }
}

/**
 * Reads an Arrow IPC stream from a fetch response, calling `onBatch` with a
 * table of each record batch as soon as it has fully arrived.
 */
export async function readArrowStream(
  response: Response,
  onBatch: (t: Table) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (!response.body) throw new Error('no response body');
  const reader = response.body.getReader();
  const bytes = new Bytes();
  let schema: Uint8Array | null = null;
  let done = false;
  const onAbort = () => reader.cancel().catch(() => {});
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      // Consume every complete message.
      for (;;) {
        if (bytes.length < 8) break;
        const h = bytes.peek(8);
        let prefix = 4;
        let metaLen = i32(h, 0);
        if (metaLen === -1) {
          metaLen = i32(h, 4);
          prefix = 8;
        }
        if (metaLen === 0) {
          done = true;
          break;
        }
        if (bytes.length < prefix + metaLen) break;
        const head = bytes.peek(prefix + metaLen).subarray(prefix);
        const total = prefix + metaLen + bodyLength(head);
        if (bytes.length < total) break;
        const msg = bytes.take(total);
        if (!schema) {
          schema = msg;
          continue;
        }
        onBatch(tableFromIPC([schema, msg]));
      }
      if (done || signal?.aborted) break;
      const { value, done: end } = await reader.read();
      if (end) break;
      if (value) bytes.push(value);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A whole Arrow IPC stream (e.g. a column) as a table. */
export async function fetchTable(url: string, signal?: AbortSignal): Promise<Table> {
  const r = await fetch(url, { signal });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return tableFromIPC(new Uint8Array(await r.arrayBuffer()));
}
