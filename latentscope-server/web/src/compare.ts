// The data of the compare pages: two layouts (`…/compare/umaps`, the right
// one aligned to the left by Procrustes), two clusterings
// (`…/compare/clusters`: ARI, NMI, the overlap table) and, for the map of
// the clusterings page, each row's cluster in both (from a scope made with
// each clustering: the API has no per-row route for a clustering alone).
import { dsUrl, enc, getJSON, type LabelInfo } from './api';
import { fetchTable } from './arrow';
import { loadScope, type ScopeData } from './map/data';
import type { Artifact, DatasetFull } from './setupApi';

export interface UmapPair {
  n: number;
  /** The left layout by row (x, y interleaved). */
  left: Float32Array;
  /** The right layout aligned to the left, by row. */
  right: Float32Array;
  /** How far each row moved (left units), by row. */
  moved: Float32Array;
  mean: number;
}

async function aligned(ds: string, left: string, right: string, signal?: AbortSignal) {
  const t = await fetchTable(`${dsUrl(ds)}/compare/umaps?left=${enc(left)}&right=${enc(right)}`, signal);
  const n = t.numRows;
  const idx = t.getChild('index')!.toArray() as Uint32Array;
  const xs = t.getChild('x')!.toArray() as Float32Array;
  const ys = t.getChild('y')!.toArray() as Float32Array;
  const d = t.getChild('displacement')!.toArray() as Float32Array;
  const xy = new Float32Array(2 * n);
  const moved = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = idx[i];
    xy[2 * r] = xs[i];
    xy[2 * r + 1] = ys[i];
    moved[r] = d[i];
  }
  return { n, xy, moved, mean: Number(t.schema.metadata?.get('mean_displacement') ?? NaN) };
}

/**
 * Both layouts by row. The left one is the route's answer for the left
 * layout aligned to itself (the identity: its own coordinates), as no
 * route serves a layout's points alone.
 */
export async function loadUmapPair(ds: string, left: string, right: string, signal?: AbortSignal): Promise<UmapPair> {
  const [a, b] = await Promise.all([aligned(ds, left, left, signal), aligned(ds, left, right, signal)]);
  if (a.n !== b.n) throw new Error(`${left} and ${right} do not have the same rows`);
  let mean = b.mean;
  if (!Number.isFinite(mean)) {
    mean = 0;
    for (let i = 0; i < b.n; i++) mean += b.moved[i];
    mean /= Math.max(1, b.n);
  }
  return { n: a.n, left: a.xy, right: b.xy, moved: b.moved, mean };
}

export interface ClusterComparison {
  ari: number;
  nmi: number;
  changed: number;
  rows: number;
  overlap: { left: number[]; right: number[]; counts: number[][] };
}

export const loadClusterComparison = (ds: string, left: string, right: string) =>
  getJSON<ClusterComparison>(`${dsUrl(ds)}/compare/clusters?left=${enc(left)}&right=${enc(right)}`);

/** A scope made with this clustering (the first, uncurated when there is one), or null. */
export function scopeOf(d: DatasetFull, cluster: string): Artifact | null {
  const scopes = d.artifacts
    .filter((a) => a.kind === 'scope' && a.state === 'finished' && a.record?.cluster_id === cluster)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return scopes[0] ?? null;
}

export interface RowClusters {
  scope: string;
  /** Each row's cluster (-1: not in the scope). */
  cluster: Int32Array;
  /** Each row's place in the scope's layout (x, y interleaved). */
  xy: Float32Array;
  labels: LabelInfo[];
  unclustered: number;
}

/** Each row's cluster (and place) from a scope's points. */
export async function rowClusters(ds: string, scope: string, rows: number): Promise<RowClusters> {
  const d: ScopeData = await loadScope(ds, scope).done;
  const cluster = new Int32Array(rows).fill(-1);
  const xy = new Float32Array(2 * rows);
  for (let i = 0; i < d.n; i++) {
    const r = d.idx[i];
    if (r >= rows || d.deleted[i]) continue;
    cluster[r] = d.cluster[i];
    xy[2 * r] = d.xy[2 * i];
    xy[2 * r + 1] = d.xy[2 * i + 1];
  }
  return { scope, cluster, xy, labels: d.json.labels, unclustered: d.unclustered };
}

/**
 * For each left cluster (by its place in `overlap.left`), the right cluster
 * that overlaps it most; rows elsewhere "changed" (as the route counts them).
 */
export function bestMatches(c: ClusterComparison): Map<number, number> {
  const out = new Map<number, number>();
  c.overlap.counts.forEach((row, i) => {
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    out.set(c.overlap.left[i], c.overlap.right[best]);
  });
  return out;
}

/** Rows whose right cluster is not the best match of their left cluster (a mask by row) and their count. */
export function changedRows(c: ClusterComparison, left: Int32Array, right: Int32Array): { mask: Uint8Array; count: number } {
  const best = bestMatches(c);
  const mask = new Uint8Array(left.length);
  let count = 0;
  for (let r = 0; r < left.length; r++) {
    if (left[r] < 0 || right[r] < 0) continue;
    if (best.get(left[r]) !== right[r]) {
      mask[r] = 1;
      count++;
    }
  }
  return { mask, count };
}
