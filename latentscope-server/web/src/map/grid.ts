// A uniform grid over [-1, 1]² of every loaded point, for hover: the nearest
// point to the cursor within a radius.

export class Grid {
  readonly g: number;
  start: Uint32Array;
  items: Uint32Array;
  count = 0;

  constructor(xy: Float32Array, n: number, g = 256) {
    this.g = g;
    const cells = g * g;
    const start = new Uint32Array(cells + 1);
    const cellOf = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const c = this.cell(xy[2 * i], xy[2 * i + 1]);
      cellOf[i] = c;
      start[c + 1]++;
    }
    for (let c = 0; c < cells; c++) start[c + 1] += start[c];
    const fill = start.slice(0, cells);
    const items = new Uint32Array(n);
    for (let i = 0; i < n; i++) items[fill[cellOf[i]]++] = i;
    this.start = start;
    this.items = items;
    this.count = n;
  }

  private coord(v: number) {
    const c = Math.floor(((v + 1) / 2) * this.g);
    return c < 0 ? 0 : c >= this.g ? this.g - 1 : c;
  }

  private cell(x: number, y: number) {
    return this.coord(y) * this.g + this.coord(x);
  }

  /**
   * The nearest point to (x, y) within r (data units), skipping points for
   * which `skip(i)` is true; -1 if none.
   */
  nearest(xy: Float32Array, x: number, y: number, r: number, skip?: (i: number) => boolean): number {
    const cx0 = this.coord(x - r), cx1 = this.coord(x + r);
    const cy0 = this.coord(y - r), cy1 = this.coord(y + r);
    let best = -1;
    let bd = r * r;
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let cx = cx0; cx <= cx1; cx++) {
        const c = cy * this.g + cx;
        for (let k = this.start[c], e = this.start[c + 1]; k < e; k++) {
          const i = this.items[k];
          const dx = xy[2 * i] - x, dy = xy[2 * i + 1] - y;
          const d = dx * dx + dy * dy;
          if (d <= bd && !(skip && skip(i))) {
            // Ties: the later point (drawn on top) wins.
            if (d < bd || i > best) {
              bd = d;
              best = i;
            }
          }
        }
      }
    }
    return best;
  }
}
