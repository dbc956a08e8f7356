// A map pane of the compare pages: every row of a layout (no LOD table: the
// rows are drawn in a fixed random order, so any prefix is a uniform
// sample), our WebGL2 renderer, d3-zoom, hover, box and lasso, rows
// highlighted, and a transition between two layouts (the renderer lerps
// each point from one place to the other). Panes are linked by the page:
// the same view, the same hovered row, the same selection.
import { Renderer } from './renderer';
import { Grid } from './grid';
import { BG_DARK, BG_LIGHT } from './palette';
import { pointSizeAt, type View } from './viewport';
import { ZoomSurface } from './zoom-surface';
import { svgElement } from './svg';
import { markInside, outlinePath, type Shape } from './shapes';
import { ShapeDrawer } from './shape-drawer';

const STILL_MS = 140;
export { BG_DARK, BG_LIGHT };

export type PaneTool = 'pan' | 'box' | 'lasso';
/** A selection shape in the pane's data coordinates. */
export type PaneShape = Shape;

/** A fixed random order of n rows (position → row) and its inverse (row → position). */
export function drawOrder(n: number, seed = 1): { order: Uint32Array; posOf: Int32Array } {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let s = seed >>> 0;
  const rand = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const x = order[i];
    order[i] = order[j];
    order[j] = x;
  }
  const posOf = new Int32Array(n);
  for (let p = 0; p < n; p++) posOf[order[p]] = p;
  return { order, posOf };
}

/** Shared by the panes of a page: the frame time and the vertex budget while moving. */
export class FrameClock {
  frameMs = 0;
  private prev = 0;
  private recent: number[] = [];
  budget = 1_000_000;
  max = 8_000_000;
  fixed = false;
  /** Software GL draws far fewer points a frame. */
  configure(software: boolean) {
    this.budget = software ? 60_000 : 1_000_000;
    this.max = software ? 200_000 : 8_000_000;
  }
  tick(now: number) {
    if (now === this.prev) return;
    if (this.prev && now - this.prev < 400) this.frameMs = now - this.prev;
    this.prev = now;
  }
  /** Adapts the budget to the median of the last frame times while moving. */
  adapt() {
    if (this.fixed || !this.frameMs) return;
    const q = this.recent;
    q.push(this.frameMs);
    if (q.length > 5) q.shift();
    const med = [...q].sort((a, b) => a - b)[q.length >> 1];
    if (q.length >= 3 && med > 85) this.budget = Math.max(15_000, Math.round(this.budget * 0.85));
    else if (med < 50) this.budget = Math.min(this.max, Math.round(this.budget * 1.1));
  }
  rest() {
    this.recent.length = 0;
  }
}

export class Pane {
  readonly el: HTMLDivElement;
  readonly r: Renderer;
  private svg: SVGSVGElement;
  private hoverDot: SVGCircleElement;
  private pinDot: SVGCircleElement;
  private selPath: SVGPathElement;
  private surface: ZoomSurface;
  private raf = 0;
  private stillTimer = 0;
  private lastChange = -1e9;
  private destroyed = false;
  private disposers: (() => void)[] = [];
  private grid: Grid | null = null;
  private gridT = -1;
  private pickXY: Float32Array | null = null;
  private drawer: ShapeDrawer;

  n = 0;
  /** Position (draw order) → row. */
  order: Uint32Array = new Uint32Array(0);
  /** Row → position (-1: not in this pane). */
  posOf: Int32Array = new Int32Array(0);
  /** Positions (interleaved x, y, in draw order): the layout shown (the end of a transition). */
  xy: Float32Array = new Float32Array(0);
  /** Where a transition starts (draw order), or null. */
  from: Float32Array | null = null;
  /** The transition's progress: 0 at `from`, 1 at `xy`. */
  tr = 1;
  colors = new Uint8Array(0);
  tool: PaneTool = 'pan';
  pointSize = 2;
  opacity = 0.85;
  dark = false;
  /** Points drawn in the last frame. */
  drawn = 0;
  mode: 'idle' | 'sample' | 'still' = 'idle';
  firstPaint: number | null = null;
  hoverRow: number | null = null;
  pinRow: number | null = null;
  /** Shapes (data coordinates) drawn in this pane, shown until cleared. */
  shapes: PaneShape[] = [];
  private hl = 0;

  onView: ((v: View) => void) | null = null;
  onHover: ((row: number | null, x: number, y: number) => void) | null = null;
  onShape: ((s: PaneShape, add: boolean) => void) | null = null;
  onClick: ((row: number | null) => void) | null = null;
  onFrame: (() => void) | null = null;

