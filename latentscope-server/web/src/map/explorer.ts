// The map: canvas + WebGL2 renderer, d3-zoom, the LOD drawing loop, labels,
// hull, hover and the scope transition. Panels talk to it through signals.
import type { ZoomTransform } from 'd3-zoom';
import { effect } from '@preact/signals';
import { Renderer, type Camera, type PointStyle } from './renderer';
import { ScopeData, type ScopeLoad } from './data';
import { Grid } from './grid';
import { Density, DENSITY_SIZE } from './density';
import { countIn, Refinement, sampleRanges, type Box } from './lod';
import { BG_DARK, BG_LIGHT, categorical, css, GREY_DARK, GREY_LIGHT, ramp, type RGB } from './palette';
import { pointSizeAt, type View } from './viewport';
import { ZoomSurface, type ZoomEvent } from './zoom-surface';
import { svgElement } from './svg';
import { markInside, outlinePath } from './shapes';
import { ShapeDrawer } from './shape-drawer';
import { LabelAtlas } from './labels';
import { columnTable, type LabelInfo } from '../api';
import { ls } from '../hook';
import { takeRenderer } from '../boot';
import * as S from '../store';

const STILL_MS = 140;

interface Shown {
  slot: number;
  t: ZoomTransform;
  ranges: number[];
  box: Box;
  /** Every point of the scope had arrived. */
  complete: boolean;
}

/** Per-row colours of a column, or the cluster palette. */
interface ColorSource {
  column: string | null;
  rowColors: Uint8Array | null;
}

export class Explorer {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private svg: SVGSVGElement;
  private hull: SVGPathElement;
  private hoverDot: SVGCircleElement;
  private pinDot: SVGCircleElement;
  private rowDot: SVGCircleElement;
  private selPath: SVGPathElement;
  /** The shape being drawn (screen px), or null. */
  private drawer: ShapeDrawer;
  /** performance.now() of the last selection gesture's end, until its colours are on screen. */
  private selectT0 = 0;
  private selectShown = false;
  /** The scope as loaded (before the curation edits), per ScopeData. */
  private originals = new WeakMap<ScopeData, { cluster: Uint32Array; deleted: Uint8Array; labels: LabelInfo[] }>();
  private atlas: LabelAtlas;
  private labelVerts = new Float32Array(24 * 64);
  private labelWidths = new Map<string, number>();
  /** Label boxes on screen (CSS px) from the last frame, for clicks. */
  private labelBoxes: { c: number; x0: number; y0: number; x1: number; y1: number }[] = [];
  private labelAlpha = 1;
  private hotDrawn: number | null = null;
  readonly r: Renderer;
  data: ScopeData | null = null;
  private load: ScopeLoad | null = null;
  private surface: ZoomSurface;
  private lastChange = -1e9;
  private raf = 0;
  private prevFrame = 0;
  private stillTimer = 0;
  private refine: Refinement | null = null;
  private refineClear = false;
  private refineDrawn = 0;
  private refineSlot = 0;
  private refineBox: Box = [0, 0, 0, 0];
  /** The finished layer on screen: where it was drawn and from which points. */
  private shown: Shown | null = null;
  budget: number;
  private fixedBudget = false;
  /** Whether the start view is settled (from the address, the user, or fitted to the first points). */
  private homed = false;
  /** The status line's box (map CSS px) and when it was measured. */
  private foot: { x0: number; y0: number; x1: number; y1: number } | null = null;
  private footAt = -1e9;
  private movingFrames = 0;
  private framed = false;
  private densityTimer = 0;
  private recent: number[] = [];
  private maxBudget: number;
  private buf: number[] = [];
  private grid: Grid | null = null;
  private density = new Density();
  private densityAt = 0;
  private palette: RGB[] = [];
  private colorSource: ColorSource = { column: null, rowColors: null };
  private transition: { start: number; dur: number } | null = null;
  private overlayDirty = true;
  private anim = 0;
  private disposers: (() => void)[] = [];
  private destroyed = false;
  private cache = new Map<string, ScopeLoad>();
  /** Called (debounced by the caller) whenever the view changes. */
  onView: ((v: View) => void) | null = null;
  mode = 'idle';

