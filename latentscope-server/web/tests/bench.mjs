#!/usr/bin/env node
// The explorer benchmark: first paint, pan frame rate (during loading and
// after), and the time until every point of the view is drawn, in headless
// Chromium with software WebGL2 (SwiftShader) at 1400×900.
//
//   node tests/bench.mjs <explore URL> [runs]
//   e.g. node tests/bench.mjs http://127.0.0.1:5001/datasets/pypi-all/explore/scopes-001 3
//
// Env: LS_BENCH_URL (instead of the argument), LS_BENCH_RUNS, CHROMIUM.
// Prints one JSON object: every run and the median of each figure.
import { launch, watch } from './browser.mjs';

const url = process.argv[2] || process.env.LS_BENCH_URL;
const runs = Number(process.argv[3] || process.env.LS_BENCH_RUNS || 3);
if (!url) {
  console.error('usage: node tests/bench.mjs <explore URL> [runs]');
  process.exit(2);
}

/** Drags the mouse across the map for `ms`, counting animation frames in the page. */
async function drag(page, ms, dx) {
  await page.evaluate(() => {
    const f = (window.__bench = { frames: 0, worst: 0, last: performance.now(), on: true });
    const tick = (now) => {
      f.worst = Math.max(f.worst, now - f.last);
      f.last = now;
      f.frames++;
      if (f.on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const x0 = 800, y0 = 450;
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  const t0 = Date.now();
  let t;
  while ((t = Date.now() - t0) < ms) {
    // Back and forth, so the view stays on the map.
    const u = t / ms;
    const x = x0 + dx * Math.sin(u * Math.PI * 2);
    const y = y0 + 0.4 * dx * Math.sin(u * Math.PI * 4);
    await page.mouse.move(x, y);
    await page.waitForTimeout(8);
  }
  await page.mouse.up();
  const b = await page.evaluate(() => {
    window.__bench.on = false;
    return window.__bench;
  });
  const secs = (Date.now() - t0) / 1000;
  return { fps: +(b.frames / secs).toFixed(1), worstFrameMs: Math.round(b.worst), seconds: +secs.toFixed(2) };
}

/** Time from now until every point of the view is drawn (drawn = points in view). */
async function untilAllDrawn(page) {
  const t0 = Date.now();
  await page.waitForFunction(
    () => window.__ls.complete && window.__ls.mode === 'still' && window.__ls.drawn === window.__ls.countVisible(),
    null,
    { timeout: 30000, polling: 20 },
  );
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
  await page.waitForFunction(() => window.__ls && window.__ls.firstPaintMs !== null, null, { timeout: 30000, polling: 'raf' });
  const wallToFirstPaintMs = Date.now() - t0;
  const s = await page.evaluate(() => ({ ...window.__ls }));
  // Pan at once after the first paint (while points still arrive or go to the GPU).
  const panLoading = await drag(page, 2500, 220);
  const allAfterLoadingPanMs = await untilAllDrawn(page);
  // The start view again, then a pan once everything is in.
  const panLoaded = await drag(page, 2500, 220);
  const allAfterPanMs = await untilAllDrawn(page);
  const end = await page.evaluate(() => ({ ...window.__ls }));
  all.push({
    firstPaintMs: Math.round(s.firstPaintMs),
    wallToFirstPaintMs,
    drawnInFirstPaint: s.firstPaintDrawn,
    arrivedAtFirstPaint: s.firstPaintArrived,
    panRightAfterFirstPaint: panLoading,
    allDrawnAfterFirstPanMs: allAfterLoadingPanMs,
    panLoaded,
    allDrawnAfterPanMs: allAfterPanMs,
    drawn: end.drawn,
    total: end.total,
    budget: end.budget,
    problems,
  });
  await ctx.close();
}
await browser.close();
const med = (f) => {
  const v = all.map(f).sort((a, b) => a - b);
  return v[v.length >> 1];
};
console.log(
  JSON.stringify(
    {
      url,
      runs: all,
      median: {
        firstPaintMs: med((r) => r.firstPaintMs),
        wallToFirstPaintMs: med((r) => r.wallToFirstPaintMs),
        panFpsRightAfterFirstPaint: med((r) => r.panRightAfterFirstPaint.fps),
        panFpsLoaded: med((r) => r.panLoaded.fps),
        allDrawnAfterPanMs: med((r) => r.allDrawnAfterPanMs),
      },
    },
    null,
    1,
  ),
);