  constructor(
    parent: HTMLElement,
    private clock: FrameClock | null,
    label: string,
  ) {
    const el = document.createElement('div');
    el.className = 'map-surface';
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', `${label}: scroll to zoom, drag to pan, hover a point`);
    this.el = el;
    this.drawer = new ShapeDrawer(el, {
      kind: () => (this.tool === 'pan' || !this.n ? null : this.tool),
      toData: (sx, sy) => this.toData(sx, sy),
      started: () => {
        if (this.hoverRow !== null) this.onHover?.(null, 0, 0);
      },
      moved: () => this.placeMarkers(),
      ended: () => this.placeMarkers(),
      drawn: (shape, add) => this.onShape?.(shape, add),
    });
    const canvas = document.createElement('canvas');
    canvas.className = 'map-canvas';
    el.appendChild(canvas);
    this.r = new Renderer(canvas);
    this.svg = svgElement('svg', { class: 'map-svg' });
    this.selPath = svgElement('path', { class: 'sel-path' });
    this.pinDot = svgElement('circle', { class: 'pin-dot', r: '7' });
    this.hoverDot = svgElement('circle', { class: 'hover-dot', r: '6', 'data-testid': 'hover-dot' });
    this.svg.append(this.selPath, this.pinDot, this.hoverDot);
    el.appendChild(this.svg);
    parent.appendChild(el);

    this.surface = new ZoomSurface(el, this.r, () => this.tool === 'pan', (e) => {
      this.viewChanged();
      if (e.sourceEvent) this.onView?.(this.view());
    });
    const ro = new ResizeObserver(() => this.resize());
    ro.observe(el);
    this.disposers.push(() => ro.disconnect());
    this.resize();
    el.addEventListener('pointermove', this.onMove);
    el.addEventListener('pointerleave', this.onLeave);
    el.addEventListener('click', this.onClickEv);
    this.drawer.attach();
  }

  destroy() {
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    clearTimeout(this.stillTimer);
    for (const d of this.disposers) d();
    // Contexts are few: hand this one back now.
    this.r.gl.getExtension('WEBGL_lose_context')?.loseContext();
    this.el.remove();
  }

  get software() {
    return this.r.software;
  }

  // ---- data ----------------------------------------------------------------

  /** The rows in draw order (`order`, `posOf`) and where they are (`xy`, in that order). */
  setPoints(order: Uint32Array, posOf: Int32Array, xy: Float32Array) {
    this.n = order.length;
    this.order = order;
    this.posOf = posOf;
    this.xy = xy;
    this.colors = new Uint8Array(4 * this.n);
    this.r.allocate(Math.max(1, this.n));
    this.r.uploadPositions(xy, 0);
    this.from = null;
    this.tr = 1;
    this.grid = null;
    this.pickXY = null;
    this.invalidate();
  }

  /** A transition from `from` (draw order) to the pane's `xy`; null ends it. */
  setFrom(from: Float32Array | null) {
    this.from = from;
    this.r.setFrom(from);
    this.grid = null;
    this.pickXY = null;
    this.gridT = -1;
    this.invalidate();
  }

  setT(t: number) {
    if (t === this.tr) return;
    this.tr = t;
    this.grid = null;
    this.lastChange = performance.now();
    this.requestFrame();
    this.placeMarkers();
  }

  /** Colours by row (RGBA, 4 per row); rows outside `focus` (a mask by row) are faded. */
  setRowColors(rgba: Uint8Array, focus: Uint8Array | null) {
    const bg = this.dark ? BG_DARK : BG_LIGHT;
    const c = this.colors;
    const hl: number[] = [];
    for (let p = 0; p < this.n; p++) {
      const row = this.order[p];
      const o = 4 * p, q = 4 * row;
      let r = rgba[q], g = rgba[q + 1], b = rgba[q + 2], a = rgba[q + 3];
      if (focus && !focus[row]) {
        r = (2 * r + 3 * bg[0]) / 5;
        g = (2 * g + 3 * bg[1]) / 5;
        b = (2 * b + 3 * bg[2]) / 5;
        a = Math.max(1, a * 0.4);
      } else if (focus) hl.push(p);
      c[o] = r;
      c[o + 1] = g;
      c[o + 2] = b;
      c[o + 3] = a;
    }
    this.r.uploadColors(c, 0);
    // The focus drawn again on top, when not too many.
    const keep = focus && hl.length <= 300_000 ? Uint32Array.from(hl) : new Uint32Array(0);
    this.r.setHighlight(keep);
    this.hl = keep.length;
    this.invalidate();
  }

