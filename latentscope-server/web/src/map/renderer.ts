// Our own WebGL2 point renderer: points (optionally lerped between two
// layouts), a density underlay texture, and an offscreen layer that the
// idle refinement draws every visible point into, chunk after chunk.

const POINT_VS = `#version 300 es
layout(location = 0) in vec2 a_pos;
layout(location = 1) in vec2 a_from;
layout(location = 2) in vec4 a_color;
uniform vec2 u_scale;
uniform vec2 u_offset;
uniform float u_t;
uniform float u_size;
uniform float u_alpha;
out vec4 v_color;
void main() {
  if (a_color.a == 0.0) {
    gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
    gl_PointSize = 0.0;
    v_color = vec4(0.0);
    return;
  }
  vec2 p = mix(a_from, a_pos, u_t);
  gl_Position = vec4(p * u_scale + u_offset, 0.0, 1.0);
  gl_PointSize = u_size;
  float a = min(1.0, a_color.a * u_alpha);
  v_color = vec4(a_color.rgb * a, a);
}`;

const POINT_FS = `#version 300 es
precision mediump float;
in vec4 v_color;
uniform float u_round;
out vec4 o;
void main() {
  if (u_round > 0.5) {
    vec2 d = gl_PointCoord - 0.5;
    if (dot(d, d) > 0.25) discard;
  }
  o = v_color;
}`;

const QUAD_VS = `#version 300 es
layout(location = 0) in vec2 a_uv;
uniform vec2 u_scale;
uniform vec2 u_offset;
out vec2 v_uv;
void main() {
  v_uv = a_uv;
  gl_Position = vec4((a_uv * 2.0 - 1.0) * u_scale + u_offset, 0.0, 1.0);
}`;

const QUAD_FS = `#version 300 es
precision mediump float;
in vec2 v_uv;
uniform sampler2D u_tex;
uniform float u_opacity;
out vec4 o;
void main() {
  o = texture(u_tex, v_uv) * u_opacity;
}`;

const TEXT_VS = `#version 300 es
layout(location = 0) in vec2 a_xy;
layout(location = 1) in vec2 a_uv;
uniform vec2 u_px;
out vec2 v_uv;
void main() {
  v_uv = a_uv;
  gl_Position = vec4(a_xy.x * u_px.x - 1.0, 1.0 - a_xy.y * u_px.y, 0.0, 1.0);
}`;

const TEXT_FS = `#version 300 es
precision mediump float;
in vec2 v_uv;
uniform sampler2D u_tex;
uniform float u_opacity;
out vec4 o;
void main() {
  o = texture(u_tex, v_uv) * u_opacity;
}`;

function compile(gl: WebGL2RenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type)!;
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) ?? 'shader');
  return s;
}

class Program {
  prog: WebGLProgram;
  private loc = new Map<string, WebGLUniformLocation | null>();
  constructor(
    private gl: WebGL2RenderingContext,
    vs: string,
    fs: string,
  ) {
    const p = gl.createProgram()!;
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, vs));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p) ?? 'link');
    this.prog = p;
  }
  u(name: string) {
    let l = this.loc.get(name);
    if (l === undefined) {
      l = this.gl.getUniformLocation(this.prog, name);
      this.loc.set(name, l);
    }
    return l;
  }
}

export interface Camera {
  /** Clip = data * scale + offset. */
  sx: number;
  sy: number;
  ox: number;
  oy: number;
}

export interface PointStyle {
  size: number;
  alpha: number;
  t: number;
  round: boolean;
}

export class Renderer {
  gl: WebGL2RenderingContext;
  software: boolean;
  rendererName: string;
  private points: Program;
  private quad: Program;
  private vao: WebGLVertexArrayObject;
  private quadVao: WebGLVertexArrayObject;
  private posBuf: WebGLBuffer;
  private fromBuf: WebGLBuffer;
  private colBuf: WebGLBuffer;
  private capacity = 0;
  private hlBuf: WebGLBuffer;
  private hlCount = 0;
  private fromOn = false;
  private densityTex: WebGLTexture;
  private layers: { tex: WebGLTexture; fbo: WebGLFramebuffer; w: number; h: number }[] = [];
  width = 1;
  height = 1;
  private text: Program;
  private textVao: WebGLVertexArrayObject;
  private textBuf: WebGLBuffer;
  readonly atlasTex: WebGLTexture;

