// regl-scatterplot baseline, adapted from ../shared/bench/explorer/app.js (same library
// calls: createScatterplot + draw of plain arrays, pointSize 2, opacity 0.6, coloured by an
// integer category): the points are the scope's x, y, cluster (points.bin, float32 x, y,
// cluster, random per point), the canvas fills the 1400×900 window, and the pan is driven by
// a real mouse drag from run.mjs (regl-scatterplot's own pan) instead of zoomToLocation.
import createScatterplot from 'regl-scatterplot';
const t0 = performance.now();
const R = (window.__results = { t_module_ms: t0 });
const buf = await (await fetch('points.bin')).arrayBuffer();
const f = new Float32Array(buf), n = f.length / 4;
const x = new Float32Array(n), y = new Float32Array(n), z = new Float32Array(n), w = new Float32Array(n);
let maxc = 0;
for (let i = 0; i < n; i++) { x[i] = f[4*i]; y[i] = f[4*i+1]; z[i] = f[4*i+2]; w[i] = f[4*i+3]; if (z[i] > maxc) maxc = z[i]; }
R.loaded_ms = performance.now();
const canvas = document.querySelector('#c');
const W = window.innerWidth, H = window.innerHeight;
canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
const hsl = (h) => { const f = (k) => { const kk = (k + h / 30) % 12; return 0.5 - 0.325 * Math.max(-1, Math.min(kk - 3, 9 - kk, 1)); }; return [f(0), f(8), f(4), 1]; };
// One colour per cluster; the last cluster id is "Unclustered" in latentscope scopes: grey.
const palette = Array.from({ length: maxc + 1 }, (_, i) => (i === maxc ? [0.75, 0.75, 0.75, 1] : hsl((i * 137.5) % 360)));
const gl = document.createElement('canvas').getContext('webgl2');
const dbg = gl && gl.getExtension('WEBGL_debug_renderer_info');
R.renderer = gl ? gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null;
const sp = createScatterplot({ canvas, width: W, height: H, pointSize: 2, pointColor: palette, colorBy: 'valueA', opacity: 0.6 });
window.__sp = sp;
await sp.draw({ x: Array.from(x), y: Array.from(y), valueA: Array.from(z, v => v | 0), valueB: Array.from(w) });
R.npoints = sp.get('points').length;
await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
// performance.now() counts from navigation start, as the explorer's __ls.firstPaintMs does.
R.first_render_ms = performance.now();
R.first_done = true;