  // ---- view ----------------------------------------------------------------

  private resize() {
    const rect = this.el.getBoundingClientRect();
    if (rect.width === this.surface.W && rect.height === this.surface.H) return;
    const keep = this.surface.W > 1 ? this.view() : null;
    this.surface.setSize(rect.width, rect.height);
    if (keep) this.setView(keep, true);
    this.invalidate();
  }

  view(): View {
    return this.surface.view();
  }

  /** Sets the view; `silent`: no event (a linked pane following another). */
  setView(v: View, silent = false) {
    this.surface.setView(v, silent);
    if (silent) this.viewChanged();
  }

  /** Fits a data box [x0, y0, x1, y1] (plus a margin). */
  fit(b: [number, number, number, number]) {
    const w = Math.max(b[2] - b[0], 1e-3) * 1.08, h = Math.max(b[3] - b[1], 1e-3) * 1.08;
    const k = Math.min(this.surface.W / (w * this.surface.s0), this.surface.H / (h * this.surface.s0));
    this.setView({ x: (b[0] + b[2]) / 2, y: (b[1] + b[3]) / 2, k: Math.max(0.5, Math.min(k, 64)) }, true);
  }

  private viewChanged() {
    this.lastChange = performance.now();
    this.requestFrame();
    this.placeMarkers();
    clearTimeout(this.stillTimer);
    this.stillTimer = window.setTimeout(() => this.requestFrame(), STILL_MS + 10);
  }

  toScreen(x: number, y: number): [number, number] {
    return this.surface.toScreen(x, y);
  }

  toData(sx: number, sy: number): [number, number] {
    return this.surface.toData(sx, sy);
  }

  /** Where a row is now (data coordinates, at the transition's progress), or null. */
  coords(row: number): [number, number] | null {
    const p = row >= 0 && row < this.posOf.length ? this.posOf[row] : -1;
    if (p < 0) return null;
    const x = this.xy[2 * p], y = this.xy[2 * p + 1];
    if (!this.from || this.tr >= 1) return [x, y];
    const u = this.tr;
    return [this.from[2 * p] + (x - this.from[2 * p]) * u, this.from[2 * p + 1] + (y - this.from[2 * p + 1]) * u];
  }

  /** Viewport position of a row, or null. */
  project(row: number): { x: number; y: number; inView: boolean } | null {
    const c = this.coords(row);
    if (!c) return null;
    const [sx, sy] = this.toScreen(c[0], c[1]);
    const rect = this.el.getBoundingClientRect();
    return { x: rect.left + sx, y: rect.top + sy, inView: sx >= 0 && sy >= 0 && sx <= this.surface.W && sy <= this.surface.H };
  }

  /** The rows in view (for checks). */
  countVisible(): number {
    const [x0, y1] = this.toData(0, 0);
    const [x1, y0] = this.toData(this.surface.W, this.surface.H);
    let n = 0;
    for (let p = 0; p < this.n; p++) {
      const c = this.coords(this.order[p])!;
      if (c[0] >= x0 && c[0] <= x1 && c[1] >= y0 && c[1] <= y1 && this.colors[4 * p + 3] !== 0) n++;
    }
    return n;
  }

  // ---- drawing -------------------------------------------------------------

  invalidate() {
    this.lastChange = Math.min(this.lastChange, performance.now() - STILL_MS - 1);
    this.requestFrame();
    this.placeMarkers();
  }

  requestFrame() {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame(this.frame);
  }

  private pointPx() {
    return pointSizeAt(this.pointSize, this.surface.t.k);
  }

  private frame = (now: number) => {
    this.raf = 0;
    if (this.destroyed) return;
    this.clock?.tick(now);
    const bg = this.dark ? BG_DARK : BG_LIGHT;
    const r = this.r;
    r.begin(bg);
    if (!this.n) return;
    const since = performance.now() - this.lastChange;
    const moving = since < STILL_MS;
    const count = moving && this.clock ? Math.min(this.n, this.clock.budget) : this.n;
    const size = this.pointPx() * this.surface.dpr;
    const style = { size, alpha: this.opacity, t: this.from ? this.tr : 1, round: size >= 2.5 * this.surface.dpr };
    const cam = this.surface.camera();
    r.drawPoints(cam, style, [0, count]);
    if (this.hl) {
      const hs = size * 1.5 + this.surface.dpr;
      r.drawHighlight(cam, { ...style, size: hs, alpha: 1, round: hs >= 2.5 * this.surface.dpr });
    }
    r.flush();
    this.drawn = count;
    this.mode = moving ? 'sample' : 'still';
    if (this.firstPaint === null) this.firstPaint = performance.now();
    if (moving) {
      this.clock?.adapt();
      clearTimeout(this.stillTimer);
      this.stillTimer = window.setTimeout(() => this.requestFrame(), STILL_MS - since + 5);
    } else this.clock?.rest();
    this.onFrame?.();
  };

