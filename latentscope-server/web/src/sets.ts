// The sets of rows the explorer works with: the filters (cluster and tag on
// the client, column values and ranges by the server's /filter), the search
// (similarity or substring) and the selection, combined into the focus.
import { effect } from '@preact/signals';
import { tableFromIPC } from '@uwdata/flechette';
import { fetchTable } from './arrow';
import { dsUrl, getJSON, scopeUrl, sendJSON, tagUrl } from './api';
import { SITE, siteFilter, siteNeighbors, siteSearchText } from './site';
import * as S from './store';

/** Indices of an Arrow `index` column, from a URL (GET) or a POST body. */
async function arrowIndices(url: string, body?: unknown): Promise<Uint32Array> {
  let t;
  if (body === undefined) t = await fetchTable(url);
  else {
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) {
      let msg = `${r.status}`;
      try {
        msg = (await r.json()).error ?? msg;
      } catch {
        /* not JSON */
      }
      throw new Error(msg);
    }
    t = tableFromIPC(new Uint8Array(await r.arrayBuffer()));
  }
  const col = t.getChildAt(0);
  if (!col) return new Uint32Array(0);
  return Uint32Array.from(col.toArray() as ArrayLike<number>);
}

function maskOf(rows: ArrayLike<number>, n: number): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < rows.length; i++) if (rows[i] < n) m[rows[i]] = 1;
  return m;
}

export function filterText(f: S.Filter): string {
  switch (f.kind) {
    case 'cluster': {
      const l = S.labels.value[f.cluster];
      return `cluster: ${l?.label || f.cluster}`;
    }
    case 'tag':
      return `tag: ${f.tag}`;
    case 'value':
      return `${f.column} = ${f.value === null ? '(empty)' : String(f.value)}`;
    case 'range':
      return f.min !== null && f.max !== null
        ? `${f.min} ≤ ${f.column} ≤ ${f.max}`
        : f.min !== null
          ? `${f.column} ≥ ${f.min}`
          : `${f.column} ≤ ${f.max}`;
  }
}

export function sameFilter(a: S.Filter, b: S.Filter): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function addFilter(f: S.Filter) {
  if (S.filters.value.some((g) => sameFilter(f, g))) return;
  S.filters.value = [...S.filters.value, f];
}

export function removeFilter(f: S.Filter) {
  S.filters.value = S.filters.value.filter((g) => !sameFilter(f, g));
}

export async function refreshTags(ds: string) {
  // A static site has no tags.
  if (SITE) return;
  try {
    S.tags.value = await getJSON<Record<string, number>>(`${dsUrl(ds)}/tags`);
  } catch {
    /* keeps the last */
  }
}