  constructor(parent: HTMLElement, initial: View | null) {
    const el = document.createElement('div');
    el.className = 'map-surface';
    el.setAttribute('data-testid', 'map');
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', 'Map of the rows: scroll to zoom, drag to pan, hover or click a point');
    this.el = el;
    this.drawer = new ShapeDrawer(el, {
      kind: () => {
        const tool = S.tool.value;
        return tool === 'pan' || !this.data || this.transition ? null : tool;
      },
      toData: (sx, sy) => this.toData(sx, sy),
      started: () => {
        S.hovered.value = null;
      },
      moved: () => this.drawSelPath(),
      ended: () => {
        this.overlayDirty = true;
        this.requestFrame();
      },
      drawn: (shape, add) => {
        this.selectT0 = performance.now();
        this.selectShown = false;
        S.shapes.value = add ? [...S.shapes.value, shape] : [shape];
      },
    });
    const early = takeRenderer();
    this.r = early ?? new Renderer(document.createElement('canvas'));
    this.canvas = this.r.canvas;
    this.canvas.className = 'map-canvas';
    el.appendChild(this.canvas);
    this.svg = svgElement('svg', { class: 'map-svg' });
    this.hull = svgElement('path', { class: 'hull' });
    this.hoverDot = svgElement('circle', { class: 'hover-dot', r: '6' });
    this.pinDot = svgElement('circle', { class: 'pin-dot', r: '7' });
    this.rowDot = svgElement('circle', { class: 'row-dot', r: '8', 'data-testid': 'row-dot' });
    this.selPath = svgElement('path', { class: 'sel-path' });
    this.svg.append(this.hull, this.selPath, this.pinDot, this.rowDot, this.hoverDot);
    el.appendChild(this.svg);
    parent.appendChild(el);

    this.atlas = new LabelAtlas(this.r.gl, this.r.atlasTex);
    this.budget = this.r.software ? 110_000 : 1_000_000;
    this.maxBudget = this.r.software ? 260_000 : 8_000_000;
    ls.renderer = this.r.rendererName;

    this.surface = new ZoomSurface(el, this.r, () => S.tool.value === 'pan', (e) => {
      if (e.sourceEvent) {
        cancelAnimationFrame(this.anim);
        this.homed = true;
      }
      this.viewChanged();
    });
    this.surface.behavior.on('start', (e: ZoomEvent) => {
      if (e.sourceEvent && e.sourceEvent.type !== 'wheel') S.hovered.value = null;
    });

    const ro = new ResizeObserver(() => this.resize());
    ro.observe(el);
    this.disposers.push(() => ro.disconnect());
    this.homed = !!initial;
    this.resize(initial);

    el.addEventListener('pointermove', this.onMove);
    el.addEventListener('pointerleave', this.onLeave);
    el.addEventListener('click', this.onClick);
    el.addEventListener('dblclick', this.onDblClick);
    this.drawer.attach();

    this.disposers.push(
      effect(() => {
        S.pointSize.value;
        S.opacity.value;
        this.invalidate();
      }),
      effect(() => {
        S.selectedCluster.value;
        S.dark.value;
        this.recolor();
      }),
      effect(() => {
        const c = S.colorBy.value;
        this.setColorBy(c);
      }),
      effect(() => {
        S.focus.value;
        this.refill();
      }),
      effect(() => {
        const t = S.tool.value;
        this.el.classList.toggle('selecting', t !== 'pan');
      }),
      effect(() => {
        S.shapes.value;
        this.computeSelection();
      }),
      effect(() => {
        const e = S.edits.value;
        this.applyEdits(e);
      }),
      effect(() => {
        const h = S.hovered.value;
        S.pinned.value;
        S.tableHover.value;
        this.overlayDirty = true;
        this.updateOverlays();
        // The hovered cluster's label is drawn by the map.
        const hc = h?.cluster ?? null;
        if (hc !== this.hotDrawn) {
          this.hotDrawn = hc;
          this.requestFrame();
        }
      }),
    );

    S.lookups.clusterOf = (row: number) => {
      const d = this.data;
      const j = d && row >= 0 && row < d.rowToLod.length ? d.rowToLod[row] : -1;
      return d && j >= 0 ? d.cluster[j] : null;
    };
    S.lookups.centreOn = (row: number) => {
      const d = this.data;
      const j = d && row >= 0 && row < d.rowToLod.length ? d.rowToLod[row] : -1;
      if (d && j >= 0) this.animateTo({ x: d.xy[2 * j], y: d.xy[2 * j + 1], k: Math.max(this.surface.t.k, 16) });
    };
    S.lookups.rowCount = () => this.data?.rowToLod.length ?? 0;
    S.lookups.clusterMask = (c: number) => {
      const d = this.data;
      if (!d) return null;
      const m = new Uint8Array(d.rowToLod.length);
      for (let i = 0; i < d.loaded; i++) if (d.cluster[i] === c && !d.deleted[i]) m[d.idx[i]] = 1;
      return m;
    };
    S.lookups.liveMask = () => {
      const d = this.data;
      if (!d) return null;
      const m = new Uint8Array(d.rowToLod.length);
      for (let i = 0; i < d.loaded; i++) if (!d.deleted[i]) m[d.idx[i]] = 1;
      return m;
    };
    Object.assign(ls, {
      project: (row: number) => this.project(row),
      view: this.view(),
      setView: (v: View) => this.setView(v),
      labelAt: (x: number, y: number) => this.labelAt(x, y),
      /** Fixes the interaction vertex budget (benchmarks; 0: adaptive again). */
      setBudget: (b: number) => {
        this.fixedBudget = b > 0;
        if (b > 0) this.budget = b;
      },
      pick: (x: number, y: number) => {
        const j = this.pick(x, y);
        return j >= 0 && this.data ? this.data.idx[j] : -1;
      },
      /** Every loaded point inside the view (for checking `drawn`). */
      countVisible: () => {
        const d = this.data;
        if (!d) return 0;
        const [x0, y0, x1, y1] = this.box(0);
        let n = 0;
        for (let i = 0; i < d.loaded; i++) {
          const x = d.xy[2 * i], y = d.xy[2 * i + 1];
          if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && !d.deleted[i]) n++;
        }
        return n;
      },
      /** The selected rows (ascending ls_index). */
      selection: () => Array.from(S.selection.value ?? []),
      /** The selection shapes in data coordinates. */
      shapes: () => S.shapes.value,
      /** Whether a row's point is drawn dimmed (outside the focus or the selected cluster), null if not shown. */
      isDimmed: (row: number) => {
        const d = this.data;
        const j = d && row >= 0 && row < d.rowToLod.length ? d.rowToLod[row] : -1;
        if (!d || j < 0 || d.colors[4 * j + 3] === 0) return null;
        const f = S.focus.value;
        const c = S.selectedCluster.value;
        return (!!f && !f.mask[row]) || (c !== null && d.cluster[j] !== c);
      },
      /** The label texts placed on the map in the last frame. */
      labelTexts: () => this.labelBoxes.map((b) => this.data?.json.labels[b.c]?.label ?? ''),
      /** Selects by shapes in data coordinates (tests, benchmarks). */
      select: (shapes: S.Shape[]) => {
        this.selectT0 = performance.now();
        this.selectShown = false;
        S.shapes.value = shapes;
      },
      clusterOf: (row: number) => S.lookups.clusterOf(row),
      /** Data coordinates of a viewport position. */
      toData: (x: number, y: number) => {
        const rect = this.el.getBoundingClientRect();
        return this.toData(x - rect.left, y - rect.top);
      },
      toScreen: (x: number, y: number) => {
        const [sx, sy] = this.toScreen(x, y);
        const rect = this.el.getBoundingClientRect();
        return { x: rect.left + sx, y: rect.top + sy };
      },
      coords: (row: number) => {
        const d = this.data;
        const j = d && row >= 0 && row < d.rowToLod.length ? d.rowToLod[row] : -1;
        return d && j >= 0 ? [d.xy[2 * j], d.xy[2 * j + 1]] : null;
      },
    });
  }

  destroy() {
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    cancelAnimationFrame(this.anim);
    clearTimeout(this.stillTimer);
    for (const d of this.disposers) d();
    this.load?.abort();
    for (const l of this.cache.values()) l.abort();
    this.el.remove();
  }

  // ---- view ----------------------------------------------------------------

  private resize(initial?: View | null) {
    const rect = this.el.getBoundingClientRect();
    if (!initial && rect.width === this.surface.W && rect.height === this.surface.H) return;
    const keep = initial ?? (this.surface.W > 1 ? this.view() : null);
    const prev = this.surface.W > 1 ? { W: this.surface.W, H: this.surface.H, ks: this.surface.t.k * this.surface.s0 } : null;
    this.surface.setSize(rect.width, rect.height);
    if (!initial && keep && prev && prev.W === this.surface.W && prev.H !== this.surface.H) {
      // Only the height changed (the table opened or closed): same scale,
      // same centre, so nothing zooms.
      keep.k = prev.ks / this.surface.s0;
    }
    if (keep) this.setView(keep, true);
    ls.view = this.view();
    ls.box = this.box(0);
    this.invalidate();
  }

  view(): View {
    return this.surface.view();
  }

  setView(v: View, silent = false) {
    this.surface.setView(v, silent);
    if (silent) this.viewChanged(true);
  }

  /** Animates to a view (ease in-out, zoom interpolated in log space). */
  animateTo(v: View, ms = 650) {
    cancelAnimationFrame(this.anim);
    const a = this.view();
    const t0 = performance.now();
    const step = (now: number) => {
      const u = Math.min(1, (now - t0) / ms);
      const e = u < 0.5 ? 4 * u * u * u : 1 - (-2 * u + 2) ** 3 / 2;
      const k = Math.exp(Math.log(a.k) + (Math.log(v.k) - Math.log(a.k)) * e);
      this.setView({ x: a.x + (v.x - a.x) * e, y: a.y + (v.y - a.y) * e, k });
      if (u < 1) this.anim = requestAnimationFrame(step);
    };
    this.anim = requestAnimationFrame(step);
  }

  /** Zooms to a data box. */
  fitBox(b: Box, pad = 0.75) {
    const w = Math.max(b[2] - b[0], 0.01);
    const h = Math.max(b[3] - b[1], 0.01);
    const k = Math.min((this.surface.W * pad) / (w * this.surface.s0), (this.surface.H * pad) / (h * this.surface.s0));
    this.animateTo({ x: (b[0] + b[2]) / 2, y: (b[1] + b[3]) / 2, k: Math.max(1, Math.min(k, 512)) });
  }

  /**
   * The start view, once, from the first points (the root node, a uniform
   * sample): the 0.5–99.5 % quantile box of x and y plus a margin, so a few
   * outliers do not shrink the dense core. When that box is most of the
   * points' extent anyway (over 80 % of it on both axes), the whole map
   * (zoom 1), which shows every point.
   */
  private home(d: ScopeData) {
    if (this.homed || d.loaded === 0) return;
    this.homed = true;
    const n = d.loaded;
    const step = Math.max(1, Math.floor(n / 50_000));
    const m = Math.ceil(n / step);
    const xs = new Float32Array(m), ys = new Float32Array(m);
    for (let i = 0, j = 0; j < m; i += step, j++) {
      xs[j] = d.xy[2 * i];
      ys[j] = d.xy[2 * i + 1];
    }
    xs.sort();
    ys.sort();
    const q = (a: Float32Array, f: number) => a[Math.min(m - 1, Math.max(0, Math.round(f * (m - 1))))];
    const qx0 = q(xs, 0.005), qx1 = q(xs, 0.995), qy0 = q(ys, 0.005), qy1 = q(ys, 0.995);
    const fw = xs[m - 1] - xs[0], fh = ys[m - 1] - ys[0];
    if (!(fw > 0 && fh > 0) || (qx1 - qx0 > 0.8 * fw && qy1 - qy0 > 0.8 * fh)) return;
    const w = Math.max(qx1 - qx0, 1e-3) * 1.08, h = Math.max(qy1 - qy0, 1e-3) * 1.08;
    const k = Math.min(this.surface.W / (w * this.surface.s0), this.surface.H / (h * this.surface.s0));
    this.setView({ x: (qx0 + qx1) / 2, y: (qy0 + qy1) / 2, k: Math.max(1, Math.min(k, 64)) }, true);
  }

  zoomToCluster(c: number) {
    const d = this.data;
    if (!d) return;
    const b = d.clusterBox(c);
    if (b) this.fitBox(b);
  }

  private viewChanged(silent = false) {
    this.lastChange = performance.now();
    this.refine = null;
    this.overlayDirty = true;
    const v = this.view();
    ls.view = v;
    ls.box = this.box(0);
    if (!silent) this.onView?.(v);
    this.requestFrame();
    clearTimeout(this.stillTimer);
    this.stillTimer = window.setTimeout(() => this.requestFrame(), STILL_MS + 10);
  }

  /** The data box on screen, widened by `px` pixels. */
  private box(px = 0): Box {
    const { x: tx, y: ty, k } = this.surface.t;
    const ks = k * this.surface.s0;
    return [
      (-px - tx - (k * this.surface.W) / 2) / ks,
      (ty + (k * this.surface.H) / 2 - this.surface.H - px) / ks,
      (this.surface.W + px - tx - (k * this.surface.W) / 2) / ks,
      (ty + (k * this.surface.H) / 2 + px) / ks,
    ];
  }

  toScreen(x: number, y: number): [number, number] {
    return this.surface.toScreen(x, y);
  }

  private toData(sx: number, sy: number): [number, number] {
    return this.surface.toData(sx, sy);
  }

  /** Screen position (viewport CSS px) of a row, or null. */
  project(row: number): { x: number; y: number; inView: boolean } | null {
    const d = this.data;
    if (!d || row < 0 || row >= d.rowToLod.length) return null;
    const j = d.rowToLod[row];
    if (j < 0) return null;
    const [sx, sy] = this.toScreen(d.xy[2 * j], d.xy[2 * j + 1]);
    const rect = this.el.getBoundingClientRect();
    return { x: rect.left + sx, y: rect.top + sy, inView: sx >= 0 && sy >= 0 && sx <= this.surface.W && sy <= this.surface.H };
  }

  private pointSizePx(): number {
    return pointSizeAt(S.pointSize.value, this.surface.t.k);
  }

  // ---- data ----------------------------------------------------------------

  /** Shows a scope that is loading (the first one: no transition). */
  show(load: ScopeLoad) {
    this.load = load;
    load.data.then(
      (d) => {
        if (this.destroyed) return;
        this.attach(d);
      },
      (e) => (S.errorText.value = String(e.message ?? e)),
    );
    load.done.catch((e) => {
      if (!this.destroyed && e?.name !== 'AbortError') S.errorText.value = `points: ${e.message ?? e}`;
    });
  }

  private attach(d: ScopeData) {
    this.data = d;
    this.shown = null;
    this.refine = null;
    ls.total = d.n;
    ls.scope = d.id;
    this.cache.set(d.id, this.load!);
    S.scopeJson.value = d.json;
    S.labels.value = d.json.labels;
    this.makePalette();
    this.r.allocate(d.n);
    this.density.clear();
    this.grid = null;
    this.labelWidths.clear();
    // Points go to the GPU a slice per frame (`pump`), the root sample
    // first, so the first frame never waits for the whole stream's upload.
    this.uploaded = 0;
    d.onBatch.push(() => {
      if (this.data === d) this.home(d);
      S.progress.value = { loaded: d.loaded, total: d.n };
      ls.loaded = d.loaded;
      this.requestFrame();
    });
    ls.loaded = d.loaded;
    this.home(d);
    S.complete.value = d.complete;
    const done = () => {
      if (this.data !== d) return;
      ls.complete = true;
      S.complete.value = true;
      // Shapes drawn (or read from the address) while loading take every point now.
      if (S.shapes.value.length) this.computeSelection();
      if (S.edits.value.length) this.applyEdits(S.edits.value);
      this.overlayDirty = true;
      this.requestFrame();
      window.setTimeout(() => this.prefetch(), 1500);
      // The hover index, built ahead of the first hover.
      window.setTimeout(() => {
        if (this.data === d && (!this.grid || this.grid.count < d.loaded)) this.grid = new Grid(d.xy, d.loaded);
      }, 300);
    };
    if (d.complete) done();
    else d.onComplete.push(done);
    if (S.colorBy.value !== 'cluster') this.setColorBy(S.colorBy.value);
    S.progress.value = { loaded: d.loaded, total: d.n };
    this.overlayDirty = true;
    this.requestFrame();
  }

  /** Switches to another scope of the dataset: same rows, new places, animated. */
  async switchTo(scope: string, start: (ds: string, s: string) => ScopeLoad) {
    const old = this.data;
    if (!old || old.id === scope) return;
    S.switching.value = scope;
    let load = this.cache.get(scope);
    if (!load) {
      load = start(old.ds, scope);
      this.cache.set(scope, load);
    }
    let d: ScopeData;
    try {
      d = await load.done;
    } catch (e) {
      this.cache.delete(scope);
      S.switching.value = null;
      S.errorText.value = `scope ${scope}: ${(e as Error).message}`;
      return;
    }
    if (this.destroyed || S.switching.value !== scope) return;
    // Old position of each new point (matched by ls_index).
    const from = new Float32Array(2 * d.n);
    for (let i = 0; i < d.n; i++) {
      const row = d.idx[i];
      const j = row < old.rowToLod.length ? old.rowToLod[row] : -1;
      if (j >= 0) {
        from[2 * i] = old.xy[2 * j];
        from[2 * i + 1] = old.xy[2 * j + 1];
      } else {
        from[2 * i] = d.xy[2 * i];
        from[2 * i + 1] = d.xy[2 * i + 1];
      }
    }
    if (this.load && this.load !== load && !old.complete) {
      this.load.abort();
      this.cache.delete(old.id);
    }
    this.load = load;
    S.hovered.value = null;
    S.selectedCluster.value = null;
    S.pinned.value = null;
    S.tableHover.value = null;
    this.restoreOriginals(old);
    this.attach(d);
    if (S.shapes.value.length) this.computeSelection();
    this.r.setFrom(from);
    this.transition = { start: performance.now(), dur: 900 };
    S.switching.value = null;
    this.lastChange = performance.now();
    this.requestFrame();
  }

  /** Loads the other scopes when idle, so switching is instant. */
  private prefetch() {
    const ds = S.dataset.value;
    const d = this.data;
    if (!ds || !d || this.destroyed) return;
    const others = ds.scopes.filter((s) => s.id !== d.id && !this.cache.has(s.id) && (s.rows ?? 0) <= 2_000_000);
    const next = others[0];
    if (!next || this.cache.size >= 4) return;
    if (performance.now() - this.lastChange < 1000) {
      window.setTimeout(() => this.prefetch(), 1000);
      return;
    }
    const l = this.prefetcher?.(d.ds, next.id);
    if (!l) return;
    this.cache.set(next.id, l);
    l.done.then(
      () => window.setTimeout(() => this.prefetch(), 500),
      () => this.cache.delete(next.id),
    );
  }
  prefetcher: ((ds: string, s: string) => ScopeLoad) | null = null;

  // ---- colour --------------------------------------------------------------

  private makePalette() {
    const d = this.data;
    if (!d) return;
    const k = Math.max(d.json.labels.length, d.unclustered + 1, 1);
    const named = d.unclustered >= 0 && d.unclustered < k ? k - 1 : k;
    const pal = categorical(named, S.dark.value);
    const out: RGB[] = [];
    for (let c = 0, i = 0; c < k; c++) {
      out.push(c === d.unclustered ? (S.dark.value ? GREY_DARK : GREY_LIGHT) : pal[i++ % pal.length]);
    }
    this.palette = out;
    S.clusterColors.value = out.map((c) => css(c));
  }

  private fillColors(start: number, count: number) {
    const d = this.data;
    if (!d) return;
    const sel = S.selectedCluster.value;
    const pal = this.palette;
    const rc = this.colorSource.rowColors;
    const bg = S.dark.value ? BG_DARK : BG_LIGHT;
    const { colors, cluster, idx, deleted } = d;
    const un = d.unclustered;
    const fm = S.focus.value?.mask ?? null;
    for (let i = start, e = start + count; i < e; i++) {
      const o = 4 * i;
      if (deleted[i]) {
        colors[o + 3] = 0;
        continue;
      }
      const c = cluster[i];
      let r: number, g: number, b: number, a: number;
      if (rc) {
        const q = 4 * idx[i];
        r = rc[q];
        g = rc[q + 1];
        b = rc[q + 2];
        a = rc[q + 3];
      } else {
        const p = pal[c] ?? pal[0] ?? [128, 128, 128];
        r = p[0];
        g = p[1];
        b = p[2];
        a = c === un ? 90 : 255;
      }
      if ((sel !== null && c !== sel) || (fm !== null && !fm[idx[i]])) {
        // Dimmed, not hidden: faded towards the background.
        r = (2 * r + 3 * bg[0]) / 5;
        g = (2 * g + 3 * bg[1]) / 5;
        b = (2 * b + 3 * bg[2]) / 5;
        a = Math.max(1, a * 0.45);
      }
      colors[o] = r;
      colors[o + 1] = g;
      colors[o + 2] = b;
      colors[o + 3] = a;
    }
    this.r.uploadColors(colors.subarray(4 * start, 4 * (start + count)), start);
  }

  recolor() {
    const d = this.data;
    if (!d) return;
    this.atlas.reset();
    this.makePalette();
    this.fillColors(0, this.uploaded);
    this.density.clear();
    this.density.add(d.xy, d.colors, 0, this.uploaded);
    this.invalidate();
  }

  /** Colours again (the focus changed): no new palette, no new label atlas. */
  private refill() {
    const d = this.data;
    if (!d || !this.uploaded) return;
    this.fillColors(0, this.uploaded);
    this.density.clear();
    this.density.add(d.xy, d.colors, 0, this.uploaded);
    this.updateHighlight();
    this.invalidate();
  }

  /** The rows in focus are drawn again on top, bigger, when there are not too many. */
  private updateHighlight() {
    const d = this.data;
    const fm = S.focus.value?.mask ?? null;
    if (!d || !fm) {
      if (this.r.highlighted) this.r.setHighlight(new Uint32Array(0));
      return;
    }
    const out = new Uint32Array(Math.min(this.uploaded, 300_000));
    let k = 0;
    const { idx, colors } = d;
    for (let i = 0; i < this.uploaded; i++) {
      if (fm[idx[i]] && colors[4 * i + 3] !== 0) {
        if (k === out.length) {
          k = 0; // too many to draw twice: dimming the others is enough
          break;
        }
        out[k++] = i;
      }
    }
    this.r.setHighlight(out.subarray(0, k));
  }

  // ---- selection -----------------------------------------------------------

  /** The rows inside the selection shapes (every loaded point, drawn or not). */
  private computeSelection() {
    const d = this.data;
    const shapes = S.shapes.value;
    if (!shapes.length) {
      if (S.selection.value) S.selection.value = null;
      ls.selectionCount = 0;
      return;
    }
    if (!d) return;
    const t0 = performance.now();
    const n = d.rowToLod.length;
    const m = new Uint8Array(n);
    const { xy, idx, deleted } = d;
    const L = d.loaded;
    for (const sh of shapes) markInside(sh, xy, L, idx, (i) => deleted[i] !== 0, m);
    let count = 0;
    for (let r = 0; r < n; r++) count += m[r];
    const rows = new Uint32Array(count);
    for (let r = 0, k = 0; r < n; r++) if (m[r]) rows[k++] = r;
    ls.selectionCount = count;
    ls.selectComputeMs = Math.round(performance.now() - t0);
    S.selection.value = rows;
    this.overlayDirty = true;
    this.requestFrame();
  }

  /** The selection outline: the shapes (data coordinates) and the one being drawn (screen px). */
  private drawSelPath(): boolean {
    const path = outlinePath(S.shapes.value, (x, y) => this.toScreen(x, y), this.drawer.drawing);
    this.selPath.setAttribute('d', path);
    this.selPath.style.display = path ? '' : 'none';
    if (path) this.svg.style.display = '';
    return !!path;
  }

  // ---- curation edits (shown at once, saved as a new scope by the panel) ----

  private restoreOriginals(d: ScopeData) {
    const o = this.originals.get(d);
    if (!o) return;
    d.cluster.set(o.cluster);
    d.deleted.set(o.deleted);
    d.json.labels = o.labels;
    this.originals.delete(d);
  }

  private applyEdits(edits: S.Edit[]) {
    const d = this.data;
    if (!d) return;
    let o = this.originals.get(d);
    if (!edits.length && !o) return;
    if (!d.complete) return; // applied when the last points arrive
    if (!o) {
      o = { cluster: d.cluster.slice(), deleted: d.deleted.slice(), labels: d.json.labels.map((l) => ({ ...l })) };
      this.originals.set(d, o);
    }
    d.cluster.set(o.cluster);
    d.deleted.set(o.deleted);
    const labels = o.labels.map((l) => ({ ...l }));
    let recount = false;
    for (const e of edits) {
      if (e.kind === 'label') {
        const l = labels[e.cluster];
        if (l) {
          l.label = e.label;
          l.description = e.description;
        }
      } else {
        recount = true;
        for (const r of e.rows) {
          const j = r < d.rowToLod.length ? d.rowToLod[r] : -1;
          if (j < 0) continue;
          if (e.kind === 'move') d.cluster[j] = e.cluster;
          else d.deleted[j] = 1;
        }
      }
    }
    if (recount) {
      const c = new Array(labels.length).fill(0);
      for (let i = 0; i < d.n; i++) if (!d.deleted[i] && d.cluster[i] < c.length) c[d.cluster[i]]++;
      labels.forEach((l, k) => (l.count = c[k]));
    }
    if (!edits.length) {
      this.restoreOriginals(d);
    } else d.json.labels = labels;
    S.labels.value = d.json.labels;
    this.atlas.reset();
    this.labelWidths.clear();
    this.refill();
  }

  private colorToken = 0;
  async setColorBy(column: string) {
    const token = ++this.colorToken;
    const d = this.data;
    if (!d) return;
    if (column === 'cluster' || !column) {
      this.colorSource = { column: null, rowColors: null };
      S.legend.value = { kind: 'cluster' };
      this.recolor();
      return;
    }
    if (this.colorSource.column === column && this.colorSource.rowColors) {
      this.recolor();
      return;
    }
    try {
      const t = await columnTable(d.ds, column);
      if (token !== this.colorToken) return;
      const dark = S.dark.value;
      const grey = dark ? GREY_DARK : GREY_LIGHT;
      const col = t.getChildAt(0)!;
      const n = col.length;
      const rowColors = new Uint8Array(4 * n);
      const meta = t.schema.metadata ?? new Map<string, string>();
      const batch = col.data[0] as unknown as { values: ArrayLike<number>; cache?: unknown[]; isValid(i: number): boolean; nullCount: number };
      const valid = (i: number) => col.nullCount === 0 || batch.isValid(i);
      if (col.data.length !== 1) throw new Error('one batch expected');
      if (batch.cache === undefined && !('dictionary' in (batch as object))) {
        // Numbers.
        const v = batch.values;
        let lo = Number(meta.get('min'));
        let hi = Number(meta.get('max'));
        if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
          lo = Infinity;
          hi = -Infinity;
          for (let i = 0; i < n; i++) if (valid(i) && Number.isFinite(v[i])) { lo = Math.min(lo, v[i]); hi = Math.max(hi, v[i]); }
        }
        const lut = ramp(dark);
        const span = hi > lo ? hi - lo : 1;
        for (let i = 0; i < n; i++) {
          const x = v[i];
          const c = valid(i) && Number.isFinite(x) ? lut[Math.max(0, Math.min(255, Math.round(((x - lo) / span) * 255)))] : grey;
          rowColors.set(c, 4 * i);
          rowColors[4 * i + 3] = valid(i) ? 255 : 90;
        }
        S.legend.value = { kind: 'numeric', column, min: lo, max: hi, stops: [0, 64, 128, 192, 255].map((i) => css(lut[i])) };
      } else {
        // Categories (dictionary keys).
        const keys = batch.values;
        const dict = (batch.cache ?? []) as unknown[];
        const m = dict.length;
        const counts = new Float64Array(m);
        for (let i = 0; i < n; i++) if (valid(i)) counts[keys[i]]++;
        const names = dict.map((x) => (x === null || x === undefined ? '' : String(x)));
        let colorOf: RGB[];
        if (m <= 20) {
          const order = [...names.keys()].sort((a, b) => counts[b] - counts[a]);
          const pal = categorical(m, dark);
          colorOf = new Array(m);
          order.forEach((k, rank) => (colorOf[k] = pal[rank]));
          S.legend.value = {
            kind: 'categorical',
            column,
            items: order.slice(0, 20).map((k) => ({ label: names[k] || '(empty)', color: css(colorOf[k]), count: counts[k] })),
            more: Math.max(0, m - 20),
          };
        } else {
          // Many categories: an ordinal ramp over the sorted values.
          const order = [...names.keys()].sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
          const lut = ramp(dark);
          colorOf = new Array(m);
          order.forEach((k, rank) => (colorOf[k] = lut[Math.round((rank / Math.max(1, m - 1)) * 255)]));
          S.legend.value = {
            kind: 'ordinal',
            column,
            first: names[order[0]] ?? '',
            last: names[order[m - 1]] ?? '',
            stops: [0, 64, 128, 192, 255].map((i) => css(lut[i])),
            count: m,
          };
        }
        for (let i = 0; i < n; i++) {
          const ok = valid(i) && keys[i] < m;
          rowColors.set(ok ? colorOf[keys[i]] : grey, 4 * i);
          rowColors[4 * i + 3] = ok ? 255 : 90;
        }
      }
      this.colorSource = { column, rowColors };
      this.recolor();
    } catch (e) {
      if (token !== this.colorToken) return;
      S.errorText.value = `colour by ${column}: ${(e as Error).message}`;
      S.colorBy.value = 'cluster';
    }
  }

  // ---- drawing -------------------------------------------------------------

  /** Points on the GPU (a prefix of the LOD order). */
  private uploaded = 0;

  /** Uploads the next slice of arrived points (positions, colours, density). */
  private pump(max: number): boolean {
    const d = this.data;
    if (!d || this.uploaded >= d.loaded) return false;
    const start = this.uploaded;
    const count = Math.min(d.loaded - start, max);
    this.r.uploadPositions(d.xy.subarray(2 * start, 2 * (start + count)), start);
    this.fillColors(start, count);
    this.density.add(d.xy, d.colors, start, count);
    this.uploaded = start + count;
    return this.uploaded < d.loaded;
  }

  /** Every point of the scope is on the GPU. */
  private get allIn(): boolean {
    const d = this.data;
    return !!d && d.complete && this.uploaded >= d.n;
  }

  /** Forgets the cached layer and redraws. */
  invalidate() {
    this.refine = null;
    this.shown = null;
    this.overlayDirty = true;
    this.requestFrame();
  }

  requestFrame() {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame(this.frame);
  }

  private densityOpacity(): number {
    const d = this.data;
    if (!d) return 0;
    const zf = Math.max(0, Math.min(1, 1 - Math.log2(Math.max(this.surface.t.k, 1)) / 3));
    const nf = Math.min(1, this.uploaded / 60000);
    return 0.85 * zf * (0.25 + 0.75 * nf);
  }

  private frame = (now: number) => {
    this.raf = 0;
    if (this.destroyed) return;
    const c0 = performance.now();
    if (this.prevFrame && now - this.prevFrame < 400) ls.frameMs = now - this.prevFrame;
    this.prevFrame = now;
    const d = this.data;
    const bg = S.dark.value ? BG_DARK : BG_LIGHT;
    const r = this.r;
    if (!d || d.loaded === 0) {
      r.begin(bg);
      return;
    }
    // The first frame with data takes the root node only; then a slice per frame.
    const firstFrame = !this.framed;
    this.framed = true;
    const slice = firstFrame ? (d.nodes[0]?.count ?? 16384) : this.r.software ? 196_608 : 1 << 30;
    let more = this.pump(slice);
    const U = this.uploaded;
    const since = performance.now() - this.lastChange;
    const busy = since < 400;
    if (busy && this.density.dirty && !this.densityTimer) {
      this.densityTimer = window.setTimeout(() => {
        this.densityTimer = 0;
        this.requestFrame();
      }, 410 - since);
    }
    if (this.density.dirty && ls.firstPaintMs !== null && !busy && (now - this.densityAt > 300 || d.complete)) {
      r.uploadDensity(this.density.texture(), DENSITY_SIZE);
      this.densityAt = now;
    }
    let t = 1;
    if (this.transition) {
      const u = Math.min(1, (now - this.transition.start) / this.transition.dur);
      t = u < 0.5 ? 4 * u * u * u : 1 - (-2 * u + 2) ** 3 / 2;
      if (u >= 1) {
        this.transition = null;
        r.setFrom(null);
        this.overlayDirty = true;
        this.lastChange = now;
        this.refine = null;
      }
    }
    const size = this.pointSizePx() * this.surface.dpr;
    const style = { size, alpha: S.opacity.value, t, round: size >= 2.5 * this.surface.dpr };
    const cam = this.surface.camera();
    const exact = this.box(0);
    const margin = this.box(size);
    const sinceChange = performance.now() - this.lastChange;
    const moving = this.transition !== null || sinceChange < STILL_MS;
    if (moving && !this.transition) {
      clearTimeout(this.stillTimer);
      this.stillTimer = window.setTimeout(() => this.requestFrame(), STILL_MS - sinceChange + 5);
    }
    let drawn: number;
    const dOp = this.densityOpacity();
    if (moving) {
      this.refine = null;
      if (this.transition) {
        this.mode = 'transition';
        r.begin(bg);
        // The density shows the new layout: it comes in at the end.
        r.drawDensity(cam, dOp * Math.max(0, (t - 0.75) / 0.25));
        this.buf.length = 0;
        this.buf.push(0, Math.min(U, this.budget));
        r.drawPoints(cam, style, this.buf);
        drawn = Math.min(U, this.budget);
        more = true;
      } else if (this.canShift(this.shown, d)) {
        // A pan from a finished layer: the layer moves, the strips it
        // uncovers get a sample.
        this.mode = 'pan';
        drawn = this.drawShifted(this.shown!, d, cam, style, exact, bg, dOp);
        // These frames draw only the strips: they may lower the budget, not raise it.
        this.adaptBudget(false);
      } else {
        this.mode = 'sample';
        r.begin(bg);
        r.drawDensity(cam, dOp);
        sampleRanges(d.nodes, U, margin, this.budget, this.buf);
        r.drawPoints(cam, style, this.buf);
        drawn = countIn(d.xy, d.colors, this.buf, exact);
        this.adaptBudget();
      }
    } else {
      this.movingFrames = 0;
      this.recent.length = 0;
      if (!this.refine) {
        // Into the layer not on screen, so the old one can stay up meanwhile.
        this.refineSlot = this.shown ? 1 - this.shown.slot : 0;
        this.refine = new Refinement(d.nodes, margin, U);
        this.refineClear = true;
        this.refineDrawn = 0;
        this.refineBox = exact;
      } else {
        this.refine.extend(U);
      }
      const ref = this.refine;
      if (!ref.finished || this.refineClear) {
        this.mode = 'refining';
        r.bindLayer(this.refineSlot, this.refineClear);
        this.refineClear = false;
        const chunk = firstFrame ? 50_000 : this.r.software ? Math.max(60_000, this.budget) : 1 << 30;
        ref.next(chunk, this.buf);
        r.drawPoints(cam, style, this.buf);
        r.unbindLayer();
        this.refineDrawn += countIn(d.xy, d.colors, this.buf, exact);
        more = more || !ref.finished;
      }
      if (ref.finished) {
        this.mode = this.allIn ? 'still' : 'loading';
        this.shown = { slot: this.refineSlot, t: this.surface.t, ranges: ref.ranges, box: this.refineBox, complete: this.allIn };
        r.begin(bg);
        r.drawDensity(cam, dOp);
        r.drawLayer(this.refineSlot);
        drawn = this.refineDrawn;
      } else if (this.shown && this.shown.slot !== this.refineSlot && this.canShift(this.shown, d)) {
        // The old layer, moved, until the new one is finished.
        drawn = Math.max(this.refineDrawn, this.drawShifted(this.shown, d, cam, style, exact, bg, dOp));
      } else {
        r.begin(bg);
        r.drawDensity(cam, dOp);
        r.drawLayer(this.refineSlot);
        drawn = this.refineDrawn;
      }
    }
    // The focus on top, bigger (while points still upload, from the next refill).
    if (this.r.highlighted) {
      const hs = style.size * 1.6 + this.surface.dpr;
      r.drawHighlight(cam, { ...style, size: hs, alpha: 1, round: hs >= 2.5 * this.surface.dpr });
    }
    // Labels from the second frame on: the first shows the points at once.
    if (!firstFrame) this.drawLabels(d, this.transition ? t : 1);
    else more = true;
    r.flush();
    ls.drawn = drawn;
    ls.mode = this.mode;
    ls.budget = this.budget;
    S.drawnCount.value = drawn;
    if (ls.firstPaintMs === null && drawn > 0) {
      ls.firstPaintMs = performance.now();
      ls.firstPaintDrawn = drawn;
      ls.firstPaintArrived = d.loaded;
      performance.mark('ls:first-paint');
      window.setTimeout(() => (S.painted.value = true), 0);
      if (this.density.dirty) more = true;
    }
    const c1 = performance.now();
    if (this.overlayDirty) this.updateOverlays();
    ls.cpuMs = Math.round(c1 - c0);
    if (this.selectT0 && !this.selectShown && (this.r.highlighted || !S.selection.value?.length) && S.selection.value) {
      // The first frame that shows the selection highlighted (drawn on top).
      this.selectShown = true;
      ls.selectShownMs = Math.round(performance.now() - this.selectT0);
    }
    if (this.selectT0 && !moving && (this.mode === 'still' || this.mode === 'loading')) {
      this.selectShown = false;
      // The selection's colours are on screen for the whole view.
      ls.selectMs = Math.round(performance.now() - this.selectT0);
      S.selectMs.value = ls.selectMs as number;
      this.selectT0 = 0;
    }
    ls.overlayMs = Math.round(performance.now() - c1);
    if (more) this.requestFrame();
  };

  /** Whether a finished layer can stand in for the view, moved (same zoom, mostly on screen). */
  private canShift(sh: Shown | null, d: ScopeData): boolean {
    if (!sh || !sh.complete || !this.allIn || !d) return false;
    if (Math.abs(sh.t.k - this.surface.t.k) > 1e-9 * this.surface.t.k) return false;
    return Math.abs(this.surface.t.x - sh.t.x) < this.surface.W * 0.8 && Math.abs(this.surface.t.y - sh.t.y) < this.surface.H * 0.8;
  }

  /**
   * The finished layer `sh` moved to the current view, plus a sample of the
   * points in the strips it no longer covers (drawn only there). Returns the
   * points shown.
   */
  private drawShifted(sh: Shown, d: ScopeData, cam: Camera, style: PointStyle, exact: Box, bg: RGB, dOp: number): number {
    const r = this.r;
    const dx = this.surface.t.x - sh.t.x;
    const dy = this.surface.t.y - sh.t.y;
    r.begin(bg);
    r.drawDensity(cam, dOp);
    r.drawLayer(sh.slot, dx * this.surface.dpr, dy * this.surface.dpr);
    const inter: Box = [Math.max(exact[0], sh.box[0]), Math.max(exact[1], sh.box[1]), Math.min(exact[2], sh.box[2]), Math.min(exact[3], sh.box[3])];
    let n = inter[0] < inter[2] && inter[1] < inter[3] ? countIn(d.xy, d.colors, sh.ranges, inter) : 0;
    // Strips in CSS px: [x, y, w, h]; the vertical one full height, the
    // horizontal one beside it.
    const W = this.surface.W, H = this.surface.H;
    const strips: [number, number, number, number][] = [];
    const vx0 = dx > 0 ? 0 : W + dx;
    const vw = Math.abs(dx);
    if (vw > 0.5) strips.push([vx0, 0, vw, H]);
    const hx0 = dx > 0 ? dx : 0;
    const hw = W - vw;
    if (Math.abs(dy) > 0.5 && hw > 0.5) strips.push([hx0, dy > 0 ? 0 : H + dy, hw, Math.abs(dy)]);
    const area = strips.reduce((a, s) => a + s[2] * s[3], 0);
    const pad = style.size / this.surface.dpr;
    for (const s of strips) {
      const [ax, ay] = this.toData(s[0], s[1] + s[3]);
      const [bx, by] = this.toData(s[0] + s[2], s[1]);
      const [px] = this.toData(s[0] + pad, 0);
      const m = px - this.toData(s[0], 0)[0];
      sampleRanges(d.nodes, this.uploaded, [ax - m, ay - m, bx + m, by + m], Math.max(5000, Math.round((this.budget * s[2] * s[3]) / area)), this.buf);
      r.scissor([s[0] * this.surface.dpr, s[1] * this.surface.dpr, s[2] * this.surface.dpr, s[3] * this.surface.dpr]);
      r.drawPoints(cam, style, this.buf);
      n += countIn(d.xy, d.colors, this.buf, [Math.max(ax, exact[0]), Math.max(ay, exact[1]), Math.min(bx, exact[2]), Math.min(by, exact[3])]);
    }
    r.scissor(null);
    return n;
  }

  /** Adapts the vertex budget to the median of the last frame times while moving. */
  private adaptBudget(raise = true) {
    // The first two frames of a gesture do not count.
    if (this.movingFrames++ > 1 && ls.frameMs > 0 && !this.fixedBudget) {
      const q = this.recent;
      q.push(ls.frameMs);
      if (q.length > 5) q.shift();
      const med = [...q].sort((a, b) => a - b)[q.length >> 1];
      if (q.length >= 3 && med > 95) this.budget = Math.max(25_000, Math.round(this.budget * 0.85));
      else if (raise && med < 55) this.budget = Math.min(this.maxBudget, Math.round(this.budget * 1.12));
    }
  }

  // ---- overlays: hull, hover and pin markers (SVG); labels (GL) ----------------

  private updateOverlays() {
    this.overlayDirty = false;
    const d = this.data;
    if (!d) return;
    let any = false;
    // Hover and pin markers.
    const h = S.hovered.value;
    const place = (dot: SVGCircleElement, row: number | null) => {
      const j = row === null || row >= d.rowToLod.length ? -1 : d.rowToLod[row];
      if (j < 0) {
        dot.style.display = 'none';
        return;
      }
      const [sx, sy] = this.toScreen(d.xy[2 * j], d.xy[2 * j + 1]);
      dot.setAttribute('cx', sx.toFixed(1));
      dot.setAttribute('cy', sy.toFixed(1));
      dot.style.display = '';
      any = true;
    };
    place(this.hoverDot, this.transition ? null : (h?.row ?? null));
    const tr = S.tableHover.value;
    place(this.rowDot, this.transition ? null : tr);
    this.rowDot.setAttribute('data-row', tr === null ? '' : String(tr));
    if (this.drawSelPath()) any = true;
    place(this.pinDot, this.transition ? null : S.pinned.value);
    // Hull of the hovered cluster, else of the selected one.
    const hc = h ? h.cluster : S.selectedCluster.value;
    const lab = hc !== null && hc !== undefined ? d.json.labels[hc] : undefined;
    if (lab && lab.hull.length > 2 && !this.transition) {
      let path = '';
      for (const row of lab.hull) {
        const j = row < d.rowToLod.length ? d.rowToLod[row] : -1;
        if (j < 0) continue;
        const [sx, sy] = this.toScreen(d.xy[2 * j], d.xy[2 * j + 1]);
        path += `${path ? 'L' : 'M'}${sx.toFixed(1)},${sy.toFixed(1)}`;
      }
      this.hull.setAttribute('d', path ? path + 'Z' : '');
      const col = this.palette[hc!];
      this.hull.style.stroke = col ? css(col) : '';
      this.hull.style.fill = col ? css(col, 0.08) : '';
      this.hull.style.display = path ? '' : 'none';
      any = any || !!path;
    } else {
      this.hull.style.display = 'none';
    }
    // An empty SVG is not drawn at all (no layer to composite).
    this.svg.style.display = any ? '' : 'none';
  }

  /** Label text width (CSS px), cached. */
  private labelWidth(text: string, px: number): number {
    const key = `${px}|${text}`;
    let w = this.labelWidths.get(key);
    if (w === undefined) {
      w = this.atlas.width(text, px);
      this.labelWidths.set(key, w);
    }
    return w;
  }

  /**
   * Labels at cluster centroids: each in its zoom range (from the scope),
   * biggest first, skipping any that would overlap one already placed; the
   * hovered and selected clusters' labels always, underlined in their colour.
   */
  private drawLabels(d: ScopeData, alpha: number) {
    this.labelAlpha = alpha;
    const z = Math.log2(this.surface.t.k);
    const sel = S.selectedCluster.value;
    const hot = S.hovered.value?.cluster ?? sel;
    const all = d.json.labels;
    let maxCount = 1;
    for (const l of all) if (l.cluster !== d.unclustered && l.count > maxCount) maxCount = l.count;
    const cand: { l: LabelInfo; x: number; y: number; w: number; h: number; fs: number; pri: number }[] = [];
    for (const l of all) {
      if (l.cluster === d.unclustered || !l.label) continue;
      const [zmin, zmax] = l.zoom;
      const forced = l.cluster === sel || l.cluster === hot;
      const inRange = zmin !== null && z >= zmin - 0.15 && (zmax === null || z <= zmax + 1);
      if (!inRange && !forced) continue;
      const [x, y] = this.toScreen(l.centroid[0], l.centroid[1]);
      if (x < -200 || y < -30 || x > this.surface.W + 200 || y > this.surface.H + 30) continue;
      const fs = Math.round(11 + 4 * Math.sqrt(l.count / maxCount));
      const w = this.labelWidth(l.label, fs) + 6;
      cand.push({ l, x, y, w, h: fs + 6, fs, pri: forced ? 1e12 + (l.cluster === sel ? 1 : 0) : l.count });
    }
    cand.sort((a, b) => b.pri - a.pri);
    const boxes: typeof this.labelBoxes = [];
    const dark = S.dark.value;
    const fg = dark ? '#e8e8ea' : '#1d1d1f';
    const halo = dark ? 'rgba(19,20,24,0.92)' : 'rgba(250,250,249,0.94)';
    const scale = this.surface.dpr;
    this.atlas.fg = fg;
    const A = this.atlas.size;
    let n = 0;
    const gen = this.atlas.generation;
    // Each box is kept inside the canvas (shifted inward) and clear of the status line.
    const foot = this.footBox();
    const W = this.surface.W, H = this.surface.H;
    for (const c of cand) {
      let x0 = Math.min(Math.max(c.x - c.w / 2, 2), W - c.w - 2);
      let y0 = Math.min(Math.max(c.y - c.h / 2, 2), H - c.h - 2);
      if (c.w > W - 4) x0 = (W - c.w) / 2;
      if (foot && x0 < foot.x1 && x0 + c.w > foot.x0 && y0 < foot.y1 && y0 + c.h > foot.y0) y0 = foot.y0 - c.h;
      const b = { c: c.l.cluster, x0, y0, x1: x0 + c.w, y1: y0 + c.h };
      if (boxes.some((p) => p.x0 < b.x1 && p.x1 > b.x0 && p.y0 < b.y1 && p.y1 > b.y0)) continue;
      const isHot = c.l.cluster === hot || c.l.cluster === sel;
      const col = isHot ? css(this.palette[c.l.cluster] ?? [128, 128, 128]) : fg;
      const e = this.atlas.get(`${c.l.cluster}|${c.fs}|${isHot ? 1 : 0}`, c.l.label, c.fs, scale, col, halo, isHot);
      if (this.atlas.generation !== gen) {
        // The atlas filled up and was cleared: draw the rest next frame.
        this.requestFrame();
        break;
      }
      if (!e) continue;
      boxes.push(b);
      if ((n + 1) * 24 > this.labelVerts.length) {
        const bigger = new Float32Array(this.labelVerts.length * 2);
        bigger.set(this.labelVerts);
        this.labelVerts = bigger;
      }
      // Device px quad centred on the centroid, and its atlas uv.
      const qx0 = Math.round(((b.x0 + b.x1) / 2) * scale - e.w / 2), qy0 = Math.round(((b.y0 + b.y1) / 2) * scale - e.h / 2);
      const qx1 = qx0 + e.w, qy1 = qy0 + e.h;
      const u0 = e.x / A, v0 = e.y / A, u1 = (e.x + e.w) / A, v1 = (e.y + e.h) / A;
      this.labelVerts.set([qx0, qy0, u0, v0, qx1, qy0, u1, v0, qx0, qy1, u0, v1, qx0, qy1, u0, v1, qx1, qy0, u1, v0, qx1, qy1, u1, v1], n * 24);
      n++;
    }
    this.labelBoxes = boxes;
    ls.labels = n;
    this.r.drawText(this.labelVerts, n, alpha);
  }

  /** The status line's box in map CSS px (widened by 4 px), measured at most every 500 ms. */
  private footBox() {
    const now = performance.now();
    if (now - this.footAt > 500) {
      this.footAt = now;
      const f = this.el.parentElement?.parentElement?.querySelector('.map-foot');
      const r = f?.getBoundingClientRect();
      const m = this.el.getBoundingClientRect();
      this.foot = r && r.width > 0 ? { x0: r.left - m.left - 4, y0: r.top - m.top - 4, x1: r.right - m.left + 4, y1: r.bottom - m.top + 4 } : null;
    }
    return this.foot;
  }

  private labelAt(sx: number, sy: number): number | null {
    if (this.labelAlpha < 0.5) return null;
    for (const b of this.labelBoxes) if (sx >= b.x0 && sx <= b.x1 && sy >= b.y0 && sy <= b.y1) return b.c;
    return null;
  }

  // ---- hover and click -------------------------------------------------------

  private pick(sx: number, sy: number): number {
    const d = this.data;
    if (!d || !d.loaded) return -1;
    if (!this.grid || (this.grid.count < d.loaded && (d.complete || this.grid.count < d.loaded / 2))) {
      this.grid = new Grid(d.xy, d.loaded);
    }
    const [x, y] = this.toData(sx, sy);
    const rPx = Math.max(8, this.pointSizePx() + 4);
    const j = this.grid.nearest(d.xy, x, y, rPx / (this.surface.t.k * this.surface.s0), (i) => d.colors[4 * i + 3] === 0);
    return j;
  }

  private onMove = (e: PointerEvent) => {
    if (e.buttons || this.transition || e.pointerType === 'touch') return;
    const d = this.data;
    if (!d) return;
    const rect = this.el.getBoundingClientRect();
    const sx = e.clientX - rect.left, sy = e.clientY - rect.top;
    // Points first; a label only where no point is near.
    const j = this.pick(sx, sy);
    if (j < 0) {
      if (S.hovered.value) S.hovered.value = null;
      this.el.style.cursor = this.labelAt(sx, sy) !== null ? 'pointer' : '';
      return;
    }
    const row = d.idx[j];
    const [px, py] = this.toScreen(d.xy[2 * j], d.xy[2 * j + 1]);
    const cur = S.hovered.value;
    if (!cur || cur.row !== row) S.hovered.value = { row, cluster: d.cluster[j], x: px, y: py };
    this.el.style.cursor = 'pointer';
  };

  private onLeave = () => {
    S.hovered.value = null;
  };

  private onClick = (e: MouseEvent) => {
    if (this.drawer.takeClick()) return;
    if (e.defaultPrevented || !this.data) return;
    const rect = this.el.getBoundingClientRect();
    const sx = e.clientX - rect.left, sy = e.clientY - rect.top;
    // A point under the cursor pins it; else a label selects its cluster.
    const j = this.pick(sx, sy);
    if (j >= 0) {
      S.pinned.value = this.data.idx[j];
      return;
    }
    const lc = this.labelAt(sx, sy);
    if (lc !== null) {
      S.selectedCluster.value = lc;
      this.zoomToCluster(lc);
      return;
    }
    S.pinned.value = null;
  };

  private onDblClick = (e: MouseEvent) => {
    const rect = this.el.getBoundingClientRect();
    const [x, y] = this.toData(e.clientX - rect.left, e.clientY - rect.top);
    const v = this.view();
    this.animateTo({ x: v.x + (x - v.x) / 2, y: v.y + (y - v.y) / 2, k: v.k * 2 }, 350);
  };
}

