// Starts every request of the first paint at once, before the UI mounts:
// /api/version (read_only first), the scope JSON and the points stream (in
// a static site: site.json and the same answers as files).
import { version } from './api';
import { loadScope, type ScopeLoad } from './map/data';
import { parseRoute } from './route';
import { siteInfo as siteInfoSignal, versionInfo } from './store';
import { SITE, siteInfo } from './site';
import { Renderer } from './map/renderer';

// A static site is the explore page of its one scope (its files do not depend on the ids).
const route = SITE ? { ds: '', scope: '' } : parseRoute();
if (SITE)
  siteInfo().then(
    (i) => (siteInfoSignal.value = i),
    () => {},
  );
version().then(
  (v) => (versionInfo.value = v),
  () => {},
);
let first: ScopeLoad | null = route ? loadScope(route.ds, route.scope) : null;

// The WebGL context (slow to create in software GL) while the requests run.
let renderer: Renderer | null = null;
if (route) {
  try {
    performance.mark('ls:gl-start');
    const canvas = document.createElement('canvas');
    canvas.className = 'map-canvas';
    // The size the layout will give it (style.css: a 46 px top bar and a 42 px rows bar, a
    // 290 px cluster panel beside the map above 900 px), so that fitting it
    // later does not reallocate the drawing buffer.
    canvas.width = Math.max(1, innerWidth > 900 ? innerWidth - 290 : innerWidth);
    canvas.height = Math.max(1, innerHeight - 46 - 42);
    renderer = new Renderer(canvas);
    performance.mark('ls:gl-ready');
  } catch {
    renderer = null;
  }
}

/** The renderer made at boot, once. */
export function takeRenderer(): Renderer | null {
  const r = renderer;
  renderer = null;
  return r;
}

/** The load started at boot if it is for this scope, else a new one. */
export function takeFirstLoad(ds: string, scope: string): ScopeLoad {
  const l = first;
  first = null;
  if (l && route && (SITE || (route.ds === ds && route.scope === scope))) return l;
  l?.abort();
  return loadScope(ds, scope);
}
