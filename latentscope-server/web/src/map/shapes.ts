// Box and lasso selection shapes: drawing one in screen px, turning it into
// data coordinates, testing points against it, and its SVG outline.

export type ShapeKind = 'box' | 'lasso';

/** A shape in data coordinates: a box [x0, y0, x1, y1] or a lasso (x, y, x, y, …). */
export interface Shape {
  kind: ShapeKind;
  pts: number[];
}

/** A shape being drawn (screen px) by one pointer; `add`: added to the shapes (shift). */
export interface Drawing {
  kind: ShapeKind;
  pts: number[];
  add: boolean;
  id: number;
}

type Project = (x: number, y: number) => [number, number];

/** Whether (x, y) is inside the polygon [x, y, x, y, …] (even–odd rule). */
export function inPolygon(p: number[], x: number, y: number): boolean {
  let inside = false;
  const n = p.length >> 1;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = p[2 * i], yi = p[2 * i + 1], xj = p[2 * j], yj = p[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The bounding box [x0, y0, x1, y1] of points (x, y, x, y, …). */
export function boundsOf(p: number[]): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < p.length; k += 2) {
    x0 = Math.min(x0, p[k]);
    x1 = Math.max(x1, p[k]);
    y0 = Math.min(y0, p[k + 1]);
    y1 = Math.max(y1, p[k + 1]);
  }
  return [x0, y0, x1, y1];
}

/** Marks in `mask` (by row, through `rowOf`) the points of `xy` inside a shape, skipping those `skip` says. */
export function markInside(sh: Shape, xy: ArrayLike<number>, count: number, rowOf: ArrayLike<number>, skip: (i: number) => boolean, mask: Uint8Array) {
  const p = sh.pts;
  const [x0, y0, x1, y1] = boundsOf(p);
  const box = sh.kind === 'box';
  for (let i = 0; i < count; i++) {
    const x = xy[2 * i], y = xy[2 * i + 1];
    if (x < x0 || x > x1 || y < y0 || y > y1 || skip(i)) continue;
    if (box || inPolygon(p, x, y)) mask[rowOf[i]] = 1;
  }
}

/** Follows the pointer: a box's far corner, or the lasso's next point (2 px apart at least). */
export function extendDrawing(dr: Drawing, sx: number, sy: number) {
  if (dr.kind === 'box') dr.pts = [dr.pts[0], dr.pts[1], sx, sy];
  else {
    const n = dr.pts.length;
    if (Math.hypot(sx - dr.pts[n - 2], sy - dr.pts[n - 1]) >= 2) dr.pts.push(sx, sy);
  }
}

/** The finished drawing as a shape in data coordinates, or null when it was a click (or too few points). */
export function finishDrawing(dr: Drawing, toData: Project): Shape | null {
  const p = dr.pts;
  const [x0, y0, x1, y1] = boundsOf(p);
  if (x1 - x0 < 3 && y1 - y0 < 3) return null;
  if (dr.kind === 'lasso' && p.length < 6) return null;
  if (dr.kind === 'box') return { kind: 'box', pts: [...toData(x0, y1), ...toData(x1, y0)] };
  const pts: number[] = [];
  for (let k = 0; k < p.length; k += 2) pts.push(...toData(p[k], p[k + 1]));
  return { kind: 'lasso', pts };
}

/** The SVG path of the shapes (data coordinates, through `toScreen`) and of the one being drawn (screen px). */
export function outlinePath(shapes: readonly Shape[], toScreen: Project, drawing: Drawing | null): string {
  let path = '';
  const f = (v: number) => v.toFixed(1);
  for (const sh of shapes) {
    const p = sh.pts;
    if (sh.kind === 'box') {
      const [ax, ay] = toScreen(p[0], p[1]);
      const [bx, by] = toScreen(p[2], p[3]);
      path += `M${f(ax)},${f(ay)}L${f(bx)},${f(ay)}L${f(bx)},${f(by)}L${f(ax)},${f(by)}Z`;
    } else {
      for (let k = 0; k < p.length; k += 2) {
        const [x, y] = toScreen(p[k], p[k + 1]);
        path += `${k ? 'L' : 'M'}${f(x)},${f(y)}`;
      }
      path += 'Z';
    }
  }
  const dr = drawing;
  if (dr) {
    const p = dr.pts;
    if (dr.kind === 'box' && p.length === 4) path += `M${f(p[0])},${f(p[1])}L${f(p[2])},${f(p[1])}L${f(p[2])},${f(p[3])}L${f(p[0])},${f(p[3])}Z`;
    else if (dr.kind === 'lasso') for (let k = 0; k < p.length; k += 2) path += `${k ? 'L' : 'M'}${f(p[k])},${f(p[k + 1])}`;
  }
  return path;
}
