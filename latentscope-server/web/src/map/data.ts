// One scope's points, in the server's LOD order, filled in as the Arrow
// stream arrives; the row → LOD position map; the LOD node table.
import type { Table } from '@uwdata/flechette';
import { readArrowStream } from '../arrow';
import { getJSON, pointsUrl, scopeJsonUrl, type LodNode, type ScopeJson } from '../api';

export class ScopeData {
  n: number;
  xy: Float32Array;
  idx: Uint32Array;
  cluster: Uint32Array;
  deleted: Uint8Array;
  colors: Uint8Array;
  /** ls_index → position in the LOD order (-1: not in the scope / not yet loaded). */
  rowToLod: Int32Array;
  nodes: LodNode[];
  loaded = 0;
  complete = false;
  unclustered: number;
  /** Called with (start, count) after each batch lands. */
  onBatch: ((start: number, count: number) => void)[] = [];
  onComplete: (() => void)[] = [];
  error: string | null = null;
  /** Per cluster bounding boxes [x0, y0, x1, y1] once complete. */
  private boxes: Float32Array | null = null;

  constructor(
    public ds: string,
    public id: string,
    public json: ScopeJson,
  ) {
    const n = json.rows;
    this.n = n;
    this.xy = new Float32Array(2 * n);
    this.idx = new Uint32Array(n);
    this.cluster = new Uint32Array(n);
    this.deleted = new Uint8Array(n);
    this.colors = new Uint8Array(4 * n);
    const len = Math.max(json.scope.dataset?.length ?? 0, n);
    this.rowToLod = new Int32Array(len).fill(-1);
    this.nodes = json.lod.nodes;
    const u = json.scope.cluster?.unclustered_cluster;
    this.unclustered =
      typeof u === 'number' ? u : (json.labels.find((l) => l.label === 'Unclustered')?.cluster ?? -1);
  }

  /** Appends one decoded record batch. */
  add(t: Table) {
    const count = t.numRows;
    const start = this.loaded;
    const room = Math.min(count, this.n - start);
    if (room <= 0) return;
    const col = (name: string) => t.getChild(name);
    const xs = col('x')!.toArray() as Float32Array;
    const ys = col('y')!.toArray() as Float32Array;
    const ids = col('ls_index')!.toArray() as Uint32Array;
    const cl = col('cluster')!.toArray() as Uint32Array;
    const del = col('deleted');
    const xy = this.xy;
    for (let i = 0; i < room; i++) {
      xy[2 * (start + i)] = xs[i];
      xy[2 * (start + i) + 1] = ys[i];
    }
    this.idx.set(ids.subarray(0, room), start);
    this.cluster.set(cl.subarray(0, room), start);
    if (del && del.nullCount === 0) {
      const dv = del.toArray() as ArrayLike<boolean>;
      for (let i = 0; i < room; i++) this.deleted[start + i] = dv[i] ? 1 : 0;
    }
    let r2l = this.rowToLod;
    for (let i = 0; i < room; i++) {
      const row = ids[i];
      if (row >= r2l.length) {
        const bigger = new Int32Array(Math.max(row + 1, r2l.length * 2)).fill(-1);
        bigger.set(r2l);
        r2l = this.rowToLod = bigger;
      }
      r2l[row] = start + i;
    }
    this.loaded = start + room;
    for (const f of this.onBatch) f(start, room);
  }

  finish() {
    this.complete = true;
    for (const f of this.onComplete) f();
  }

  /** Bounding box of a cluster's points ([x0, y0, x1, y1]), or null. */
  clusterBox(c: number): [number, number, number, number] | null {
    if (!this.complete) {
      // From the hull while loading.
      const l = this.json.labels[c];
      if (!l || !l.hull.length) return null;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const row of l.hull) {
        const j = this.rowToLod[row];
        if (j < 0) continue;
        const x = this.xy[2 * j], y = this.xy[2 * j + 1];
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
      return x0 <= x1 ? [x0, y0, x1, y1] : null;
    }
    if (!this.boxes) {
      const k = Math.max(this.json.labels.length, this.unclustered + 1, 1);
      const b = new Float32Array(4 * k);
      for (let i = 0; i < k; i++) b.set([Infinity, Infinity, -Infinity, -Infinity], 4 * i);
      const { xy, cluster, n } = this;
      for (let i = 0; i < n; i++) {
        const c = cluster[i];
        if (c >= k) continue;
        const x = xy[2 * i], y = xy[2 * i + 1], o = 4 * c;
        if (x < b[o]) b[o] = x;
        if (y < b[o + 1]) b[o + 1] = y;
        if (x > b[o + 2]) b[o + 2] = x;
        if (y > b[o + 3]) b[o + 3] = y;
      }
      this.boxes = b;
    }
    const o = 4 * c;
    if (o + 3 >= this.boxes.length || !(this.boxes[o] <= this.boxes[o + 2])) return null;
    return [this.boxes[o], this.boxes[o + 1], this.boxes[o + 2], this.boxes[o + 3]];
  }
}

export interface ScopeLoad {
  data: Promise<ScopeData>;
  done: Promise<ScopeData>;
  abort: () => void;
}

/**
 * Starts both requests of a scope at once (the scope JSON and the points
 * stream) and fills a ScopeData as batches arrive.
 */
export function loadScope(ds: string, scope: string): ScopeLoad {
  const ctl = new AbortController();
  const jsonP = getJSON<ScopeJson>(scopeJsonUrl(ds, scope), { signal: ctl.signal });
  const respP = fetch(pointsUrl(ds, scope), { signal: ctl.signal });
  const data = jsonP.then((json) => {
    performance.mark('ls:scope-json');
    // A static site's first load starts before site.json names the ids: the scope's own.
    return new ScopeData(ds || json.scope.dataset?.id || '', scope || json.scope.id, json);
  });
  const done = (async () => {
    const resp = await respP;
    if (!resp.ok) throw new Error(`points: ${resp.status}`);
    const early: Table[] = [];
    let sd: ScopeData | null = null;
    data.then((d) => {
      sd = d;
      for (const t of early) d.add(t);
      early.length = 0;
    }, () => {});
    await readArrowStream(
      resp,
      (t) => {
        if (sd) sd.add(t);
        else early.push(t);
      },
      ctl.signal,
    );
    const d = await data;
    for (const t of early) d.add(t);
    early.length = 0;
    d.finish();
    return d;
  })();
  done.catch(() => {});
  return { data, done, abort: () => ctl.abort() };
}
