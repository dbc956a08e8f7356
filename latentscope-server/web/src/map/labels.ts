// Labels drawn by the map itself: each label's text rendered once (with a
// halo) into an atlas texture, then drawn as quads every frame, so moving
// the map never repaints DOM text (costly without a GPU).

export const LABEL_FONT = `system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif`;

export interface AtlasEntry {
  x: number;
  y: number;
  w: number;
  h: number;
}

export class LabelAtlas {
  readonly size = 2048;
  private scratch: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D;
  private measure: CanvasRenderingContext2D;
  private entries = new Map<string, AtlasEntry>();
  private x = 0;
  private y = 0;
  private rowH = 0;
  /** The text colour of hot labels (their bar takes the cluster colour). */
  fg = '#1d1d1f';
  /** Set when the atlas was reset (its entries are gone). */
  generation = 0;

  constructor(
    private gl: WebGL2RenderingContext,
    readonly tex: WebGLTexture,
  ) {
    this.scratch = document.createElement('canvas');
    this.ctx = this.scratch.getContext('2d')!;
    this.measure = document.createElement('canvas').getContext('2d')!;
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, this.size, this.size, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  reset() {
    this.entries.clear();
    this.x = this.y = this.rowH = 0;
    this.generation++;
  }

  /** Width in CSS px of a text at a font size. */
  width(text: string, px: number): number {
    this.measure.font = `600 ${px}px ${LABEL_FONT}`;
    return this.measure.measureText(text).width;
  }

  /** The atlas place of a label, drawing it there first if needed. */
  get(key: string, text: string, px: number, scale: number, color: string, halo: string, underline: boolean): AtlasEntry | null {
    const hit = this.entries.get(key);
    if (hit) return hit;
    const pad = 3 * scale;
    const fpx = px * scale;
    const w = Math.ceil(this.width(text, px) * scale + 2 * pad);
    const h = Math.ceil(fpx * 1.35 + 2 * pad);
    if (w > this.size) return null;
    if (this.x + w > this.size) {
      this.x = 0;
      this.y += this.rowH + 1;
      this.rowH = 0;
    }
    if (this.y + h > this.size) {
      this.reset();
      return null;
    }
    const c = this.scratch;
    c.width = w;
    c.height = h;
    const g = this.ctx;
    g.clearRect(0, 0, w, h);
    g.font = `600 ${fpx}px ${LABEL_FONT}`;
    g.textBaseline = 'middle';
    g.lineJoin = 'round';
    g.lineWidth = 3 * scale;
    g.strokeStyle = halo;
    g.strokeText(text, pad, h / 2);
    g.fillStyle = underline ? halo : color;
    if (underline) {
      // The hot label: the text as usual, over a bar in its cluster's colour.
      g.fillRect(pad - 1, h / 2 + fpx * 0.5, w - 2 * pad + 2, Math.max(3, 4 * scale));
      g.fillStyle = color;
      g.fillRect(pad, h / 2 + fpx * 0.5 + 1, w - 2 * pad, Math.max(2, 2.5 * scale));
      g.fillStyle = this.fg;
    }
    g.fillText(text, pad, h / 2);
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, true);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, this.x, this.y, gl.RGBA, gl.UNSIGNED_BYTE, c);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    const e = { x: this.x, y: this.y, w, h };
    this.entries.set(key, e);
    this.x += w + 1;
    this.rowH = Math.max(this.rowH, h);
    return e;
  }
}
