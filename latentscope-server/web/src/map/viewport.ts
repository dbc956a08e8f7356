// The maths of a map's view: a d3-zoom transform over a W × H surface whose
// data square [-1, 1]² fits the shorter side (s0 CSS px per data unit at
// zoom 1). Data y points up, screen y down.
import { zoomIdentity, type ZoomTransform } from 'd3-zoom';
import type { Camera } from './renderer';

export const MIN_ZOOM = 0.5;
export const MAX_ZOOM = 8192;

export interface View {
  /** Data coordinates of the centre. */
  x: number;
  y: number;
  /** Zoom (1: the whole map). */
  k: number;
}

/** A surface's size and transform. */
export interface ViewGeometry {
  t: { x: number; y: number; k: number };
  W: number;
  H: number;
  s0: number;
}

/** CSS px per data unit at zoom 1 for a W × H surface. */
export function baseScale(W: number, H: number): number {
  return (Math.min(W, H) / 2) * 0.92;
}

export function viewOf(g: ViewGeometry): View {
  const { x: tx, y: ty, k } = g.t;
  return {
    x: (g.W / 2 - tx - (k * g.W) / 2) / (k * g.s0),
    y: -(g.H / 2 - ty - (k * g.H) / 2) / (k * g.s0),
    k,
  };
}

/** The transform that shows a view (its zoom clamped to the zoom extent). */
export function transformFor(g: ViewGeometry, v: View): ZoomTransform {
  const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.k));
  const tx = g.W / 2 - (k * g.W) / 2 - k * g.s0 * v.x;
  const ty = g.H / 2 - (k * g.H) / 2 + k * g.s0 * v.y;
  return zoomIdentity.translate(tx, ty).scale(k);
}

/** The renderer's camera (clip space) for a view. */
export function cameraOf(g: ViewGeometry): Camera {
  const { x: tx, y: ty, k } = g.t;
  return {
    sx: (2 * k * g.s0) / g.W,
    sy: (2 * k * g.s0) / g.H,
    ox: (2 * (tx + (k * g.W) / 2)) / g.W - 1,
    oy: 1 - (2 * (ty + (k * g.H) / 2)) / g.H,
  };
}

export function dataToScreen(g: ViewGeometry, x: number, y: number): [number, number] {
  const { x: tx, y: ty, k } = g.t;
  return [tx + k * (g.W / 2 + x * g.s0), ty + k * (g.H / 2 - y * g.s0)];
}

export function screenToData(g: ViewGeometry, sx: number, sy: number): [number, number] {
  const { x: tx, y: ty, k } = g.t;
  return [(sx - tx - (k * g.W) / 2) / (k * g.s0), -(sy - ty - (k * g.H) / 2) / (k * g.s0)];
}

/** A point's size in CSS px: the chosen size, grown a little with the zoom. */
export function pointSizeAt(size: number, k: number): number {
  return size * Math.min(Math.max(Math.pow(k, 0.3), 1), 4);
}