/** Starts the effects that keep the sets current for one dataset; returns a stop function. */
export function startSets(ds: string, scope: () => string): () => void {
  const tagCache = new Map<string, Promise<Uint32Array>>();
  const stops: (() => void)[] = [];
  let tagGen = 0;
  stops.push(
    effect(() => {
      // A tag changed: its cached rows are stale.
      S.tags.value;
      tagCache.clear();
      tagGen++;
    }),
  );

  // ---- filters -----------------------------------------------------------------
  let filterToken = 0;
  stops.push(
    effect(() => {
      const fs = S.filters.value;
      // Cluster masks change with the scope and with the edits.
      S.complete.value;
      S.edits.value;
      S.tags.value;
      const token = ++filterToken;
      if (!fs.length) {
        S.filterMask.value = null;
        S.filterBusy.value = false;
        return;
      }
      S.filterBusy.value = true;
      (async () => {
        const n = S.lookups.rowCount();
        if (!n) return null;
        const parts: Uint8Array[] = [];
        const server = fs
          .filter((f) => f.kind === 'value' || f.kind === 'range')
          .map((f) => {
            if (f.kind === 'value') return f.value === null ? { column: f.column, op: 'is_null' } : { column: f.column, op: 'eq', value: f.value };
            const r = f as Extract<S.Filter, { kind: 'range' }>;
            if (r.min !== null && r.max !== null) return { column: r.column, op: 'between', value: [r.min, r.max] };
            if (r.min !== null) return { column: r.column, op: 'gte', value: r.min };
            return { column: r.column, op: 'lte', value: r.max };
          });
        const tasks: Promise<void>[] = [];
        if (server.length)
          tasks.push(
            (SITE ? siteFilter(server) : arrowIndices(`${dsUrl(ds)}/filter`, { filters: server })).then((ix) => void parts.push(maskOf(ix, n))),
          );
        for (const f of fs) {
          if (f.kind === 'tag') {
            let p = tagCache.get(f.tag);
            if (!p) {
              p = arrowIndices(tagUrl(ds, f.tag));
              tagCache.set(f.tag, p);
              const g = tagGen;
              p.catch(() => g === tagGen && tagCache.delete(f.tag));
            }
            tasks.push(p.then((ix) => void parts.push(maskOf(ix, n))));
          } else if (f.kind === 'cluster') {
            const m = S.lookups.clusterMask(f.cluster);
            if (m) parts.push(m);
          }
        }
        await Promise.all(tasks);
        const mask = new Uint8Array(n).fill(1);
        for (const p of parts) for (let i = 0; i < n; i++) mask[i] &= p[i];
        let count = 0;
        for (let i = 0; i < n; i++) count += mask[i];
        return { mask, count };
      })().then(
        (r) => {
          if (token !== filterToken) return;
          S.filterMask.value = r;
          S.filterBusy.value = false;
        },
        (e) => {
          if (token !== filterToken) return;
          S.filterBusy.value = false;
          S.errorText.value = `filter: ${(e as Error).message ?? e}`;
        },
      );
    }),
  );

  // ---- search ------------------------------------------------------------------
  let searchToken = 0;
  stops.push(
    effect(() => {
      const q = S.search.value;
      const token = ++searchToken;
      if (!q || !q.query.trim()) {
        S.searchResult.value = null;
        S.searchBusy.value = false;
        return;
      }
      S.searchBusy.value = true;
      const nn = (r: { indices: number[]; distances: number[]; took_ms?: number }) => ({
        indices: Uint32Array.from(r.indices),
        distances: Float32Array.from(r.distances),
        total: r.indices.length,
        tookMs: r.took_ms ?? null,
      });
      const text = (r: { indices: number[]; total: number }) => ({ indices: Uint32Array.from(r.indices), distances: null, total: r.total, tookMs: null });
      const row = Number(q.query);
      const p: Promise<S.SearchResult> =
        q.mode === 'row'
          ? !Number.isInteger(row) || row < 0
            ? Promise.reject(new Error(`no row ${q.query}`))
            : SITE
              ? siteNeighbors(row).then(nn)
              : getJSON<{ indices: number[]; distances: number[]; took_ms: number }>(
                  `${dsUrl(ds)}/search/nn?scope=${encodeURIComponent(scope())}&row=${row}&k=100`,
                ).then(nn)
          : q.mode === 'nn'
            ? SITE
              ? Promise.reject(new Error('search by meaning needs the server (this is a static site): try “text contains”'))
              : getJSON<{ indices: number[]; distances: number[]; took_ms: number }>(
                  `${dsUrl(ds)}/search/nn?scope=${encodeURIComponent(scope())}&query=${encodeURIComponent(q.query)}&k=100`,
                ).then(nn)
            : SITE
              ? siteSearchText(q.query, 100000).then(text)
              : getJSON<{ indices: number[]; total: number }>(
                  `${dsUrl(ds)}/search/text?query=${encodeURIComponent(q.query)}&limit=100000`,
                ).then(text);
      p.then(
        (r) => {
          if (token !== searchToken) return;
          S.searchResult.value = r;
          S.searchBusy.value = false;
        },
        (e) => {
          if (token !== searchToken) return;
          S.searchBusy.value = false;
          S.searchResult.value = null;
          S.errorText.value = `search: ${(e as Error).message ?? e}`;
        },
      );
    }),
  );

  // ---- the focus -----------------------------------------------------------------
  stops.push(
    effect(() => {
      const sel = S.selection.value;
      const sr = S.searchResult.value;
      const fm = S.filterMask.value;
      // Deleted rows change with the scope and the edits.
      S.complete.value;
      S.edits.value;
      const n = S.lookups.rowCount();
      if ((!sel && !sr && !fm) || !n) {
        S.focus.value = null;
        return;
      }
      const sources: string[] = [];
      let mask: Uint8Array;
      if (fm) {
        mask = fm.mask.slice();
        sources.push('filter');
      } else mask = new Uint8Array(n).fill(1);
      if (sel) {
        const m = maskOf(sel, n);
        for (let i = 0; i < n; i++) mask[i] &= m[i];
        sources.push('selection');
      }
      const live = S.lookups.liveMask();
      if (live) for (let i = 0; i < n; i++) mask[i] &= live[i];
      let rows: Uint32Array;
      let distances: Float32Array | null = null;
      if (sr) {
        sources.push('search');
        const m = maskOf(sr.indices, n);
        for (let i = 0; i < n; i++) mask[i] &= m[i];
        // In rank order.
        const keep: number[] = [];
        const dist: number[] = [];
        for (let k = 0; k < sr.indices.length; k++) {
          const r = sr.indices[k];
          if (r < n && mask[r]) {
            keep.push(r);
            if (sr.distances) dist.push(sr.distances[k]);
          }
        }
        rows = Uint32Array.from(keep);
        if (sr.distances) distances = Float32Array.from(dist);
      } else {
        let count = 0;
        for (let i = 0; i < n; i++) count += mask[i];
        rows = new Uint32Array(count);
        for (let i = 0, k = 0; i < n; i++) if (mask[i]) rows[k++] = i;
      }
      S.focus.value = { mask, rows, distances, sources };
    }),
  );
  refreshTags(ds);
  return () => stops.forEach((s) => s());
}

/** The scope's export address (GET, for a tag). */
export const exportUrl = (ds: string, scope: string, format: string, tag?: string) =>
  `${scopeUrl(ds, scope)}/export?format=${format}${tag ? `&tag=${encodeURIComponent(tag)}` : ''}`;

export { sendJSON };
