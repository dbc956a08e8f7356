// Addresses: `/` (datasets) and `/datasets/{ds}/explore/{scope}`; the view
// (centre, zoom) and selection live in the hash so a link reopens them.
import type { View } from './map/explorer';

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
  const str = p.toString();
  return str ? `#${str}` : '';
}
