// The server's read API (latentscope-server/src/routes): JSON shapes and fetch helpers.
// In a static site (`site.ts`) the same reads come from the site's files.
import type { Table } from '@uwdata/flechette';
import { fetchTable } from './arrow';
import { SITE, siteColumn, siteFile, siteRows } from './site';

export interface Version {
  version: string;
  read_only: boolean;
  features: string[];
  embedders: string[];
}

export interface ColumnMeta {
  type?: string;
  unique_values_count?: number;
  null_count?: number;
  data_type?: string;
}

export interface DatasetMeta {
  id: string;
  length: number;
  columns: string[];
  text_column: string;
  column_metadata?: Record<string, ColumnMeta>;
}

export interface ScopeSummary {
  id: string;
  label: string | null;
  description: string | null;
  rows: number | null;
  umap_id: string | null;
  cluster_id: string | null;
  thumbnail: string | null;
  explore: string;
}

export interface DatasetListing extends DatasetMeta {
  scopes: ScopeSummary[];
}

export interface DatasetDetail {
  meta: DatasetMeta;
  scopes: ScopeSummary[];
  /** Every run of the dataset (embeddings, umaps, clusterings, labels, scopes). */
  artifacts?: { kind: string; id: string; parents: string[]; state: string; name?: string | null; record?: Record<string, unknown> | null }[];
}

export interface LabelInfo {
  cluster: number;
  label: string;
  description: string;
  count: number;
  centroid: [number, number];
  /** Row indices (ls_index) of the cluster's convex hull. */
  hull: number[];
  /** Zoom levels (scale 2^z) from which (and until which) the label shows. */
  zoom: [number | null, number | null];
}

export interface LodNode {
  x0: number;
  y0: number;
  size: number;
  depth: number;
  start: number;
  count: number;
}

export interface ScopeJson {
  scope: {
    id: string;
    label: string;
    description: string;
    umap_id: string;
    cluster_id: string;
    dataset: DatasetMeta;
    cluster?: { unclustered_cluster?: number; n_clusters?: number };
    [k: string]: unknown;
  };
  labels_id: string;
  labels: LabelInfo[];
  rows: number;
  lod: { capacity: number; nodes: LodNode[] };
  points: string;
  cluster_id: string;
}

export type Row = Record<string, unknown> & { ls_index: number };

export class HttpError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJSON<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, init);
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try {
      const body = await r.json();
      if (body && body.error) msg = String(body.error);
    } catch {
      /* not JSON */
    }
    throw new HttpError(r.status, msg);
  }
  return (await r.json()) as T;
}

export const enc = encodeURIComponent;

export function scopeUrl(ds: string, scope: string): string {
  return `/api/datasets/${enc(ds)}/scopes/${enc(scope)}`;
}

/** The scope's JSON (in a static site: its file). */
export function scopeJsonUrl(ds: string, scope: string): string {
  return SITE ? siteFile('data/scope.json') : scopeUrl(ds, scope);
}

export function pointsUrl(ds: string, scope: string): string {
  return SITE ? siteFile('data/points.arrow') : `${scopeUrl(ds, scope)}/points`;
}

let versionPromise: Promise<Version> | null = null;
/** `/api/version`, fetched once: whether the server is read-only comes first. */
export function version(): Promise<Version> {
  if (!versionPromise) versionPromise = getJSON<Version>(SITE ? siteFile('data/version.json') : '/api/version');
  return versionPromise;
}

/** Rows by index, cached (hover card, detail panel). */
export class RowCache {
  private cache = new Map<number, Row>();
  private pending = new Map<number, Promise<Row>>();
  constructor(private ds: string) {}

  peek(index: number): Row | undefined {
    return this.cache.get(index);
  }

  get(index: number): Promise<Row> {
    const hit = this.cache.get(index);
    if (hit) return Promise.resolve(hit);
    const p = this.pending.get(index);
    if (p) return p;
    const q = (SITE ? siteRows([index]) : getJSON<Row[]>(`/api/datasets/${enc(this.ds)}/rows?indices=${index}`))
      .then((rows) => {
        const row = rows[0];
        if (this.cache.size > 2000) {
          const first = this.cache.keys().next().value;
          if (first !== undefined) this.cache.delete(first);
        }
        this.cache.set(index, row);
        return row;
      })
      .finally(() => this.pending.delete(index));
    this.pending.set(index, q);
    return q;
  }
}

/** A JSON request with a JSON body (writes and POST reads; same origin, so the server's Origin check passes). */
export function sendJSON<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  return getJSON<T>(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
}

export const dsUrl = (ds: string) => `/api/datasets/${enc(ds)}`;

/** One input column in row order, as Arrow (numbers f64, text dictionary-encoded). */
export function columnTable(ds: string, column: string, signal?: AbortSignal): Promise<Table> {
  return SITE ? siteColumn(column) : fetchTable(`${dsUrl(ds)}/columns/${enc(column)}`, signal);
}
export const tagUrl = (ds: string, t: string) => `${dsUrl(ds)}/tags/${enc(t)}`;

/** Rows by index with some columns (POST, up to 10,000 at a time). */
export async function fetchRows(ds: string, indices: ArrayLike<number>, columns?: string[], signal?: AbortSignal): Promise<Row[]> {
  if (SITE) return siteRows(indices, columns);
  const out: Row[] = [];
  for (let i = 0; i < indices.length; i += 10_000) {
    const part = Array.from((indices as Uint32Array).slice(i, i + 10_000));
    out.push(...(await sendJSON<Row[]>('POST', `${dsUrl(ds)}/rows`, columns ? { indices: part, columns } : { indices: part }, signal)));
  }
  return out;
}

export interface TagSummary {
  name: string;
  count: number;
}

export interface ExportBody {
  indices?: number[];
  tag?: string;
  format: 'parquet' | 'csv' | 'jsonl';
}

/** Saves what the export route answers as a file download; returns the file name. */
export async function exportRows(ds: string, scope: string, body: ExportBody): Promise<string> {
  const r = await fetch(`${scopeUrl(ds, scope)}/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try {
      const e = await r.json();
      if (e?.error) msg = String(e.error);
    } catch {
      /* not JSON */
    }
    throw new HttpError(r.status, msg);
  }
  const cd = r.headers.get('Content-Disposition') ?? '';
  const m = cd.match(/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i);
  const name = m ? decodeURIComponent(m[1]) : `${ds}-${scope}.${body.format}`;
  const blob = await r.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  return name;
}

export interface CurateBody {
  labels?: { cluster: number; label?: string; description?: string }[];
  moves?: { indices: number[]; cluster: number }[];
  deleted?: number[];
  restored?: number[];
  label?: string;
  description?: string;
}
export interface CurateResult {
  scope: string;
  labels: string | null;
}