  constructor(public canvas: HTMLCanvasElement) {
    const gl = canvas.getContext('webgl2', {
      antialias: false,
      alpha: false,
      depth: false,
      stencil: false,
      premultipliedAlpha: true,
      preserveDrawingBuffer: false,
      powerPreference: 'high-performance',
    });
    if (!gl) throw new Error('WebGL2 is not available in this browser');
    this.gl = gl;
    let name = '';
    try {
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      name = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    } catch {
      name = '';
    }
    this.rendererName = name;
    this.software = /swiftshader|llvmpipe|software|basic render/i.test(name);
    this.points = new Program(gl, POINT_VS, POINT_FS);
    this.quad = new Program(gl, QUAD_VS, QUAD_FS);

    this.hlBuf = gl.createBuffer()!;
    this.posBuf = gl.createBuffer()!;
    this.fromBuf = gl.createBuffer()!;
    this.colBuf = gl.createBuffer()!;
    this.vao = gl.createVertexArray()!;
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.fromBuf);
    gl.vertexAttribPointer(1, 2, gl.FLOAT, false, 0, 0);
    gl.disableVertexAttribArray(1);
    gl.vertexAttrib2f(1, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.enableVertexAttribArray(2);
    gl.vertexAttribPointer(2, 4, gl.UNSIGNED_BYTE, true, 0, 0);

    this.quadVao = gl.createVertexArray()!;
    gl.bindVertexArray(this.quadVao);
    const qb = gl.createBuffer()!;
    gl.bindBuffer(gl.ARRAY_BUFFER, qb);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);

