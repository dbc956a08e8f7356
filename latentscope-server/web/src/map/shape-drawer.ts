// Drawing a box or lasso on a map surface with the pointer: starts on a
// primary-button press (when a shape tool is on), follows the pointer and,
// on release, hands over the shape in data coordinates.
import { extendDrawing, finishDrawing, type Drawing, type Shape, type ShapeKind } from './shapes';

export interface ShapeDrawerHooks {
  /** The shape to draw now, or null when pressing should not draw (the pan tool, nothing shown…). */
  kind(): ShapeKind | null;
  /** Screen (surface CSS px) → data coordinates. */
  toData(sx: number, sy: number): [number, number];
  /** A drawing started (hover is cleared). */
  started(): void;
  /** The drawing moved: redraw its outline. */
  moved(): void;
  /** The drawing ended (a shape, a click or a cancel): redraw. */
  ended(): void;
  /** A finished shape; `add`: added to the shapes (shift) rather than replacing them. */
  drawn(shape: Shape, add: boolean): void;
}

export class ShapeDrawer {
  /** The shape being drawn (screen px), or null. */
  drawing: Drawing | null = null;
  private justDrawn = false;

  constructor(
    private el: HTMLElement,
    private hooks: ShapeDrawerHooks,
  ) {}

  /** Listens on the surface (in this order: down, move, up, cancel). */
  attach() {
    this.el.addEventListener('pointerdown', this.onDown);
    this.el.addEventListener('pointermove', this.onMove);
    this.el.addEventListener('pointerup', this.onUp);
    this.el.addEventListener('pointercancel', this.onCancel);
  }

  /** Whether a click is the end of a shape just drawn (true once: the click is then not a click). */
  takeClick(): boolean {
    if (!this.justDrawn) return false;
    this.justDrawn = false;
    return true;
  }

  private rel(e: PointerEvent): [number, number] {
    const rect = this.el.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  private onDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    const kind = this.hooks.kind();
    if (!kind) return;
    const [sx, sy] = this.rel(e);
    this.drawing = { kind, pts: [sx, sy], add: e.shiftKey, id: e.pointerId };
    try {
      this.el.setPointerCapture(e.pointerId);
    } catch {
      /* synthetic pointer */
    }
    this.hooks.started();
    e.preventDefault();
  };

  private onMove = (e: PointerEvent) => {
    const dr = this.drawing;
    if (!dr || e.pointerId !== dr.id) return;
    const [sx, sy] = this.rel(e);
    extendDrawing(dr, sx, sy);
    this.hooks.moved();
  };

  private onUp = (e: PointerEvent) => {
    const dr = this.drawing;
    if (!dr || e.pointerId !== dr.id) return;
    this.drawing = null;
    this.hooks.ended();
    // A click, not a shape: the click handler pins the point under it.
    const shape = finishDrawing(dr, (x, y) => this.hooks.toData(x, y));
    if (!shape) return;
    this.justDrawn = true;
    this.hooks.drawn(shape, dr.add);
  };

  private onCancel = () => {
    this.drawing = null;
    this.hooks.ended();
  };
}
