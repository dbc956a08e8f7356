#!/usr/bin/env node
// The regl-scatterplot side of the comparison, measured like the explorer's
// latentscope-server/web/tests/bench.mjs: the same Chromium and flags (its browser.mjs:
// SwiftShader WebGL2), a 1400×900 window, the same scripted 2.5 s mouse drag with animation
// frames counted in the page, and the time from mouse-up until the next frame is on screen
// (regl-scatterplot draws every point every frame, so that is when every point is drawn).
//
//   node bench/explorer/regl/run.mjs <URL of index.html> [runs] [screenshot prefix]
// Adapted from ../shared/bench/explorer/run.mjs (regl-scatterplot 1.16.0, MIT).
import { launch, watch } from '../../../latentscope-server/web/tests/browser.mjs';

const url = process.argv[2];
const runs = Number(process.argv[3] || 3);
const shots = process.argv[4] || '';
if (!url) { console.error('usage: node run.mjs <URL of index.html> [runs] [screenshot prefix]'); process.exit(2); }

// The same drag as tests/bench.mjs.
async function drag(page, ms, dx) {
  await page.evaluate(() => {
    const f = (window.__bench = { frames: 0, worst: 0, last: performance.now(), on: true });
    const tick = (now) => { f.worst = Math.max(f.worst, now - f.last); f.last = now; f.frames++; if (f.on) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  const x0 = 800, y0 = 450;
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  const t0 = Date.now();
  let t;
  while ((t = Date.now() - t0) < ms) {
    const u = t / ms;
    await page.mouse.move(x0 + dx * Math.sin(u * Math.PI * 2), y0 + 0.4 * dx * Math.sin(u * Math.PI * 4));
    await page.waitForTimeout(8);
  }
  await page.mouse.up();
  const b = await page.evaluate(() => { window.__bench.on = false; return window.__bench; });
  const secs = (Date.now() - t0) / 1000;
  return { fps: +(b.frames / secs).toFixed(1), worstFrameMs: Math.round(b.worst), seconds: +secs.toFixed(2) };
}

/** From now until a frame after the last camera change has been produced. */
async function untilDrawn(page) {
  const t0 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return Date.now() - t0;
}

const all = [];
const browser = await launch();
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const problems = watch(page);
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => window.__results && window.__results.first_done, null, { timeout: 180000, polling: 50 });
  const wallToFirstPaintMs = Date.now() - t0;
  const r = await page.evaluate(() => ({ ...window.__results }));
  if (shots && i === 0) await page.screenshot({ path: `${shots}-first.png` });
  const pan = await drag(page, 2500, 220);
  const allDrawnAfterPanMs = await untilDrawn(page);
  const pan2 = await drag(page, 2500, 220);
  const allDrawnAfterPan2Ms = await untilDrawn(page);
  if (shots && i === 0) await page.screenshot({ path: `${shots}-after.png` });
  all.push({
    firstPaintMs: Math.round(r.first_render_ms),
    wallToFirstPaintMs,
    loadedMs: Math.round(r.loaded_ms),
    npoints: r.npoints,
    renderer: r.renderer,
    pan,
    allDrawnAfterPanMs,
    pan2,
    allDrawnAfterPan2Ms,
    problems,
  });
  await ctx.close();
}
await browser.close();
const med = (f) => { const v = all.map(f).sort((a, b) => a - b); return v[v.length >> 1]; };
console.log(JSON.stringify({
  url,
  runs: all,
  median: {
    firstPaintMs: med((r) => r.firstPaintMs),
    wallToFirstPaintMs: med((r) => r.wallToFirstPaintMs),
    panFps: med((r) => r.pan.fps),
    panFps2: med((r) => r.pan2.fps),
    allDrawnAfterPanMs: med((r) => r.allDrawnAfterPanMs),
  },
}, null, 1));
