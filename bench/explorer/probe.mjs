#!/usr/bin/env node
// A check on the pan figure of bench.mjs / regl/run.mjs: during the same scripted 2.5 s drag,
// counts animation frames (what both benchmarks report), the frames in which the view had
// moved since the frame before (each of those is a frame the map actually redrew), and the
// mouse moves delivered. rAF keeps ticking when no input arrived, so "moved frames" is the
// stricter frame rate. For the explorer it also records when the start view was complete
// (performance.now() when every point in view was drawn, no pan before), for regl-scatterplot
// that is its first paint.
//
//   node bench/explorer/probe.mjs ours <explore URL> [runs]
//   node bench/explorer/probe.mjs regl <URL of regl index.html> [runs]
import { launch } from '../../latentscope-server/web/tests/browser.mjs';

const [kind, url, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 2);
const browser = await launch();
const out = [];
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(url);
  let startComplete;
  if (kind === 'ours') {
    await page.waitForFunction(
      () => window.__ls && window.__ls.complete && window.__ls.mode === 'still' && window.__ls.drawn === window.__ls.countVisible() && (window.__startDone = performance.now()),
      null, { timeout: 60000, polling: 'raf' });
    startComplete = await page.evaluate(() => ({ ms: Math.round(window.__startDone), firstPaintMs: Math.round(window.__ls.firstPaintMs), drawn: window.__ls.drawn }));
  } else {
    await page.waitForFunction(() => window.__results && window.__results.first_done, null, { timeout: 120000, polling: 50 });
    startComplete = await page.evaluate(() => ({ ms: Math.round(window.__results.first_render_ms), firstPaintMs: Math.round(window.__results.first_render_ms), drawn: window.__results.npoints }));
  }
  await page.waitForTimeout(1000);
  await page.evaluate((kind) => {
    const key = kind === 'ours' ? () => JSON.stringify(window.__ls.view) : () => String(Array.from(window.__sp.get('cameraView')));
    const f = (window.__bench = { frames: 0, moved: 0, moves: 0, drawnMin: Infinity, last: key(), on: true });
    window.addEventListener('pointermove', () => f.moves++, true);
    const tick = () => {
      f.frames++;
      const k = key();
      if (k !== f.last) f.moved++;
      f.last = k;
      if (window.__ls && f.frames > 2) f.drawnMin = Math.min(f.drawnMin, window.__ls.drawn);
      if (f.on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, kind);
  const x0 = 800, y0 = 450, dx = 220, ms = 2500;
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  const t0 = Date.now();
  let t, sent = 0;
  while ((t = Date.now() - t0) < ms) {
    const u = t / ms;
    await page.mouse.move(x0 + dx * Math.sin(u * Math.PI * 2), y0 + 0.4 * dx * Math.sin(u * Math.PI * 4));
    sent++;
    await page.waitForTimeout(8);
  }
  await page.mouse.up();
  const b = await page.evaluate(() => { window.__bench.on = false; return { ...window.__bench, total: window.__ls?.total }; });
  const s = (Date.now() - t0) / 1000;
  out.push({ startViewCompleteMs: startComplete.ms, startViewDrawn: startComplete.drawn, firstPaintMs: startComplete.firstPaintMs, fps: +(b.frames / s).toFixed(1), movedFps: +(b.moved / s).toFixed(1), movesSentPerS: +(sent / s).toFixed(1), movesSeenPerS: +(b.moves / s).toFixed(1), drawnMinDuringDrag: b.drawnMin === Infinity ? null : b.drawnMin, total: b.total });
  await ctx.close();
}
await browser.close();
console.log(JSON.stringify({ kind, url, runs: out }));
