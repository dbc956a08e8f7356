// Choosing what to draw from the LOD node table (EXPLORER.md §3): while the
// view moves, a uniform sample of the visible cells within a vertex budget;
// once it is still, every point of every visible cell, chunk by chunk.
import type { LodNode } from '../api';

export type Box = [number, number, number, number];

export function meets(n: LodNode, b: Box): boolean {
  return n.x0 <= b[2] && n.x0 + n.size >= b[0] && n.y0 <= b[3] && n.y0 + n.size >= b[1];
}

function avail(n: LodNode, loaded: number): number {
  const a = loaded - n.start;
  return a <= 0 ? 0 : a >= n.count ? n.count : a;
}

/**
 * The sample: whole levels of the visible nodes, shallowest first, while they
 * fit the budget, then the same fraction of each node of the next level
 * (each node's points are a random sample of its cell, so a prefix is too).
 * Writes [start, count, …] into `out`; returns the vertex count.
 */
export function sampleRanges(nodes: LodNode[], loaded: number, box: Box, budget: number, out: number[]): number {
  out.length = 0;
  let total = 0;
  let i = 0;
  while (i < nodes.length) {
    const depth = nodes[i].depth;
    const first = i;
    let sum = 0;
    while (i < nodes.length && nodes[i].depth === depth) {
      if (meets(nodes[i], box)) sum += avail(nodes[i], loaded);
      i++;
    }
    if (sum === 0) continue;
    const f = total + sum <= budget ? 1 : (budget - total) / sum;
    for (let j = first; j < i; j++) {
      const n = nodes[j];
      if (!meets(n, box)) continue;
      const c = f >= 1 ? avail(n, loaded) : Math.floor(avail(n, loaded) * f);
      if (c > 0) {
        out.push(n.start, c);
        total += c;
      }
    }
    if (f < 1) break;
  }
  return total;
}

/** Every point of the visible cells, in LOD order, drawn a chunk at a time. */
export class Refinement {
  ranges: number[] = [];
  private visible: LodNode[] = [];
  private planned = 0;
  private at = 0;
  private offset = 0;
  /** Points handed out so far. */
  done = 0;
  total = 0;

  constructor(nodes: LodNode[], public box: Box, loaded: number) {
    this.visible = nodes.filter((n) => meets(n, box));
    this.extend(loaded);
  }

  /** Adds the points that arrived since (their nodes' loaded parts). */
  extend(loaded: number) {
    if (loaded <= this.planned) return;
    for (const n of this.visible) {
      const before = avail(n, this.planned);
      const now = avail(n, loaded);
      if (now > before) {
        this.ranges.push(n.start + before, now - before);
        this.total += now - before;
      }
    }
    this.planned = loaded;
  }

  get finished() {
    return this.done >= this.total;
  }

  /** The next ranges, up to `budget` points. */
  next(budget: number, out: number[]): number {
    out.length = 0;
    let got = 0;
    while (got < budget && this.at < this.ranges.length) {
      const s = this.ranges[this.at], c = this.ranges[this.at + 1];
      const take = Math.min(c - this.offset, budget - got);
      out.push(s + this.offset, take);
      got += take;
      this.offset += take;
      if (this.offset >= c) {
        this.at += 2;
        this.offset = 0;
      }
    }
    this.done += got;
    return got;
  }
}

/** How many points of the ranges lie in the box (and are not hidden). */
export function countIn(xy: Float32Array, colors: Uint8Array, ranges: number[], b: Box): number {
  let n = 0;
  const [x0, y0, x1, y1] = b;
  for (let r = 0; r < ranges.length; r += 2) {
    for (let i = ranges[r], e = ranges[r] + ranges[r + 1]; i < e; i++) {
      const x = xy[2 * i], y = xy[2 * i + 1];
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && colors[4 * i + 3] !== 0) n++;
    }
  }
  return n;
}