  // ---- hover, markers, selection ---------------------------------------------

  /** Positions at the transition's progress (for picking and selecting). */
  private current(): Float32Array {
    if (!this.from || this.tr >= 1) return this.xy;
    if (this.tr <= 0) return this.from;
    if (this.pickXY && this.gridT === this.tr) return this.pickXY;
    const out = new Float32Array(this.xy.length);
    const u = this.tr;
    for (let i = 0; i < out.length; i++) out[i] = this.from[i] + (this.xy[i] - this.from[i]) * u;
    this.pickXY = out;
    this.gridT = this.tr;
    this.grid = null;
    return out;
  }

  /** The row under a point of the pane (CSS px), or -1. */
  pick(sx: number, sy: number): number {
    if (!this.n) return -1;
    const xy = this.current();
    if (!this.grid) this.grid = new Grid(xy, this.n);
    const [x, y] = this.toData(sx, sy);
    const rPx = Math.max(8, this.pointPx() + 4);
    const p = this.grid.nearest(xy, x, y, rPx / (this.surface.t.k * this.surface.s0), (i) => this.colors[4 * i + 3] === 0);
    return p < 0 ? -1 : this.order[p];
  }

  /** Marks a row (the hovered one, in every linked pane) and the pinned one. */
  mark(hover: number | null, pin: number | null = this.pinRow) {
    this.hoverRow = hover;
    this.pinRow = pin;
    this.placeMarkers();
  }

  private placeMarkers() {
    const place = (dot: SVGCircleElement, row: number | null) => {
      const c = row === null ? null : this.coords(row);
      if (!c) {
        dot.style.display = 'none';
        dot.removeAttribute('data-row');
        return false;
      }
      const [sx, sy] = this.toScreen(c[0], c[1]);
      dot.setAttribute('cx', sx.toFixed(1));
      dot.setAttribute('cy', sy.toFixed(1));
      dot.setAttribute('data-row', String(row));
      dot.style.display = '';
      return true;
    };
    const a = place(this.hoverDot, this.hoverRow);
    const b = place(this.pinDot, this.pinRow);
    const c = this.drawSelPath();
    this.svg.style.display = a || b || c ? '' : 'none';
  }

  private rel(e: PointerEvent | MouseEvent): [number, number] {
    const rect = this.el.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  private onMove = (e: PointerEvent) => {
    if (e.buttons || e.pointerType === 'touch' || this.drawer.drawing) return;
    const [sx, sy] = this.rel(e);
    const row = this.pick(sx, sy);
    const hit = row >= 0 ? row : null;
    this.el.style.cursor = hit === null ? '' : 'pointer';
    if (hit !== this.hoverRow) this.onHover?.(hit, sx, sy);
  };

  private onLeave = () => {
    if (this.hoverRow !== null) this.onHover?.(null, 0, 0);
  };

  private onClickEv = (e: MouseEvent) => {
    if (this.drawer.takeClick()) return;
    const [sx, sy] = this.rel(e);
    const row = this.pick(sx, sy);
    this.onClick?.(row >= 0 ? row : null);
  };

  /** Rows inside a shape (data coordinates of this pane), as a mask by row of length `rows`. */
  rowsIn(s: PaneShape, rows: number, into?: Uint8Array): Uint8Array {
    const m = into ?? new Uint8Array(rows);
    markInside(s, this.current(), this.n, this.order, (i) => this.colors[4 * i + 3] === 0, m);
    return m;
  }

  private drawSelPath(): boolean {
    const path = outlinePath(this.shapes, (x, y) => this.toScreen(x, y), this.drawer.drawing);
    this.selPath.setAttribute('d', path);
    this.selPath.style.display = path ? '' : 'none';
    return !!path;
  }

  setTool(t: PaneTool) {
    this.tool = t;
    this.el.classList.toggle('selecting', t !== 'pan');
  }
}
