// Addresses: `/` (datasets) and `/datasets/{ds}/explore/{scope}`; the view
// (centre, zoom) and selection live in the hash so a link reopens them.
import type { View } from './map/viewport';
import type { Filter, Search, Shape } from './store';

export interface ExploreRoute {
  ds: string;
  scope: string;
}

export function parseRoute(path = location.pathname): ExploreRoute | null {
  const m = path.match(/^\/datasets\/([^/]+)\/explore\/([^/]+)\/?$/);
  if (!m) return null;
  return { ds: decodeURIComponent(m[1]), scope: decodeURIComponent(m[2]) };
}

export function explorePath(ds: string, scope: string) {
  return `/datasets/${encodeURIComponent(ds)}/explore/${encodeURIComponent(scope)}`;
}

export interface HashState {
  view: View | null;
  cluster: number | null;
  row: number | null;
  color: string | null;
  filters: Filter[];
  search: Search | null;
  shapes: Shape[];
}

/** Shapes as text: `b:x0,y0,x1,y1;l:x,y,x,y,…` (data coordinates, 6 decimals). */
function shapesText(shapes: Shape[]): string {
  return shapes.map((s) => `${s.kind === 'box' ? 'b' : 'l'}:${s.pts.map((v) => +v.toFixed(6)).join(',')}`).join(';');
}

function parseShapes(t: string | null): Shape[] {
  if (!t) return [];
  const out: Shape[] = [];
  for (const part of t.split(';')) {
    const m = part.match(/^([bl]):(.*)$/);
    if (!m) continue;
    const pts = m[2].split(',').map(Number);
    if (pts.some((v) => !Number.isFinite(v)) || pts.length % 2 || (m[1] === 'b' ? pts.length !== 4 : pts.length < 6)) continue;
    out.push({ kind: m[1] === 'b' ? 'box' : 'lasso', pts });
  }
  return out;
}

function parseFilters(t: string | null): Filter[] {
  if (!t) return [];
  try {
    const v = JSON.parse(t);
    return Array.isArray(v) ? v.filter((f) => f && typeof f === 'object' && ['cluster', 'tag', 'value', 'range'].includes(f.kind)) : [];
  } catch {
    return [];
  }
}

export function readHash(hash = location.hash): HashState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const num = (k: string) => {
    const v = p.get(k);
    if (v === null || v === '') return null;
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  };
  const x = num('x'), y = num('y'), k = num('k');
  return {
    view: x !== null && y !== null && k !== null && k > 0 ? { x, y, k } : null,
    cluster: num('cluster'),
    row: num('row'),
    color: p.get('color'),
    filters: parseFilters(p.get('filter')),
    search: p.get('q') ? { mode: p.get('qm') === 'text' ? 'text' : p.get('qm') === 'row' ? 'row' : 'nn', query: p.get('q')! } : null,
    shapes: parseShapes(p.get('sel')),
  };
}

export function writeHash(s: HashState): string {
  const p = new URLSearchParams();
  if (s.view) {
    // Enough digits for a pixel at this zoom.
    const digits = Math.min(12, 5 + Math.max(0, Math.ceil(Math.log10(s.view.k))));
    p.set('x', s.view.x.toFixed(digits));
    p.set('y', s.view.y.toFixed(digits));
    p.set('k', s.view.k.toFixed(4));
  }
  if (s.cluster !== null) p.set('cluster', String(s.cluster));
  if (s.row !== null) p.set('row', String(s.row));
  if (s.color && s.color !== 'cluster') p.set('color', s.color);
  if (s.filters.length) p.set('filter', JSON.stringify(s.filters));
  if (s.search) {
    p.set('q', s.search.query);
    p.set('qm', s.search.mode);
  }
  if (s.shapes.length) p.set('sel', shapesText(s.shapes));
  const str = p.toString();
  return str ? `#${str}` : '';
}

// ---- the other pages: `/` (home), `/datasets/{ds}/setup[?step=…]`,
// `/jobs` and `/datasets/{ds}/jobs`, `/settings` ----

export type Page =
  | { kind: 'home' }
  | { kind: 'explore'; ds: string; scope: string }
  | { kind: 'setup'; ds: string; step: string | null }
  | { kind: 'jobs'; ds: string | null }
  | { kind: 'settings' }
  | { kind: 'compare'; ds: string; what: CompareWhat; left: string | null; right: string | null };

/** What the compare pages compare: two layouts (umaps) or two clusterings. */
export type CompareWhat = 'umaps' | 'clusters';

export function parsePage(path = location.pathname, search = location.search): Page {
  const ex = parseRoute(path);
  if (ex) return { kind: 'explore', ...ex };
  let m = path.match(/^\/datasets\/([^/]+)\/setup\/?$/);
  if (m) return { kind: 'setup', ds: decodeURIComponent(m[1]), step: new URLSearchParams(search).get('step') };
  m = path.match(/^\/datasets\/([^/]+)\/jobs\/?$/);
  if (m) return { kind: 'jobs', ds: decodeURIComponent(m[1]) };
  if (/^\/jobs\/?$/.test(path)) return { kind: 'jobs', ds: null };
  if (/^\/settings\/?$/.test(path)) return { kind: 'settings' };
  m = path.match(/^\/datasets\/([^/]+)\/compare\/(umaps|clusters)\/?$/);
  if (m) {
    const q = new URLSearchParams(search);
    return { kind: 'compare', ds: decodeURIComponent(m[1]), what: m[2] as CompareWhat, left: q.get('left'), right: q.get('right') };
  }
  return { kind: 'home' };
}

/** The setup page, optionally at a step and with the runs a scope was made from chosen. */
export function setupPath(ds: string, step?: string | null, scope?: string | null) {
  const q = new URLSearchParams();
  if (step) q.set('step', step);
  if (scope) q.set('scope', scope);
  const s = q.toString();
  return `/datasets/${encodeURIComponent(ds)}/setup${s ? `?${s}` : ''}`;
}
/** `/datasets/{ds}/compare/umaps?left=umap-001&right=umap-002` (or `/compare/clusters?…`). */
export function comparePath(ds: string, what: CompareWhat, left?: string | null, right?: string | null) {
  const q = new URLSearchParams();
  if (left) q.set('left', left);
  if (right) q.set('right', right);
  const s = q.toString();
  return `/datasets/${encodeURIComponent(ds)}/compare/${what}${s ? `?${s}` : ''}`;
}
export const jobsPath = (ds?: string | null) => (ds ? `/datasets/${encodeURIComponent(ds)}/jobs` : '/jobs');

/** Goes to another page without reloading (explore pages load in full: their first paint starts at boot). */
export function navigate(url: string, replace = false) {
  const u = new URL(url, location.href);
  if (parseRoute(u.pathname) || parseRoute(location.pathname)) {
    location.assign(u.href);
    return;
  }
  if (replace) history.replaceState(null, '', u.pathname + u.search + u.hash);
  else history.pushState(null, '', u.pathname + u.search + u.hash);
  dispatchEvent(new PopStateEvent('popstate'));
  if (!replace) scrollTo(0, 0);
}
