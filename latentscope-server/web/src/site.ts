// Static-site mode: the explorer as plain files (`latentscope export-site`,
// docs/site-format.md). The page's <head> sets `window.__LS_SITE__` (the
// site root, relative to the page); every read then comes from the files
// under it instead of `/api/…`: the answers the server gave when the site
// was written, plus what the browser computes from them (rows by index from
// the row chunks, substring search over the text chunks, column filters on
// the columns' Arrow files, "rows like this row" from the neighbour files).
import { tableFromIPC, type Table } from '@uwdata/flechette';
import type { DatasetDetail, Row } from './api';

declare global {
  interface Window {
    __LS_SITE__?: string;
  }
}

const raw = typeof window !== 'undefined' ? window.__LS_SITE__ : undefined;

/** The site root as an absolute URL ending in `/`, or null when a server answers `/api`. */
export const SITE: string | null =
  typeof raw === 'string' ? new URL(raw === '' || raw.endsWith('/') ? raw : `${raw}/`, location.href).href : null;

/** The address of a file of the site. */
export const siteFile = (path: string) => `${SITE}${path}`;

export interface SiteInfo {
  format: number;
  dataset: string;
  scope: string;
  rows: number;
  chunk_rows: number;
  neighbors_k: number;
  text_column: string;
  columns: { name: string; file: string }[];
  generated_by: string;
}

async function fileJSON<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(siteFile(path), { signal });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${r.statusText}`);
  return (await r.json()) as T;
}

async function fileBytes(path: string): Promise<ArrayBuffer> {
  const r = await fetch(siteFile(path));
  if (!r.ok) throw new Error(`${path}: ${r.status} ${r.statusText}`);
  return r.arrayBuffer();
}

let infoP: Promise<SiteInfo> | null = null;
/** `site.json`, fetched once (at boot, beside the scope and its points). */
export function siteInfo(): Promise<SiteInfo> {
  if (!infoP) infoP = fileJSON<SiteInfo>('site.json');
  return infoP;
}

/** The dataset's record, with only the site's own scope listed (no switching). */
export async function siteDataset(): Promise<DatasetDetail> {
  const [d, info] = await Promise.all([fileJSON<DatasetDetail>('data/dataset.json'), siteInfo()]);
  return { ...d, scopes: (d.scopes ?? []).filter((s) => s.id === info.scope) };
}

/** Keeps the `max` most recently used entries. */
class Lru<V> {
  private m = new Map<number, V>();
  constructor(private max: number) {}
  get(k: number): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  delete(k: number) {
    this.m.delete(k);
  }
  set(k: number, v: V) {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value as number);
  }
}

/** Runs `f` over `items` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await f(items[i++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- rows ---------------------------------------------------------------------

const rowChunks = new Lru<Promise<Row[]>>(48);
function rowChunk(n: number): Promise<Row[]> {
  let p = rowChunks.get(n);
  if (!p) {
    p = fileJSON<Row[]>(`data/rows/${n}.json`);
    p.catch(() => rowChunks.delete(n));
    rowChunks.set(n, p);
  }
  return p;
}

/** Rows by index (in the order asked), with some columns or all of them. */
export async function siteRows(indices: ArrayLike<number>, columns?: string[]): Promise<Row[]> {
  const info = await siteInfo();
  const size = info.chunk_rows;
  const chunks = new Set<number>();
  for (let i = 0; i < indices.length; i++) chunks.add(Math.floor(indices[i] / size));
  const got = new Map<number, Row[]>();
  await pool([...chunks], 6, async (n) => void got.set(n, await rowChunk(n)));
  const out: Row[] = [];
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    const row = got.get(Math.floor(r / size))?.[r % size];
    if (!row || row.ls_index !== r) throw new Error(`row ${r} is not in the site`);
    if (!columns) out.push(row);
    else {
      const o: Row = { ls_index: r };
      for (const c of columns) if (c in row) o[c] = row[c];
      out.push(o);
    }
  }
  return out;
}

// ---- substring search over the text chunks -----------------------------------

const textChunks = new Map<number, Promise<string[]>>();
function textChunk(n: number): Promise<string[]> {
  let p = textChunks.get(n);
  if (!p) {
    p = fileJSON<string[]>(`data/text/${n}.json`).then((a) => a.map((s) => (s ?? '').toLowerCase()));
    p.catch(() => textChunks.delete(n));
    textChunks.set(n, p);
  }
  return p;
}

/** Rows whose text contains `query` (case ignored), in row order: the first `limit` and how many in all. */
export async function siteSearchText(query: string, limit: number): Promise<{ indices: number[]; total: number }> {
  const info = await siteInfo();
  const size = info.chunk_rows;
  const chunks = Math.ceil(info.rows / size);
  const q = query.toLowerCase();
  const hits: number[][] = new Array(chunks);
  await pool(
    Array.from({ length: chunks }, (_, n) => n),
    8,
    async (n) => {
      const t = await textChunk(n);
      const h: number[] = [];
      for (let i = 0; i < t.length; i++) if (t[i].includes(q)) h.push(n * size + i);
      hits[n] = h;
    },
  );
  const all = hits.flat();
  return { indices: all.slice(0, limit), total: all.length };
}

// ---- columns ------------------------------------------------------------------

async function columnFile(name: string): Promise<string> {
  const c = (await siteInfo()).columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name} in the site`);
  return c.file;
}