    this.text = new Program(gl, TEXT_VS, TEXT_FS);
    this.textBuf = gl.createBuffer()!;
    this.textVao = gl.createVertexArray()!;
    gl.bindVertexArray(this.textVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.textBuf);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 16, 0);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribPointer(1, 2, gl.FLOAT, false, 16, 8);
    gl.bindVertexArray(null);
    this.atlasTex = gl.createTexture()!;

    this.densityTex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, this.densityTex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    this.warmUp();
  }

  /** Draws once with each program offscreen so the driver compiles them now, not at first paint. */
  private warmUp() {
    const gl = this.gl;
    this.allocate(1);
    this.bindLayer(0, true);
    const cam = { sx: 1, sy: 1, ox: 0, oy: 0 };
    this.drawPoints(cam, { size: 4, alpha: 1, t: 1, round: true }, [0, 1]);
    this.unbindLayer();
    this.drawDensity(cam, 1);
    this.drawLayer(0);
    // No readback: the GPU side compiles while the page goes on.
    gl.flush();
  }

  resize(cssW: number, cssH: number, dpr: number) {
    const w = Math.max(1, Math.round(cssW * dpr));
    const h = Math.max(1, Math.round(cssH * dpr));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
    this.width = w;
    this.height = h;
  }

  /** Makes room for n points (contents are lost when it grows). */
  allocate(n: number) {
    const gl = this.gl;
    if (n <= this.capacity) return;
    this.capacity = n;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.bufferData(gl.ARRAY_BUFFER, n * 8, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.bufferData(gl.ARRAY_BUFFER, n * 4, gl.DYNAMIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.fromBuf);
    gl.bufferData(gl.ARRAY_BUFFER, 8, gl.STATIC_DRAW);
    this.setFrom(null);
  }

  /** Positions (interleaved x, y) from point `start`. */
  uploadPositions(xy: Float32Array, start: number) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.posBuf);
    gl.bufferSubData(gl.ARRAY_BUFFER, start * 8, xy);
  }

  uploadColors(rgba: Uint8Array, start: number) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colBuf);
    gl.bufferSubData(gl.ARRAY_BUFFER, start * 4, rgba);
  }

  /** Starting positions of a transition (null: none). */
  setFrom(xy: Float32Array | null) {
    const gl = this.gl;
    gl.bindVertexArray(this.vao);
    if (xy) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.fromBuf);
      gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(1);
      this.fromOn = true;
    } else {
      gl.disableVertexAttribArray(1);
      gl.vertexAttrib2f(1, 0, 0);
      this.fromOn = false;
    }
    gl.bindVertexArray(null);
  }

  get transitioning() {
    return this.fromOn;
  }

  uploadDensity(rgba: Uint8Array, size: number) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.densityTex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, size, size, 0, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
  }

  begin(bg: [number, number, number]) {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.width, this.height);
    gl.clearColor(bg[0] / 255, bg[1] / 255, bg[2] / 255, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
  }

  /** The density underlay: a texture over the data square [-1, 1]². */
  drawDensity(cam: Camera, opacity: number) {
    if (opacity <= 0.001) return;
    const gl = this.gl;
    gl.useProgram(this.quad.prog);
    gl.uniform2f(this.quad.u('u_scale'), cam.sx, cam.sy);
    gl.uniform2f(this.quad.u('u_offset'), cam.ox, cam.oy);
    gl.uniform1f(this.quad.u('u_opacity'), opacity);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.densityTex);
    gl.uniform1i(this.quad.u('u_tex'), 0);
    gl.bindVertexArray(this.quadVao);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }

  /** Point ranges [start, count, start, count, …] with the camera. */
  drawPoints(cam: Camera, style: PointStyle, ranges: number[]) {
    const gl = this.gl;
    gl.useProgram(this.points.prog);
    gl.uniform2f(this.points.u('u_scale'), cam.sx, cam.sy);
    gl.uniform2f(this.points.u('u_offset'), cam.ox, cam.oy);
    gl.uniform1f(this.points.u('u_t'), this.fromOn ? style.t : 1);
    gl.uniform1f(this.points.u('u_size'), style.size);
    gl.uniform1f(this.points.u('u_alpha'), style.alpha);
    gl.uniform1f(this.points.u('u_round'), style.round ? 1 : 0);
    gl.bindVertexArray(this.vao);
    for (let i = 0; i < ranges.length; i += 2) {
      if (ranges[i + 1] > 0) gl.drawArrays(gl.POINTS, ranges[i], ranges[i + 1]);
    }
    gl.bindVertexArray(null);
  }

  /** The points drawn again on top, bigger (highlighted rows), by position. */
  setHighlight(positions: Uint32Array) {
    const gl = this.gl;
    gl.bindVertexArray(null);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.hlBuf);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, positions, gl.DYNAMIC_DRAW);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, null);
    this.hlCount = positions.length;
  }

  get highlighted() {
    return this.hlCount;
  }

  drawHighlight(cam: Camera, style: PointStyle) {
    if (!this.hlCount) return;
    const gl = this.gl;
    this.drawPoints(cam, style, []);
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.hlBuf);
    gl.drawElements(gl.POINTS, this.hlCount, gl.UNSIGNED_INT, 0);
    gl.bindVertexArray(null);
  }

  /** Starts drawing into offscreen layer `slot` (0 or 1), cleared when `clear`. */
  bindLayer(slot: number, clear: boolean) {
    const gl = this.gl;
    let L = this.layers[slot];
    if (!L || L.w !== this.width || L.h !== this.height) {
      if (L) {
        gl.deleteTexture(L.tex);
        gl.deleteFramebuffer(L.fbo);
      }
      const tex = gl.createTexture()!;
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, this.width, this.height, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
      const fbo = gl.createFramebuffer()!;
      gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
      L = this.layers[slot] = { tex, fbo, w: this.width, h: this.height };
      clear = true;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, L.fbo);
    gl.viewport(0, 0, this.width, this.height);
    if (clear) {
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
    }
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
  }

  unbindLayer() {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.width, this.height);
  }

  /** Composites layer `slot` onto the screen, shifted by (dx, dy) device px. */
  drawLayer(slot: number, dx = 0, dy = 0) {
    const L = this.layers[slot];
    if (!L) return;
    const gl = this.gl;
    gl.useProgram(this.quad.prog);
    gl.uniform2f(this.quad.u('u_scale'), 1, 1);
    gl.uniform2f(this.quad.u('u_offset'), (2 * dx) / this.width, (-2 * dy) / this.height);
    gl.uniform1f(this.quad.u('u_opacity'), 1);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, L.tex);
    gl.uniform1i(this.quad.u('u_tex'), 0);
    gl.bindVertexArray(this.quadVao);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }

  /** Limits drawing to a rectangle (device px, from the top left), or not (null). */
  scissor(r: [number, number, number, number] | null) {
    const gl = this.gl;
    if (!r) {
      gl.disable(gl.SCISSOR_TEST);
      return;
    }
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(Math.floor(r[0]), Math.floor(this.height - r[1] - r[3]), Math.ceil(r[2]), Math.ceil(r[3]));
  }

  /** Text quads: [x, y, u, v] × 6 per quad, x/y in device px, u/v in 0..1. */
  drawText(verts: Float32Array, count: number, opacity = 1) {
    if (!count) return;
    const gl = this.gl;
    gl.useProgram(this.text.prog);
    gl.uniform2f(this.text.u('u_px'), 2 / this.width, 2 / this.height);
    gl.uniform1f(this.text.u('u_opacity'), opacity);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.atlasTex);
    gl.uniform1i(this.text.u('u_tex'), 0);
    gl.bindVertexArray(this.textVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.textBuf);
    gl.bufferData(gl.ARRAY_BUFFER, verts.subarray(0, count * 24), gl.STREAM_DRAW);
    gl.drawArrays(gl.TRIANGLES, 0, count * 6);
    gl.bindVertexArray(null);
  }

  flush() {
    this.gl.flush();
  }
}
