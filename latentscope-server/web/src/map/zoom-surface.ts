// A map surface's view state: its size (CSS px), device pixel ratio and
// d3-zoom transform, with d3-zoom on its element (the wheel zooms, a drag
// pans when panning is on, double-click zoom off) and the renderer sized
// with it. The maths of the view are in viewport.ts.
import { zoom, zoomIdentity, type D3ZoomEvent, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { select, type Selection } from 'd3-selection';
import type { Camera, Renderer } from './renderer';
import { baseScale, cameraOf, dataToScreen, MAX_ZOOM, MIN_ZOOM, screenToData, transformFor, viewOf, type View, type ViewGeometry } from './viewport';

export type ZoomEvent = D3ZoomEvent<HTMLDivElement, unknown>;

export class ZoomSurface implements ViewGeometry {
  t: ZoomTransform = zoomIdentity;
  W = 1;
  H = 1;
  s0 = 1;
  dpr = 1;
  readonly behavior: ZoomBehavior<HTMLDivElement, unknown>;
  private sel: Selection<HTMLDivElement, unknown, null, undefined>;

  /** `canPan`: whether a primary-button drag pans now; `onZoom`: after each transform d3-zoom sets. */
  constructor(
    private el: HTMLDivElement,
    private r: Renderer,
    canPan: () => boolean,
    onZoom: (e: ZoomEvent) => void,
  ) {
    this.behavior = zoom<HTMLDivElement, unknown>()
      .scaleExtent([MIN_ZOOM, MAX_ZOOM])
      // Dragging pans with the pan tool (or the middle button); the wheel always zooms.
      .filter((e: MouseEvent) => e.type === 'wheel' || (!e.ctrlKey && ((canPan() && !e.button) || e.button === 1)))
      .on('zoom', (e: ZoomEvent) => {
        this.t = e.transform;
        onZoom(e);
      });
    this.sel = select<HTMLDivElement, unknown>(el);
    this.sel.call(this.behavior).on('dblclick.zoom', null);
  }

  /** Takes a new size (CSS px): the data scale, the device pixel ratio, the renderer and the zoom extent follow. */
  setSize(width: number, height: number) {
    this.W = Math.max(1, width);
    this.H = Math.max(1, height);
    this.s0 = baseScale(this.W, this.H);
    this.dpr = this.r.software ? 1 : Math.min(window.devicePixelRatio || 1, 2);
    this.r.resize(this.W, this.H, this.dpr);
    this.behavior.extent([
      [0, 0],
      [this.W, this.H],
    ]);
  }

  view(): View {
    return viewOf(this);
  }

  /** Moves to a view: through d3-zoom (a zoom event follows), or, `silent`, setting d3-zoom's state and ours without an event. */
  setView(v: View, silent: boolean) {
    const t = transformFor(this, v);
    if (silent) {
      (this.el as unknown as { __zoom: ZoomTransform }).__zoom = t;
      this.t = t;
    } else this.sel.call(this.behavior.transform, t);
  }

  camera(): Camera {
    return cameraOf(this);
  }

  toScreen(x: number, y: number): [number, number] {
    return dataToScreen(this, x, y);
  }

  toData(sx: number, sy: number): [number, number] {
    return screenToData(this, sx, sy);
  }
}