const columnTables = new Map<string, Promise<Table>>();
/** One input column in row order (the `…/columns/{col}` answer). */
export function siteColumn(name: string): Promise<Table> {
  let p = columnTables.get(name);
  if (!p) {
    p = columnFile(name).then(async (f) => tableFromIPC(new Uint8Array(await fileBytes(`data/columns/${f}.arrow`))));
    p.catch(() => columnTables.delete(name));
    columnTables.set(name, p);
  }
  return p;
}

export interface ValueCount {
  value: string | number | boolean | null;
  count: number;
}
/** A column's most frequent values (the `…/columns/{col}/values?limit=1000` answer). */
export async function siteValues(name: string): Promise<ValueCount[]> {
  const r = await fileJSON<{ values: ValueCount[] }>(`data/columns/${await columnFile(name)}.values.json`);
  return r.values;
}

export interface ColumnFilter {
  column: string;
  op: string;
  value?: unknown;
}

const same = (a: unknown, b: unknown) => a === b || (a !== null && b !== null && a !== undefined && String(a) === String(b));

/** The rows passing every filter (eq, ne, in, is_null, gt, gte, lt, lte, between, contains), evaluated on the column files. */
export async function siteFilter(filters: ColumnFilter[]): Promise<Uint32Array> {
  const info = await siteInfo();
  const n = info.rows;
  const mask = new Uint8Array(n).fill(1);
  for (const f of filters) {
    const t = await siteColumn(f.column);
    const col = t.getChildAt(0)!;
    const v = f.value;
    const num = (x: unknown) => (typeof x === 'number' ? x : Number(x));
    let test: (x: unknown) => boolean;
    switch (f.op) {
      case 'eq':
        test = (x) => x !== null && same(x, v);
        break;
      case 'ne':
        test = (x) => x !== null && !same(x, v);
        break;
      case 'in':
        test = (x) => x !== null && Array.isArray(v) && v.some((w) => same(x, w));
        break;
      case 'is_null':
        test = (x) => x === null || x === undefined;
        break;
      case 'contains': {
        const q = String(v ?? '').toLowerCase();
        test = (x) => x !== null && String(x).toLowerCase().includes(q);
        break;
      }
      case 'gt':
        test = (x) => x !== null && num(x) > num(v);
        break;
      case 'gte':
        test = (x) => x !== null && num(x) >= num(v);
        break;
      case 'lt':
        test = (x) => x !== null && num(x) < num(v);
        break;
      case 'lte':
        test = (x) => x !== null && num(x) <= num(v);
        break;
      case 'between': {
        const [lo, hi] = Array.isArray(v) ? v.map(num) : [NaN, NaN];
        test = (x) => x !== null && num(x) >= lo && num(x) <= hi;
        break;
      }
      default:
        throw new Error(`filter ${f.op} is not available in a static site`);
    }
    // Dictionary columns: test each distinct value once.
    const batch = col.data[0] as unknown as { dictionary?: { length: number; at(i: number): unknown }; values: ArrayLike<number>; isValid(i: number): boolean };
    if (col.data.length === 1 && batch.dictionary) {
      const dict = batch.dictionary;
      const pass = new Uint8Array(dict.length);
      for (let k = 0; k < dict.length; k++) pass[k] = test(dict.at(k)) ? 1 : 0;
      const nullPass = test(null) ? 1 : 0;
      const keys = batch.values;
      const nulls = col.nullCount > 0;
      for (let i = 0; i < n; i++) if (mask[i]) mask[i] = nulls && !batch.isValid(i) ? nullPass : pass[keys[i]];
    } else {
      for (let i = 0; i < n; i++) if (mask[i]) mask[i] = test(col.at(i) ?? null) ? 1 : 0;
    }
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += mask[i];
  const out = new Uint32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (mask[i]) out[k++] = i;
  return out;
}

// ---- rows like this row (precomputed neighbours) ------------------------------

const nbChunks = new Map<number, Promise<{ idx: Uint32Array; dist: Float32Array }>>();
/** The row itself (distance 0), then its `neighbors_k` nearest rows, nearest first. */
export async function siteNeighbors(row: number): Promise<{ indices: number[]; distances: number[] }> {
  const info = await siteInfo();
  const k = info.neighbors_k;
  if (!k) throw new Error('this site has no neighbours: similarity search is not available');
  const n = Math.floor(row / info.chunk_rows);
  let p = nbChunks.get(n);
  if (!p) {
    p = Promise.all([fileBytes(`data/neighbors/${n}.bin`), fileBytes(`data/neighbors/${n}.dist.bin`)]).then(([a, b]) => {
      // Little-endian on disk, as every browser's typed arrays are.
      return { idx: new Uint32Array(a), dist: new Float32Array(b) };
    });
    p.catch(() => nbChunks.delete(n));
    nbChunks.set(n, p);
  }
  const { idx, dist } = await p;
  const o = (row % info.chunk_rows) * k;
  const indices = [row], distances = [0];
  // 0xFFFFFFFF pads a row with fewer than k neighbours (a tiny dataset).
  for (let i = o; i < o + k && i < idx.length; i++) {
    if (idx[i] === 0xffffffff || idx[i] === row) continue;
    indices.push(idx[i]);
    distances.push(dist[i]);
  }
  return { indices, distances };
}
