// The density underlay: a histogram of every loaded point over [-1, 1]²,
// coloured by the mean colour of its points, blurred, as an RGBA texture.

export const DENSITY_SIZE = 256;

export class Density {
  readonly g = DENSITY_SIZE;
  private count = new Float32Array(DENSITY_SIZE * DENSITY_SIZE);
  private r = new Float32Array(DENSITY_SIZE * DENSITY_SIZE);
  private gr = new Float32Array(DENSITY_SIZE * DENSITY_SIZE);
  private b = new Float32Array(DENSITY_SIZE * DENSITY_SIZE);
  dirty = true;

  clear() {
    this.count.fill(0);
    this.r.fill(0);
    this.gr.fill(0);
    this.b.fill(0);
    this.dirty = true;
  }

  /** Adds points [start, start + n), weighted by their colour's alpha. */
  add(xy: Float32Array, colors: Uint8Array, start: number, n: number) {
    const g = this.g;
    const { count, r, gr, b } = this;
    for (let i = start, e = start + n; i < e; i++) {
      const a = colors[4 * i + 3];
      if (a === 0) continue;
      let cx = Math.floor(((xy[2 * i] + 1) / 2) * g);
      let cy = Math.floor(((xy[2 * i + 1] + 1) / 2) * g);
      cx = cx < 0 ? 0 : cx >= g ? g - 1 : cx;
      cy = cy < 0 ? 0 : cy >= g ? g - 1 : cy;
      const c = cy * g + cx;
      const w = a / 255;
      count[c] += w;
      r[c] += colors[4 * i] * w;
      gr[c] += colors[4 * i + 1] * w;
      b[c] += colors[4 * i + 2] * w;
    }
    this.dirty = true;
  }

  /** The blurred texture, premultiplied RGBA. */
  texture(): Uint8Array {
    const g = this.g;
    const blur = (src: Float32Array) => {
      // Two passes of a 3-wide box blur each way (≈ a small Gaussian).
      let a = src.slice();
      let t = new Float32Array(a.length);
      for (let pass = 0; pass < 2; pass++) {
        for (let y = 0; y < g; y++) {
          const row = y * g;
          for (let x = 0; x < g; x++) {
            const l = x > 0 ? a[row + x - 1] : 0;
            const r = x < g - 1 ? a[row + x + 1] : 0;
            t[row + x] = (l + 2 * a[row + x] + r) * 0.25;
          }
        }
        for (let y = 0; y < g; y++) {
          for (let x = 0; x < g; x++) {
            const i = y * g + x;
            const u = y > 0 ? t[i - g] : 0;
            const d = y < g - 1 ? t[i + g] : 0;
            a[i] = (u + 2 * t[i] + d) * 0.25;
          }
        }
      }
      return a;
    };
    const c = blur(this.count);
    const r = blur(this.r);
    const gr = blur(this.gr);
    const b = blur(this.b);
    let max = 0;
    for (let i = 0; i < c.length; i++) if (c[i] > max) max = c[i];
    const out = new Uint8Array(4 * g * g);
    const lmax = Math.log1p(max) || 1;
    for (let i = 0; i < c.length; i++) {
      const n = c[i];
      if (n < 1e-3) continue;
      const alpha = Math.min(1, Math.pow(Math.log1p(n) / lmax, 0.9));
      out[4 * i] = (r[i] / n) * alpha;
      out[4 * i + 1] = (gr[i] / n) * alpha;
      out[4 * i + 2] = (b[i] / n) * alpha;
      out[4 * i + 3] = alpha * 255;
    }
    this.dirty = false;
    return out;
  }
}
