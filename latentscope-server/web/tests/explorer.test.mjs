#!/usr/bin/env node
// Browser test of the explorer against a running `latentscope serve`.
//
//   node tests/explorer.test.mjs [--url=http://127.0.0.1:5001] [--dataset=ID] [--scope=ID]
//                                [--scope2=ID] [--screenshots=DIR]
//   npm run test:browser -- --url=http://127.0.0.1:5001
//
// Each option can also come from the environment: LS_URL, LS_DATASET,
// LS_SCOPE, LS_SCOPE2 (a second scope of the same dataset, for switching;
// default: any other scope of it, else that check is skipped with a note),
// LS_SCREENSHOTS (default tests/screenshots/), CHROMIUM (default
// /usr/bin/chromium). The dataset defaults to the first one that has a
// scope, the scope to its first.
//
// It checks: the dataset list links each scope to its explore address; the
// map renders (non-background pixels, __ls.drawn > 0, __ls.total = rows, every
// visible point drawn at rest, the start view shows ≥ 99 % of the points); hovering
// a known point shows that row's text; a click pins it into the detail panel
// with every field; zooming in draws more of the visible points; a click in
// the cluster panel zooms there and highlights it; the address reopens the
// same view; colouring by a column shows a legend; switching scopes animates
// to the other scope; dark mode; read-only shows no write control and makes
// no write request; no console error and no 4xx/5xx response anywhere.
// Screenshots of each state go to the screenshots folder. Exits 1 on failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, watch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : undefined;
};
const BASE = (arg('url') || process.env.LS_URL || 'http://127.0.0.1:5001').replace(/\/$/, '');
const SHOTS = path.resolve(arg('screenshots') || process.env.LS_SCREENSHOTS || path.join(here, 'screenshots'));
fs.mkdirSync(SHOTS, { recursive: true });

const failures = [];
const notes = [];
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}
const api = async (p) => {
  const r = await fetch(BASE + p);
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
  return r.json();
};

const version = await api('/api/version');
const datasets = await api('/api/datasets');
const DS = arg('dataset') || process.env.LS_DATASET || datasets.find((d) => d.scopes?.length)?.id;
if (!DS) {
  console.error(`no dataset with a scope at ${BASE}`);
  process.exit(1);
}
const dsInfo = datasets.find((d) => d.id === DS);
const SCOPE = arg('scope') || process.env.LS_SCOPE || dsInfo?.scopes?.[0]?.id;
const SCOPE2 = arg('scope2') || process.env.LS_SCOPE2 || dsInfo?.scopes?.find((s) => s.id !== SCOPE)?.id;
const scopeJson = await api(`/api/datasets/${encodeURIComponent(DS)}/scopes/${encodeURIComponent(SCOPE)}`);
const ROWS = scopeJson.rows;
const TEXT = scopeJson.scope.dataset.text_column;
const COLUMNS = scopeJson.scope.dataset.columns;
const explore = (s) => `${BASE}/datasets/${encodeURIComponent(DS)}/explore/${encodeURIComponent(s)}`;
console.log(`server ${BASE} (v${version.version}, read_only ${version.read_only}); ${DS}/${SCOPE}: ${ROWS} rows; scope2 ${SCOPE2 ?? '(none)'}`);

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await ctx.newPage();
const problems = watch(page);
const writes = [];
ctx.on('request', (r) => {
  if (!['GET', 'HEAD'].includes(r.method())) writes.push(`${r.method()} ${r.url()}`);
});
const shot = async (name, p = page) => {
  const file = path.join(SHOTS, `${name}.png`);
  await p.screenshot({ path: file });
  return file;
};
const ls = (p = page) => p.evaluate(() => ({ ...window.__ls, project: undefined }));
const still = (p = page, timeout = 30000) =>
  p.waitForFunction(() => window.__ls && window.__ls.complete && window.__ls.mode === 'still', null, { timeout, polling: 50 });
