#!/usr/bin/env node
// The acceptance numbers of issue #24, in headless Chromium with software
// WebGL2 (SwiftShader) at 1400×900:
//
//   node tests/measure.mjs compare --url=URL --dataset=DS [--umaps=umap-001,umap-002] [--runs=3]
//     the pan frame rate on the layouts compare page (two panes, every row
//     of both layouts), while dragging for 2.5 s once everything is in;
//     acceptance: ≥ 10 fps for two layouts of 100k rows.
//
//   node tests/measure.mjs site --site-dir=DIR [--runs=3] [--python=python3]
//     a static site's size on disk and its first paint when served by
//     `python3 -m http.server` (a fresh browser context each run: nothing
//     cached); acceptance: first paint ≤ 2 s for 703k rows.
//
// Prints one JSON object with every run and the medians.
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { launch, watch } from './browser.mjs';

const mode = process.argv[2];
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const RUNS = Number(arg('runs', '3'));
const med = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const enc = encodeURIComponent;

async function drag(page, box, ms = 2500) {
  await page.evaluate(() => {
    const f = (window.__pan = { frames: 0, on: true, worst: 0, last: performance.now() });
    const tick = (now) => {
      f.worst = Math.max(f.worst, now - f.last);
      f.last = now;
      f.frames++;
      if (f.on) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const x0 = box.x + box.width / 2, y0 = box.y + box.height / 2, dx = Math.min(220, box.width / 4);
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
  const f = await page.evaluate(() => {
    window.__pan.on = false;
    return window.__pan;
  });
  return { fps: +(f.frames / ((Date.now() - t0) / 1000)).toFixed(1), worstFrameMs: Math.round(f.worst) };
}

async function compare() {
  const BASE = arg('url', 'http://127.0.0.1:5001').replace(/\/$/, '');
  const DS = arg('dataset');
  const d = await (await fetch(`${BASE}/api/datasets/${enc(DS)}`)).json();
  const umaps = d.artifacts.filter((a) => a.kind === 'umap' && a.state === 'finished').map((a) => a.id).sort();
  const [L, R] = (arg('umaps') || umaps.slice(0, 2).join(',')).split(',');
  const url = `${BASE}/datasets/${enc(DS)}/compare/umaps?left=${enc(L)}&right=${enc(R)}`;
  const browser = await launch();
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    const problems = watch(page);
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => window.__ls?.compare && window.__ls.mode === 'still', null, { timeout: 120000, polling: 50 });
    const readyMs = Date.now() - t0;
    const loadMs = await page.evaluate(() => window.__ls.compareLoadMs);
    const box = await page.locator('[data-testid=map-left]').boundingBox();
    const pan = await drag(page, box);
    const budget = await page.evaluate(() => window.__ls.compare.budget());
    runs.push({ readyMs, dataMs: loadMs, ...pan, budgetPerPane: budget, problems });
    await ctx.close();
  }
  await browser.close();
  console.log(
    JSON.stringify(
      { page: url, rows: d.meta.length, runs, median: { panFps: med(runs.map((r) => r.fps)), readyMs: med(runs.map((r) => r.readyMs)) } },
      null,
      1,
    ),
  );
}

async function site() {
  const DIR = path.resolve(arg('site-dir', ''));
  const PYTHON = arg('python', 'python3');
  const info = JSON.parse(fs.readFileSync(path.join(DIR, 'site.json'), 'utf8'));
  let bytes = 0, files = 0;
  const parts = {};
  // Sizes by part: assets, index.html, site.json, data/<file or folder>.
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d)) {
      const p = path.join(d, e);
      const r = rel ? `${rel}/${e}` : e;
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p, r);
      else {
        const seg = r.split('/');
        const key = seg[0] === 'data' ? `data/${seg[1]}` : seg[0];
        files++;
        bytes += st.size;
        parts[key] = (parts[key] ?? 0) + st.size;
      }
    }
  };
  walk(DIR, '');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-measure-'));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.symlinkSync(DIR, path.join(root, 'sub', 'site'), 'dir');
  const port = await new Promise((ok) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
  const server = spawn(PYTHON, ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: root, stdio: 'ignore' });
  const SITE = `http://127.0.0.1:${port}/sub/site/`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${SITE}site.json`)).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 100) throw new Error('the static server did not start');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const browser = await launch();
  const runs = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await ctx.newPage();
      const problems = watch(page);
      const t0 = Date.now();
      await page.goto(SITE);
      await page.waitForFunction(() => window.__ls && window.__ls.firstPaintMs !== null, null, { timeout: 120000, polling: 'raf' });
      const wall = Date.now() - t0;
      const s = await page.evaluate(() => ({ ...window.__ls }));
      await page.waitForFunction(() => window.__ls.complete && window.__ls.mode === 'still', null, { timeout: 300000, polling: 100 });
      const all = await page.evaluate(() => performance.now());
      runs.push({
        firstPaintMs: Math.round(s.firstPaintMs),
        wallToFirstPaintMs: wall,
        drawnInFirstPaint: s.firstPaintDrawn,
        allPointsDrawnMs: Math.round(all),
        problems,
      });
      await ctx.close();
    }
  } finally {
    await browser.close();
    server.kill();
    fs.rmSync(root, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify(
      {
        site: DIR,
        served: `${PYTHON} -m http.server (under /sub/site/)`,
        rows: info.rows,
        neighbors_k: info.neighbors_k,
        files,
        bytes,
        mib: +(bytes / 2 ** 20).toFixed(1),
        byPart: Object.fromEntries(Object.entries(parts).sort().map(([k, v]) => [k, +(v / 2 ** 20).toFixed(1)])),
        runs,
        median: { firstPaintMs: med(runs.map((r) => r.firstPaintMs)), wallToFirstPaintMs: med(runs.map((r) => r.wallToFirstPaintMs)) },
      },
      null,
      1,
    ),
  );
}

if (mode === 'compare') await compare();
else if (mode === 'site') await site();
else {
  console.error('usage: node tests/measure.mjs compare --url=URL --dataset=DS | site --site-dir=DIR');
  process.exit(2);
}
