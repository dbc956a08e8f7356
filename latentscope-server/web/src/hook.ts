// `window.__ls`: the measurement hook (a contract: firstPaintMs, frameMs,
// drawn, total are own data properties of a plain object), plus a few
// read-only helpers for tests.

export interface LsHook {
  /** performance.now() at the end of the first frame that drew points. */
  firstPaintMs: number | null;
  /** The last frame's rAF-to-rAF time. */
  frameMs: number;
  /** Points now shown on screen, counting those in the cached layer. */
  drawn: number;
  /** The scope's row count. */
  total: number;
  [extra: string]: unknown;
}

declare global {
  interface Window {
    __ls: LsHook;
  }
}

export const ls: LsHook = { firstPaintMs: null, frameMs: 0, drawn: 0, total: 0 };
window.__ls = ls;