/** Share of pixels of the map area that differ from the map background. */
async function inkShare(p = page) {
  const buf = await p.screenshot();
  const box = await p.locator('[data-testid=map]').boundingBox();
  return p.evaluate(
    async ({ b64, box }) => {
      const bmp = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const g = c.getContext('2d');
      g.drawImage(bmp, 0, 0);
      const d = g.getImageData(Math.round(box.x), Math.round(box.y), Math.round(box.width), Math.round(box.height)).data;
      // The background: the most common colour.
      const counts = new Map();
      for (let i = 0; i < d.length; i += 4 * 97) {
        const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
        counts.set(k, (counts.get(k) || 0) + 1);
      }
      const bg = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
      const br = bg >> 16, bgg = (bg >> 8) & 255, bb = bg & 255;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (Math.abs(d[i] - br) + Math.abs(d[i + 1] - bgg) + Math.abs(d[i + 2] - bb) > 24) ink++;
      }
      return { share: ink / (d.length / 4), bg: [br, bgg, bb] };
    },
    { b64: buf.toString('base64'), box },
  );
}

try {
  // ---- the dataset list --------------------------------------------------------
  await page.goto(`${BASE}/`);
  const card = page.locator(`section.dataset[data-dataset="${DS}"] a.scope-card[data-scope="${SCOPE}"]`);
  await card.waitFor({ timeout: 15000 });
  const href = await card.getAttribute('href');
  check('home lists the scope with a link to its explore address', href === `/datasets/${DS}/explore/${SCOPE}`, href);
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 10000 }).catch(() => {});
  const thumbs = await page.evaluate(() => [...document.images].map((i) => i.naturalWidth));
  check('scope thumbnails load', thumbs.length > 0 && thumbs.every((w) => w > 0), `${thumbs.length} images`);
  await shot('01-home');

  // ---- the map -----------------------------------------------------------------
  const t0 = Date.now();
  await page.goto(explore(SCOPE));
  await page.waitForFunction(() => window.__ls && typeof window.__ls.firstPaintMs === 'number', null, { timeout: 30000 });
  const paintWall = Date.now() - t0;
  const hook = await page.evaluate(() => {
    const o = window.__ls;
    const own = (k) => {
      const d = Object.getOwnPropertyDescriptor(o, k);
      return !!d && 'value' in d && !d.get;
    };
    return {
      plain: Object.getPrototypeOf(o) === Object.prototype,
      own: ['firstPaintMs', 'frameMs', 'drawn', 'total'].every(own),
      types: ['firstPaintMs', 'frameMs', 'drawn', 'total'].every((k) => typeof o[k] === 'number'),
    };
  });
  check('window.__ls is a plain object with own numeric data properties', hook.plain && hook.own && hook.types, JSON.stringify(hook));
  await still();
  await page.waitForTimeout(200);
  const s0 = await ls();
  check('first paint', s0.firstPaintMs > 0, `firstPaintMs ${Math.round(s0.firstPaintMs)}, ${paintWall} ms from navigation`);
  check('__ls.total equals the scope rows', s0.total === ROWS, `${s0.total} vs ${ROWS}`);
  check('__ls.drawn > 0', s0.drawn > 0, String(s0.drawn));
  const visible0 = await page.evaluate(() => window.__ls.countVisible());
  check('at rest every visible point is drawn', s0.drawn === visible0, `${s0.drawn} drawn, ${visible0} in view`);
  const deleted = 0;
  // The start view fits the 0.5–99.5 % quantile box of the points (plus a
  // margin), so far outliers may lie outside it: 99 % of the points in view.
  check('the start view shows the whole map (≥ 99 % of the points)', visible0 >= 0.99 * (ROWS - deleted), `${visible0} of ${ROWS} in view`);
  if (scopeJson.labels.length > 1) check('cluster labels on the map', (s0.labels ?? 0) > 0, `${s0.labels} labels`);
  const ink = await inkShare();
  check('the map screenshot has points (non-background pixels)', ink.share > 0.005, `${(100 * ink.share).toFixed(2)}% ink, bg ${ink.bg}`);
  await shot('02-map');

  // ---- read-only -----------------------------------------------------------------
  if (version.read_only) {
    const writeControls = await page.evaluate(() => {
      const words = /\b(delete|remove|upload|save|rename|edit|create|new|add|tag|run|import|ingest|cancel|rerun)\b/i;
      return [...document.querySelectorAll('button, input[type=submit], input[type=file], form, [contenteditable=true]')]
        .filter((e) => e.tagName === 'FORM' || e.getAttribute('type') === 'file' || words.test(e.textContent || e.getAttribute('aria-label') || e.getAttribute('title') || ''))
        .map((e) => e.outerHTML.slice(0, 80));
    });
    check('read-only: no write control on the page', writeControls.length === 0, writeControls.join(' | '));
    check('read-only: the badge says so', await page.locator('[data-testid=read-only]').isVisible());
  }

  // ---- hover a known point ---------------------------------------------------------
  const byCount = scopeJson.labels
    .filter((l) => l.hull.length > 2 && l.label !== 'Unclustered')
    .sort((a, b) => b.count - a.count);
  const target = byCount.length ? byCount[0].hull[0] : 0;
  const rowText = async (r) => (await api(`/api/datasets/${encodeURIComponent(DS)}/rows?indices=${r}`))[0][TEXT];
  const hoverRow = async (row) => {
    const p = await page.evaluate((r) => window.__ls.project(r), row);
    await page.mouse.move(p.x + 30, p.y + 30);
    await page.mouse.move(p.x, p.y);
    const card = page.locator('[data-testid=hover-card]');
    await card.waitFor({ timeout: 5000 });
    const shown = Number(await card.getAttribute('data-row'));
    const want = String((await rowText(shown)) ?? '').trim();
    await page.waitForFunction(
      (w) => (document.querySelector('[data-testid=hover-card] .hover-text')?.textContent ?? '').trim().startsWith(w.slice(0, 60)),
      want,
      { timeout: 5000 },
    ).catch(() => {});
    const text = (await card.locator('.hover-text').textContent())?.trim() ?? '';
    return { shown, want, text, p };
  };
  // At the start view (the point is a hull vertex: on the edge of its cluster).
  let h = await hoverRow(target);
  const same = async (a, b) => {
    if (a === b) return true;
    const [pa, pb] = await page.evaluate(([a, b]) => [window.__ls.project(a), window.__ls.project(b)], [a, b]);
    return Math.hypot(pa.x - pb.x, pa.y - pb.y) < 2;
  };
  check('hover at the start view shows the row under the cursor', await same(h.shown, target), `row ${target}, card row ${h.shown}`);
  check("hover card shows that row's text", h.want.length === 0 || h.text.startsWith(h.want.slice(0, 60)), `"${h.text.slice(0, 60)}"`);
  // Zoomed in on it.
  const xy = await page.evaluate((r) => window.__ls.coords(r), target);
  await page.evaluate(([x, y]) => window.__ls.setView({ x, y, k: 64 }), xy);
  await still();
  h = await hoverRow(target);
  check('hover when zoomed in shows the known row', await same(h.shown, target), `row ${target}, card row ${h.shown}`);
  check("…with that row's text", h.text.startsWith(String((await rowText(target)) ?? '').trim().slice(0, 60)), `"${h.text.slice(0, 60)}"`);
  await page.waitForTimeout(150);
  await shot('03-hover');

  // ---- click: the detail panel ---------------------------------------------------
  await page.mouse.click(h.p.x, h.p.y);
  const detail = page.locator('[data-testid=detail-panel]');
  await detail.waitFor({ timeout: 5000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=detail-panel] dt').length > 0, null, { timeout: 5000 });
  const fields = await detail.locator('dt').allTextContents();
  const missing = COLUMNS.filter((c) => !fields.includes(c));
  check('click pins the row: the detail panel shows every field', missing.length === 0, missing.length ? `missing ${missing}` : `${fields.length} fields`);
  check('detail panel is for the clicked row', (await detail.getAttribute('data-row')) === String(h.shown));
  await shot('04-detail');
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'detached', timeout: 3000 });

  // ---- zooming in draws more of the visible points ---------------------------------
  await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
  await still();
  // A small wheel zoom: the share of the visible points drawn while the
  // view moves (the LOD sample), then back.
  const motionShare = async () => {
    const box = await page.locator('[data-testid=map]').boundingBox();
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.wheel(0, -40);
    await page.waitForFunction(() => window.__ls.mode === 'sample', null, { timeout: 5000, polling: 5 });
    const r = await page.evaluate(() => ({ drawn: window.__ls.drawn, visible: window.__ls.countVisible() }));
    await page.mouse.wheel(0, 40);
    return r;
  };
  const over = await motionShare();
  await still();
  const big = byCount[0] ?? scopeJson.labels[0];
  const c = await page.evaluate(([x, y]) => {
    const rect = document.querySelector('[data-testid=map]').getBoundingClientRect();
    window.__ls.setView({ x, y, k: 1 });
    return rect;
  }, big.centroid);
  await still();
  await page.mouse.move(c.x + c.width / 2, c.y + c.height / 2);
  for (let i = 0; i < 8; i++) {
    await page.mouse.wheel(0, -240);
    await page.waitForTimeout(40);
  }
  await shot('05-zoom-moving');
  await still();
  const zoomed = await motionShare();
  await still();
  await page.waitForTimeout(150);
  const sz = await ls();
  const visZ = await page.evaluate(() => window.__ls.countVisible());
  check('zoomed in (wheel)', sz.view.k > 3, `k ${sz.view.k.toFixed(2)}`);
  check(
    'zooming in draws a larger share of the visible points while moving',
    zoomed.drawn / Math.max(1, zoomed.visible) >= over.drawn / Math.max(1, over.visible) - 1e-9,
    `overview ${over.drawn}/${over.visible}, zoomed ${zoomed.drawn}/${zoomed.visible}`,
  );
  check('zoomed in, at rest, every visible point is drawn', sz.drawn === visZ && visZ > 0, `${sz.drawn} drawn, ${visZ} in view`);
  await shot('06-zoom-rest');

  // ---- cluster panel: click zooms there and highlights ------------------------------
  await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
  await still();
  const pickC = byCount[Math.min(2, byCount.length - 1)] ?? big;
  await page.locator(`[data-testid=cluster-panel] li[data-cluster="${pickC.cluster}"]`).click();
  await page.waitForTimeout(900);
  await still();
  const sc = await ls();
  const hull = await page.evaluate((rows) => rows.map((r) => window.__ls.coords(r)).filter(Boolean), pickC.hull);
  const xs = hull.map((p) => p[0]), ys = hull.map((p) => p[1]);
  const inBox =
    hull.length === 0 ||
    (sc.view.x >= Math.min(...xs) - 0.02 && sc.view.x <= Math.max(...xs) + 0.02 && sc.view.y >= Math.min(...ys) - 0.02 && sc.view.y <= Math.max(...ys) + 0.02);
  const span = hull.length ? Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) : 2;
  check(
    'a cluster click zooms there',
    inBox && (sc.view.k > 1.5 || (span > 0.8 && sc.view.k > 1.02)),
    `view ${JSON.stringify(sc.view)}, cluster ${pickC.cluster} "${pickC.label}"`,
  );
  check('…and highlights it (panel row selected)', await page.locator(`[data-testid=cluster-panel] li.sel[data-cluster="${pickC.cluster}"]`).isVisible());
  await page.waitForTimeout(400);
  check('the address records the view and the cluster', /[#&]x=.*&k=/.test(page.url()) && page.url().includes(`cluster=${pickC.cluster}`), page.url());
  await shot('07-cluster');

  // ---- the address reopens the same view -------------------------------------------
  const addr = page.url();
  const page2 = await ctx.newPage();
  const problems2 = watch(page2);
  await page2.goto(addr);
  await still(page2);
  await page2.waitForTimeout(200);
  const s2 = await ls(page2);
  const dv = Math.hypot(s2.view.x - sc.view.x, s2.view.y - sc.view.y) * sc.view.k;
  check('the address reopens the same view', dv < 1e-3 && Math.abs(s2.view.k / sc.view.k - 1) < 1e-3, `${JSON.stringify(sc.view)} → ${JSON.stringify(s2.view)}`);
  check('…with the same cluster highlighted', await page2.locator(`[data-testid=cluster-panel] li.sel[data-cluster="${pickC.cluster}"]`).isVisible());
  await shot('08-reopened', page2);
  await page2.close();
  problems.push(...problems2);
  await page.locator('[data-testid=cluster-panel] li.sel').click();

  // ---- colour by a column -------------------------------------------------------------
  const opts = await page.locator('[data-testid=color-select] option').evaluateAll((o) => o.map((x) => x.value));
  const col = opts.find((v) => v !== 'cluster');
  if (col) {
    await page.selectOption('[data-testid=color-select]', col);
    await page.locator('[data-testid=legend]').waitFor({ timeout: 10000 });
    await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
    await still();
    check(`colour by column "${col}" shows a legend`, await page.locator('[data-testid=legend]').isVisible());
    await shot('09-color-by');
    await page.selectOption('[data-testid=color-select]', 'cluster');
    await page.locator('[data-testid=legend]').waitFor({ state: 'detached', timeout: 5000 });
  } else notes.push('no column to colour by');

  // ---- switching scopes ------------------------------------------------------------------
  if (SCOPE2) {
    const json2 = await api(`/api/datasets/${encodeURIComponent(DS)}/scopes/${encodeURIComponent(SCOPE2)}`);
    await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
    await still();
    const before = await page.evaluate((r) => window.__ls.coords(r), target);
    await page.selectOption('[data-testid=scope-select]', SCOPE2);
    await page.waitForFunction(() => window.__ls.mode === 'transition', null, { timeout: 30000, polling: 10 });
    await page.waitForTimeout(350);
    await shot('10-switch-transition');
    await page.waitForFunction((s) => window.__ls.scope === s, SCOPE2, { timeout: 30000 });
    await still();
    await page.waitForTimeout(150);
    const s3 = await ls();
    const after = await page.evaluate((r) => window.__ls.coords(r), target);
    check('switching scopes: the new scope is shown', s3.scope === SCOPE2 && s3.total === json2.rows && s3.drawn > 0, `${s3.scope}, ${s3.drawn}/${s3.total}`);
    check('…the address follows', new URL(page.url()).pathname === `/datasets/${DS}/explore/${SCOPE2}`, page.url());
    check('…the same row moved to its new place', !!after && (!before || after[0] !== before[0] || after[1] !== before[1]), `${before} → ${after}`);
    await shot('11-switched');
    // Back.
    await page.goBack();
    await page.waitForFunction((s) => window.__ls.scope === s, SCOPE, { timeout: 30000 });
    await still();
    check('back goes to the first scope', (await ls()).scope === SCOPE);
  } else notes.push('one scope only: switching not tested (pass --scope2 or LS_SCOPE2)');

  // ---- dark mode ----------------------------------------------------------------------
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(300);
  await still();
  const dark = await inkShare();
  check('dark mode follows the system', dark.bg[0] < 60 && dark.bg[1] < 60 && dark.bg[2] < 60, `bg ${dark.bg}`);
  await shot('12-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // ---- nothing wrong on the wire or in the console ----------------------------------------
  check('no console errors, no 4xx/5xx responses, no failed requests', problems.length === 0, problems.join(' | '));
  if (version.read_only) check('read-only: no write request was made', writes.length === 0, writes.join(' | '));
} catch (e) {
  check('test ran to the end', false, e.stack || String(e));
  await shot('99-error').catch(() => {});
} finally {
  await browser.close();
}
for (const n of notes) console.log(`note ${n}`);
console.log(`\nscreenshots in ${SHOTS}`);
if (failures.length) {
  console.log(`\n${failures.length} failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('all passed');
