#!/usr/bin/env node
// Browser test of working with rows: selection, search, filters, table,
// tags, export and curation, against a running `latentscope serve`.
//
//   node tests/rows.test.mjs --url=http://127.0.0.1:5311 [--data-dir=DIR] [--bin=PATH]
//                            [--dataset=ID] [--scope=ID] [--ro-url=URL]
//                            [--big-url=URL --big-dataset=ID --big-scope=ID] [--screenshots=DIR]
//
// Each option can also come from the environment: LS_URL (a WRITABLE server
// on a copy of the data: the test creates and deletes a tag and saves a new
// scope), LS_DATA_DIR (that server's data directory, to check the files on
// disk: tag files, the new labels artifact, the scope's `deleted` column and
// its transactions file; without it those checks are skipped with a note),
// LS_BIN (the latentscope binary for `latentscope tag <ds> list`; default
// `latentscope` on PATH), LS_DATASET, LS_SCOPE (default: the first dataset
// with a scope, its first scope), LS_RO_URL (a --read-only server of the same
// dataset: no write control shows, search, filters, table and export work),
// LS_BIG_URL, LS_BIG_DATASET, LS_BIG_SCOPE (a big scope, e.g. the 703k PyPI
// one, read-only: the lasso and table-scroll timings), LS_SCREENSHOTS
// (default tests/screenshots/), CHROMIUM, LS_PYTHON (a python with pyarrow,
// to read exports and scopes back; default python3).
//
// It checks: a lasso selects exactly the rows inside it (against their
// coordinates), highlights them (the others dimmed) and counts them; shift
// adds a box; Escape clears; the table lists the selected rows and hovering a
// row marks its point, a click centres the map on it; a similarity search
// lists its results in rank order with distances and highlights them; a text
// search finds what the server finds; a cluster filter and a column-value
// filter combine, dim the others and show as chips; the address reopens the
// filters and the selection; a tag made in the browser is on disk (the CLI
// lists it with the selection's size), filters by it, and is deleted; an
// export downloads exactly the selected rows as CSV, JSON Lines and Parquet
// (read back with pyarrow) with a tag_* column; a renamed label shows on the
// map and is saved in a new labels artifact; deleted rows are marked in the
// new scope's `deleted` column and listed in its transactions file; undo;
// read-only shows no write control and makes no write request; no console
// error, no 4xx/5xx. Exits 1 on failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launch, watch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : undefined;
};
const opt = (name, env) => arg(name) || process.env[env];
const BASE = (opt('url', 'LS_URL') || 'http://127.0.0.1:5001').replace(/\/$/, '');
const RO = opt('ro-url', 'LS_RO_URL')?.replace(/\/$/, '');
const DATA = opt('data-dir', 'LS_DATA_DIR');
const BIN = opt('bin', 'LS_BIN') || 'latentscope';
const BIG = opt('big-url', 'LS_BIG_URL')?.replace(/\/$/, '');
const SHOTS = path.resolve(opt('screenshots', 'LS_SCREENSHOTS') || path.join(here, 'screenshots'));
fs.mkdirSync(SHOTS, { recursive: true });
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-rows-'));

const failures = [];
const notes = [];
const measures = {};
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}
const api = async (p, base = BASE) => {
  const r = await fetch(base + p);
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
  return r.json();
};
const enc = encodeURIComponent;

const version = await api('/api/version');
const datasets = await api('/api/datasets');
const DS = opt('dataset', 'LS_DATASET') || datasets.find((d) => d.scopes?.length)?.id;
const SCOPE = opt('scope', 'LS_SCOPE') || datasets.find((d) => d.id === DS)?.scopes?.[0]?.id;
const scopeJson = await api(`/api/datasets/${enc(DS)}/scopes/${enc(SCOPE)}`);
const ROWS = scopeJson.rows;
const TEXT = scopeJson.scope.dataset.text_column;
const COLUMNS = scopeJson.scope.dataset.columns;
const explore = (s, base = BASE, ds = DS) => `${base}/datasets/${enc(ds)}/explore/${enc(s)}`;
console.log(`server ${BASE} (v${version.version}, read_only ${version.read_only}); ${DS}/${SCOPE}: ${ROWS} rows; data dir ${DATA ?? '(not given)'}`);
if (version.read_only) console.log('note: this server is read-only: the write checks are skipped (give a writable one with --url)');
const WRITABLE = !version.read_only;

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
const page = await ctx.newPage();
page.on('dialog', (d) => d.accept());
const problems = watch(page);
const shot = (name, p = page) => p.screenshot({ path: path.join(SHOTS, `${name}.png`) });
const still = (p = page, timeout = 60000) =>
  p.waitForFunction(() => window.__ls && window.__ls.complete && window.__ls.mode === 'still', null, { timeout, polling: 50 });
const tableCount = async (p = page) => {
  const t = p.locator('[data-testid=table]');
  if (!(await t.count())) return null;
  return Number(await t.getAttribute('data-count'));
};
const waitTable = (pred, p = page, timeout = 15000) =>
  p.waitForFunction(
    (src) => {
      const t = document.querySelector('[data-testid=table]');
      const n = t ? Number(t.getAttribute('data-count')) : null;
      return new Function('n', `return (${src})(n)`)(n);
    },
    pred.toString(),
    { timeout, polling: 50 },
  );
/** Draws a lasso through screen points (viewport px) with the mouse. */
async function lasso(p, pts, shift = false) {
  await p.locator('[data-tool=lasso]').click();
  if (shift) await p.keyboard.down('Shift');
  await p.mouse.move(pts[0][0], pts[0][1]);
  await p.mouse.down();
  for (const [x, y] of pts.slice(1)) await p.mouse.move(x, y);
  await p.mouse.up();
  if (shift) await p.keyboard.up('Shift');
}
async function box(p, [x0, y0, x1, y1], shift = false) {
  await p.locator('[data-tool=box]').click();
  if (shift) await p.keyboard.down('Shift');
  await p.mouse.move(x0, y0);
  await p.mouse.down();
  await p.mouse.move((x0 + x1) / 2, (y0 + y1) / 2);
  await p.mouse.move(x1, y1);
  await p.mouse.up();
  if (shift) await p.keyboard.up('Shift');
}
const circle = (cx, cy, r, n = 32) => Array.from({ length: n + 1 }, (_, i) => [cx + r * Math.cos((2 * Math.PI * i) / n), cy + r * Math.sin((2 * Math.PI * i) / n)]);
const mapRect = (p = page) => p.locator('[data-testid=map]').boundingBox();
/** A polygon in viewport px in data coordinates (at the current view), and data units per px. */
const toDataPoly = (p, poly) =>
  p.evaluate((poly) => {
    const a = window.__ls.toData(0, 0), b = window.__ls.toData(1, 0);
    return { pts: poly.map(([x, y]) => window.__ls.toData(x, y)), unit: Math.hypot(b[0] - a[0], b[1] - a[1]) };
  }, poly);
/**
 * Rows whose point lies inside a polygon (data coordinates), from their
 * coordinates, and those within 0.5 px of an edge (either answer is right).
 */
const insideData = (p, { pts: poly, unit }, n) =>
  p.evaluate(
    ({ poly, n, unit }) => {
      const inPoly = (x, y) => {
        let inside = false;
        for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
          const [xi, yi] = poly[i], [xj, yj] = poly[j];
          if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
      };
      const segDist = (x, y, [ax, ay], [bx, by]) => {
        const dx = bx - ax, dy = by - ay;
        const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy || 1)));
        return Math.hypot(x - ax - t * dx, y - ay - t * dy);
      };
      const inside = [], edge = [];
      for (let r = 0; r < n; r++) {
        const c = window.__ls.coords(r);
        if (!c || window.__ls.isDimmed(r) === null) continue; // not in the scope, or deleted
        const q = { x: c[0], y: c[1] };
        let near = false;
        for (let i = 0; i < poly.length; i++) near = near || segDist(q.x, q.y, poly[i], poly[(i + 1) % poly.length]) < 0.5 * unit;
        if (near) edge.push(r);
        if (inPoly(q.x, q.y)) inside.push(r);
      }
      return { inside, edge };
    },
    { poly, n, unit },
  );
const sameSet = (a, b, ignore = []) => {
  const A = new Set(a), B = new Set(b), I = new Set(ignore);
  const onlyA = [...A].filter((x) => !B.has(x) && !I.has(x));
  const onlyB = [...B].filter((x) => !A.has(x) && !I.has(x));
  return { ok: onlyA.length === 0 && onlyB.length === 0, onlyA, onlyB };
};
async function download(p, format) {
  await p.locator('[data-testid=export-menu] summary').click();
  const [dl] = await Promise.all([p.waitForEvent('download', { timeout: 30000 }), p.locator(`[data-testid=export-menu] [data-format=${format}]`).click()]);
  const file = path.join(TMP, dl.suggestedFilename());
  await dl.saveAs(file);
  return { file, name: dl.suggestedFilename() };
}
/** ls_index values and column names of an exported file. */
function readExport(file, format) {
  if (format === 'parquet') {
    const out = execFileSync(process.env.LS_PYTHON || 'python3', ['-c', 'import sys,json,pyarrow.parquet as pq; t=pq.read_table(sys.argv[1]); print(json.dumps({"cols":t.column_names,"idx":t.column("ls_index").to_pylist()}))', file]).toString();
    return JSON.parse(out);
  }
  if (format === 'jsonl') {
    const recs = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    return { cols: Object.keys(recs[0] ?? {}), idx: recs.map((r) => r.ls_index) };
  }
  // CSV: the header and the first field of each record (ls_index comes first; quoted fields may hold newlines).
  const text = fs.readFileSync(file, 'utf8');
  const recs = [];
  let field = '', rec = [], q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') rec.push(field), (field = '');
    else if (c === '\n') rec.push(field), recs.push(rec), (rec = []), (field = '');
    else if (c !== '\r') field += c;
  }
  if (field || rec.length) rec.push(field), recs.push(rec);
  const cols = recs[0];
  const k = cols.indexOf('ls_index');
  return { cols, idx: recs.slice(1).map((r) => Number(r[k])) };
}
const cli = (...a) => execFileSync(BIN, [...(DATA ? ['--data-dir', DATA] : []), ...a]).toString();

try {
  await page.goto(explore(SCOPE));
  await still();
  const rect = await mapRect();
  const labels = scopeJson.labels.filter((l) => l.label !== 'Unclustered' && l.hull.length > 2).sort((a, b) => b.count - a.count);
  const big = labels[0];

  // ---- lasso -----------------------------------------------------------------------
  const c0 = await page.evaluate(([x, y]) => window.__ls.toScreen(x, y), big.centroid);
  const r0 = Math.min(rect.width, rect.height) * 0.16;
  // A wobbly (non-convex) loop around the biggest cluster's centroid.
  const poly = circle(c0.x, c0.y, r0, 40).map(([x, y], i) => {
    const k = i % 2 ? 0.72 : 1;
    return [c0.x + (x - c0.x) * k, c0.y + (y - c0.y) * k];
  });
  poly[poly.length - 1] = poly[0];
  const polyData = await toDataPoly(page, poly);
  await lasso(page, poly);
  await page.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 10000 });
  const sel1 = await page.evaluate(() => window.__ls.selection());
  const exp1 = await insideData(page, polyData, ROWS);
  const cmp1 = sameSet(sel1, exp1.inside, exp1.edge);
  check('a lasso selects exactly the rows inside it (their coordinates)', cmp1.ok && sel1.length > 0, `${sel1.length} selected, ${exp1.inside.length} inside, ${exp1.edge.length} on the edge; extra ${cmp1.onlyA.slice(0, 5)} missing ${cmp1.onlyB.slice(0, 5)}`);
  const shapeBack = await page.evaluate(() => window.__ls.shapes()[0].pts);
  const worst = Math.max(...polyData.pts.slice(0, shapeBack.length / 2).map(([x, y], i) => Math.hypot(x - shapeBack[2 * i], y - shapeBack[2 * i + 1]) / polyData.unit));
  check('…the shape kept is the one drawn', shapeBack.length / 2 >= poly.length - 2 && worst < 0.5, `${shapeBack.length / 2} vertices, off by ${worst.toFixed(3)} px at most`);
  const countText = await page.locator('[data-testid=selection-count]').textContent();
  check('…the selection is counted', countText.replace(/\D/g, '') === String(sel1.length), countText);
  const outside = await page.evaluate((sel) => {
    const s = new Set(sel);
    for (let r = 0; r < window.__ls.total; r++) if (!s.has(r) && window.__ls.isDimmed(r) !== null) return r;
    return -1;
  }, sel1);
  const dim = await page.evaluate(([a, b]) => [window.__ls.isDimmed(a), window.__ls.isDimmed(b)], [sel1[0], outside]);
  check('…highlighted on the map: selected points bright, the others dimmed', dim[0] === false && dim[1] === true, JSON.stringify(dim));
  await waitTable((n) => n !== null && n > 0);
  check('the table lists the selected rows', (await tableCount()) === sel1.length, `${await tableCount()} rows`);
  await page.waitForFunction(() => document.querySelector('[data-testid=table] .trow .text')?.textContent.length > 3, null, { timeout: 10000 });
  const listed = await page.locator('[data-testid=table] .trow').evaluateAll((e) => e.map((x) => Number(x.dataset.row)));
  check('…its rows are selected ones', listed.length > 0 && listed.every((r) => sel1.includes(r)), `${listed.length} rendered`);
  check('…virtualised (only the rows on screen are in the DOM)', sel1.length < 120 || listed.length < 120, `${listed.length} of ${sel1.length}`);
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await shot('r01-selection');

  // Row hover marks its point; a click centres the map on it.
  const tr = page.locator('[data-testid=table] .trow').nth(2);
  const hovRow = Number(await tr.getAttribute('data-row'));
  await tr.hover();
  await page.waitForFunction((r) => document.querySelector('[data-testid=row-dot]')?.getAttribute('data-row') === String(r), hovRow, { timeout: 3000 }).catch(() => {});
  const dot = await page.evaluate((r) => {
    const d = document.querySelector('[data-testid=row-dot]');
    const b = d.getBoundingClientRect();
    const p = window.__ls.project(r);
    return { row: d.getAttribute('data-row'), shown: d.style.display !== 'none' && getComputedStyle(d.ownerSVGElement).display !== 'none', dx: b.x + b.width / 2 - p.x, dy: b.y + b.height / 2 - p.y };
  }, hovRow);
  check('hovering a table row highlights its point', dot.row === String(hovRow) && dot.shown && Math.hypot(dot.dx, dot.dy) < 2, JSON.stringify(dot));
  await tr.click();
  await page.waitForTimeout(900);
  await still();
  const v = await page.evaluate(() => window.__ls.view);
  const xy = await page.evaluate((r) => window.__ls.coords(r), hovRow);
  check('a click on a row centres the map on it', Math.hypot(v.x - xy[0], v.y - xy[1]) * v.k < 0.01, `view ${v.x.toFixed(4)},${v.y.toFixed(4)} k ${v.k.toFixed(1)}; row at ${xy}`);
  await page.keyboard.press('Escape'); // closes the detail panel
  await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
  await still();

  // Shift adds a box.
  // A cluster whose centre is on the visible map (not under the table or the
  // bars) and outside the first selection: layouts differ run to run.
  const c1 = await page.evaluate(([cands, selected, bigCentroid, away]) => {
    const first = window.__ls.toScreen(bigCentroid[0], bigCentroid[1]);
    const map = document.querySelector('canvas').getBoundingClientRect();
    const table = document.querySelector('[data-testid=table]')?.getBoundingClientRect();
    const bottom = Math.min(map.bottom, table ? table.top : map.bottom) - 50;
    const inSel = new Set(selected);
    const ok = cands
      .map((l) => ({ l, p: window.__ls.toScreen(l.centroid[0], l.centroid[1]) }))
      .filter(({ p }) => p.x > map.left + 50 && p.x < map.right - 50 && p.y > map.top + 50 && p.y < bottom)
      .filter(({ p }) => Math.hypot(p.x - first.x, p.y - first.y) > away);
    void inSel;
    return ok[0]?.p;
  }, [[...labels].reverse(), sel1, big.centroid, r0 + 60]);
  await box(page, [c1.x - 40, c1.y - 40, c1.x + 40, c1.y + 40], true);
  await page.waitForFunction((n) => window.__ls.selectionCount !== n, sel1.length, { timeout: 5000 }).catch(() => {});
  const sel2 = await page.evaluate(() => window.__ls.selection());
  check('shift adds a box to the selection', sel2.length > sel1.length && sel1.every((r) => sel2.includes(r)) && (await page.evaluate(() => window.__ls.shapes().length)) === 2, `${sel1.length} → ${sel2.length}`);
  await page.waitForTimeout(300);
  check('the address records the selection', /[#&]sel=/.test(page.url()), page.url().slice(0, 160));
  const selUrl = page.url();
  await page.locator('[data-tool=pan]').click();
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !window.__ls.selectionCount, null, { timeout: 3000 }).catch(() => {});
  check('Escape clears the selection', (await page.evaluate(() => window.__ls.selection().length)) === 0 && (await tableCount()) === null);
  // The address reopens it.
  const p2 = await ctx.newPage();
  problems.push(...watch(p2));
  await p2.goto(selUrl);
  await still(p2);
  await p2.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 10000 }).catch(() => {});
  const sel2b = await p2.evaluate(() => window.__ls.selection());
  check('the address reopens the selection', sameSet(sel2, sel2b).ok, `${sel2b.length} of ${sel2.length}`);
  await p2.close();

  // ---- similarity search ------------------------------------------------------------
  const query = 'web framework for building APIs';
  const input = page.locator('[data-testid=search-input]');
  await page.keyboard.press('/');
  check("'/' focuses the search box", await input.evaluate((e) => document.activeElement === e));
  await input.fill(query);
  await page.locator('[data-testid=suggestions] [data-key=nn]').waitFor({ timeout: 5000 });
  await input.press('Enter');
  let nnOk = true;
  try {
    await waitTable((n) => n !== null && n > 0, page, 60000);
  } catch {
    nnOk = false;
  }
  if (nnOk) {
    const want = await api(`/api/datasets/${enc(DS)}/search/nn?scope=${enc(SCOPE)}&query=${enc(query)}&k=100`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=table] .trow').length > 3, null, { timeout: 5000 });
    const shownRows = await page.locator('[data-testid=table] .trow').evaluateAll((e) => e.slice(0, 5).map((x) => Number(x.dataset.row)));
    const dists = await page.locator('[data-testid=table] .trow').evaluateAll((e) => e.slice(0, 5).map((x) => Number(x.children[1].textContent)));
    check('a similarity search lists its results in rank order', JSON.stringify(shownRows) === JSON.stringify(want.indices.slice(0, 5)), `${shownRows} vs ${want.indices.slice(0, 5)}`);
    check('…with their distances, nearest first', dists.every((d, i) => Math.abs(d - want.distances[i]) < 1e-3 && (i === 0 || d >= dists[i - 1])), String(dists));
    check('…all of them', (await tableCount()) === want.indices.length, `${await tableCount()} of ${want.indices.length}`);
    const hl = await page.evaluate((rows) => rows.map((r) => window.__ls.isDimmed(r)), [want.indices[0], want.indices[1]]);
    const notHit = await page.evaluate((hit) => {
      const s = new Set(hit);
      for (let r = 0; r < window.__ls.total; r++) if (!s.has(r) && window.__ls.isDimmed(r) !== null) return window.__ls.isDimmed(r);
      return null;
    }, want.indices);
    check('…and highlights them on the map (the rest dimmed)', hl.every((x) => x === false) && notHit === true, `${hl} / ${notHit}`);
    check('…shown as a chip', (await page.locator('[data-chip=search]').count()) === 1);
    await page.mouse.move(0, 0);
    await page.waitForTimeout(200);
    await shot('r02-search');
  } else {
    check('a similarity search answers', false, (await page.locator('.error-banner').textContent().catch(() => '')) || 'no result');
  }
  // Substring search.
  const word = 'data';
  await input.fill(word);
  await page.locator('[data-testid=suggestions] [data-key=text]').click();
  const tw = await api(`/api/datasets/${enc(DS)}/search/text?query=${word}&limit=100000`);
  await waitTable((n) => n !== null && n > 0).catch(() => {});
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=table]')?.getAttribute('data-count')) === n, tw.total, { timeout: 10000 }).catch(() => {});
  check('a text search lists the rows containing the text', (await tableCount()) === tw.total, `${await tableCount()} vs ${tw.total}`);
  await page.locator('[data-chip=search] .x').click();

  // ---- filters --------------------------------------------------------------------------
  const fc = labels[Math.min(1, labels.length - 1)];
  await page.locator('[data-testid=filter-menu] summary').click();
  await page.selectOption('[data-testid=filter-column]', 'cluster');
  await page.selectOption('[data-testid=filter-value]', String(fc.cluster));
  await page.locator('[data-testid=filter-apply]').click();
  await waitTable((n) => n !== null && n > 0);
  check('a cluster filter lists its rows', (await tableCount()) === fc.count, `${await tableCount()} vs ${fc.count}`);
  const inC = fc.hull[0];
  const otherC = labels[0].cluster !== fc.cluster ? labels[0].hull[0] : labels[labels.length - 1].hull[0];
  const dimF = await page.evaluate(([a, b]) => [window.__ls.isDimmed(a), window.__ls.isDimmed(b)], [inC, otherC]);
  check('a filter dims the others (not hidden)', dimF[0] === false && dimF[1] === true, JSON.stringify(dimF));
  // A column value from the search box's suggestions, combined.
  const valCol = COLUMNS.find((c) => c !== TEXT && (scopeJson.scope.dataset.column_metadata?.[c]?.unique_values_count ?? 1e9) < ROWS * 0.5);
  if (valCol) {
    const vals = (await api(`/api/datasets/${enc(DS)}/columns/${enc(valCol)}/values?limit=5`)).values;
    const val = vals[0].value;
    await input.fill(String(val));
    const key = `v${valCol}=${String(val)}`;
    await page.locator(`[data-testid=suggestions] li[data-key="${key}"]`).click({ timeout: 5000 });
    const r = await fetch(`${BASE}/api/datasets/${enc(DS)}/filter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filters: [{ column: valCol, op: 'eq', value: val }] }) });
    const { tableFromIPC } = await import('@uwdata/flechette');
    const idx = Array.from(tableFromIPC(new Uint8Array(await r.arrayBuffer())).getChildAt(0).toArray());
    const clusterRows = await page.evaluate((c) => {
      const out = [];
      for (let r = 0; r < window.__ls.total; r++) if (window.__ls.isDimmed(r) !== null) out.push(r);
      return out;
    }, fc.cluster);
    void clusterRows;
    const want = await page.evaluate(([idx, c]) => idx.filter((r) => window.__ls.coords(r) && window.__ls.clusterOf(r) === c), [idx, fc.cluster]);
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=table]')?.getAttribute('data-count')) === n, want.length, { timeout: 10000 }).catch(() => {});
    check(`filters combine (cluster and ${valCol} = ${val})`, (await tableCount()) === want.length && (await page.locator('[data-chip=filter]').count()) === 2, `${await tableCount()} vs ${want.length}`);
  } else notes.push('no categorical column: the value filter is not tested');
  await page.locator('[data-testid=search-input]').evaluate((e) => e.blur());
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await shot('r03-filtered-table');
  await page.waitForTimeout(250);
  check('the address records the filters', /[#&]filter=/.test(page.url()));
  const fUrl = page.url();
  const n3 = await tableCount();
  const p3 = await ctx.newPage();
  problems.push(...watch(p3));
  await p3.goto(fUrl);
  await still(p3);
  await waitTable((n) => n !== null && n > 0, p3).catch(() => {});
  check('the address reopens the filters', (await tableCount(p3)) === n3 && (await p3.locator('[data-chip=filter]').count()) === (await page.locator('[data-chip=filter]').count()), `${await tableCount(p3)} vs ${n3}`);
  await p3.close();
  await page.locator('[data-testid=clear-all]').click();
  check('Clear removes the filters', (await page.locator('[data-chip=filter]').count()) === 0 && (await tableCount()) === null);

  // ---- tags and export ---------------------------------------------------------------------
  await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
  await still();
  await lasso(page, poly);
  await page.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 10000 });
  const sel = await page.evaluate(() => window.__ls.selection());
  const TAG = `browser tag ✓ ${Date.now() % 100000}`;
  if (WRITABLE) {
    await page.locator('[data-testid=tag-menu] summary').click();
    await page.locator('[data-testid=tag-input]').fill(TAG);
    await page.locator('[data-testid=tag-add-new]').click();
    await page.waitForFunction((t) => document.querySelector('[data-testid=toast]')?.textContent.includes(t) || document.querySelector('.error-banner'), TAG, { timeout: 10000 }).catch(() => {});
    const tags = await api(`/api/datasets/${enc(DS)}/tags`);
    check('a tag created in the browser holds the selection', tags[TAG] === sel.length, `${JSON.stringify(tags)} vs ${sel.length}`);
    if (DATA) {
      let listed = '';
      try {
        listed = cli('tag', DS, 'list');
      } catch (e) {
        listed = String(e);
      }
      check('…the CLI lists it with its size (on disk)', listed.includes(TAG) && listed.includes(String(sel.length)), listed.trim().split('\n').slice(0, 6).join(' | '));
      const tagDir = path.join(DATA, DS, 'tags');
      const files = fs.existsSync(tagDir) ? fs.readdirSync(tagDir) : [];
      check('…as a file in <data>/<ds>/tags/', files.some((f) => f.normalize().startsWith(TAG.normalize())), files.join(', '));
    } else notes.push('no --data-dir: tag files on disk not checked');
  }
  // Export the selection: CSV, JSON Lines, Parquet.
  for (const format of ['csv', 'jsonl', 'parquet']) {
    try {
      const { file, name } = await download(page, format);
      const got = readExport(file, format);
      const cmp = sameSet(got.idx, sel);
      check(`export ${format}: exactly the selected rows`, cmp.ok && got.idx.length === sel.length, `${name}: ${got.idx.length} rows; extra ${cmp.onlyA.slice(0, 3)} missing ${cmp.onlyB.slice(0, 3)}`);
      const need = ['ls_index', ...COLUMNS, 'x', 'y', 'cluster', 'label'];
      check(`…with the scope's columns${WRITABLE ? ' and a tag_* column' : ''}`, need.every((c) => got.cols.includes(c)) && (!WRITABLE || got.cols.some((c) => c.startsWith('tag_'))), got.cols.join(','));
    } catch (e) {
      check(`export ${format}`, false, String(e.message ?? e).slice(0, 300));
    }
  }
  if (WRITABLE) {
    // Filter by the tag, then take rows out and delete it.
    await page.locator('[data-testid=tags-menu] summary').click();
    await page.locator(`[data-testid=tags-menu] .tag-row[data-tag="${TAG}"] button.link`).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=filter-count]'), null, { timeout: 10000 });
    check('filter by the tag', (await page.locator('[data-testid=filter-count]').textContent()).replace(/\D/g, '') === String(sel.length));
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=clear-all]').click();
    await lasso(page, poly);
    await page.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 10000 });
    await page.locator('[data-testid=tag-menu] summary').click();
    await page.locator(`[data-testid=tag-menu] .tag-row[data-tag="${TAG}"] [data-op=remove]`).click();
    await page.waitForTimeout(500);
    check('remove the selection from the tag', (await api(`/api/datasets/${enc(DS)}/tags`))[TAG] === 0);
    await page.locator('[data-testid=tags-menu] summary').click();
    await page.locator(`[data-testid=tags-menu] .tag-row[data-tag="${TAG}"] [data-write=tag-delete]`).click();
    await page.waitForTimeout(500);
    check('delete the tag', !(TAG in (await api(`/api/datasets/${enc(DS)}/tags`))));
    if (DATA) check('…the CLI no longer lists it', !cli('tag', DS, 'list').includes(TAG));
    await page.keyboard.press('Escape');
  }

  // ---- curation --------------------------------------------------------------------------------
  if (WRITABLE) {
    await page.locator('[data-testid=clear-all]').click().catch(() => {});
    await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
    await still();
    const NEW = 'Renamed by the test';
    const li = page.locator(`[data-testid=cluster-panel] li[data-cluster="${big.cluster}"]`);
    await li.hover();
    await li.locator('[data-testid=edit-label]').click();
    await page.locator('[data-testid=label-input]').fill(NEW);
    await page.locator('[data-testid=label-form] textarea').fill('A description written in the browser');
    await page.locator('[data-testid=label-apply]').click();
    await page.locator('[data-testid=edits-bar]').waitFor({ timeout: 3000 });
    await still();
    await page.waitForFunction((t) => window.__ls.labelTexts().includes(t), NEW, { timeout: 5000 }).catch(() => {});
    check('a renamed label shows on the map at once', (await page.evaluate(() => window.__ls.labelTexts())).includes(NEW), (await page.evaluate(() => window.__ls.labelTexts())).join(' | '));
    // Delete a few rows: a small box at the centroid.
    const c2 = await page.evaluate(([x, y]) => window.__ls.toScreen(x, y), big.centroid);
    await box(page, [c2.x - 12, c2.y - 12, c2.x + 12, c2.y + 12]);
    await page.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 5000 });
    const del = await page.evaluate(() => window.__ls.selection());
    await page.locator('[data-testid=delete-rows]').click();
    await page.waitForTimeout(200);
    check('deleted rows leave the map before saving', (await page.evaluate((r) => window.__ls.isDimmed(r), del[0])) === null);
    await page.locator('[data-testid=undo]').click();
    await page.waitForTimeout(200);
    check('undo brings them back', (await page.evaluate((r) => window.__ls.isDimmed(r), del[0])) !== null && (await page.locator('[data-testid=edits-bar] strong').textContent()).startsWith('1 '));
    await page.evaluate((s) => window.__ls.select(s), await page.evaluate(() => window.__ls.shapes()));
    await page.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 5000 }).catch(() => {});
    if (!(await page.evaluate(() => window.__ls.selectionCount))) await box(page, [c2.x - 12, c2.y - 12, c2.x + 12, c2.y + 12]);
    await page.locator('[data-testid=delete-rows]').click();
    await page.locator('[data-tool=pan]').click();
    const oldLabels = scopeJson.labels_id;
    await page.locator('[data-testid=save-scope]').click();
    await page.waitForFunction((s) => window.__ls.scope && window.__ls.scope !== s, SCOPE, { timeout: 30000 }).catch(() => {});
    const NS = await page.evaluate(() => window.__ls.scope);
    check('saving makes a new scope and switches to it', NS && NS !== SCOPE && new URL(page.url()).pathname === `/datasets/${DS}/explore/${NS}`, `${NS} ${page.url()}`);
    if (NS && NS !== SCOPE) {
      await still();
      await page.waitForTimeout(300);
      const nj = await api(`/api/datasets/${enc(DS)}/scopes/${enc(NS)}`);
      const nl = nj.labels.find((l) => l.cluster === big.cluster);
      check('…with a new labels artifact holding the new label', nj.labels_id !== oldLabels && nl?.label === NEW, `${oldLabels} → ${nj.labels_id}: "${nl?.label}"`);
      await page.waitForFunction((t) => window.__ls.labelTexts().includes(t), NEW, { timeout: 5000 }).catch(() => {});
      check('…shown on the map', (await page.evaluate(() => window.__ls.labelTexts())).includes(NEW));
      await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
      await still();
      check('…where the deleted rows are gone', (await page.evaluate((rows) => rows.map((r) => window.__ls.isDimmed(r)), del)).every((x) => x === null));
      await shot('r04-curated');
      if (DATA) {
        const lj = path.join(DATA, DS, 'clusters', `${nj.labels_id}.json`);
        const lp = path.join(DATA, DS, 'clusters', `${nj.labels_id}.parquet`);
        check('…the labels artifact is on disk, the old one untouched', fs.existsSync(lp) && fs.existsSync(path.join(DATA, DS, 'clusters', `${oldLabels}.parquet`)), `${lj}`);
        const py = `import sys,json,pyarrow.parquet as pq
t=pq.read_table(sys.argv[1]).to_pydict()
lab=pq.read_table(sys.argv[2]).to_pydict()
print(json.dumps({"deleted":[i for i,d in zip(t["ls_index"],t["deleted"]) if d],"labels":lab.get("label",[])}))`;
        const out = JSON.parse(execFileSync(process.env.LS_PYTHON || 'python3', ['-c', py, path.join(DATA, DS, 'scopes', `${NS}.parquet`), lp]).toString());
        check("deleted rows are marked in the new scope's deleted column", sameSet(out.deleted, del).ok, `${out.deleted.length} marked, ${del.length} deleted`);
        check('…and the labels parquet has the new label', out.labels.includes(NEW));
        const txf = path.join(DATA, DS, 'scopes', `${NS}-transactions.json`);
        const tx = fs.existsSync(txf) ? fs.readFileSync(txf, 'utf8') : '';
        const nums = new Set((tx.match(/\d+/g) ?? []).map(Number));
        check('…and listed in its transactions file', tx.length > 2 && del.every((r) => nums.has(r)), tx.slice(0, 200));
        check('the first scope is untouched', JSON.stringify((await api(`/api/datasets/${enc(DS)}/scopes/${enc(SCOPE)}`)).labels_id) === JSON.stringify(oldLabels));
      }
    }
  }

  // ---- read-only ----------------------------------------------------------------------------------
  if (RO) {
    const rv = await api('/api/version', RO);
    const ro = await ctx.newPage();
    const roProblems = watch(ro);
    const writes = [];
    ro.on('request', (r) => {
      if (!['GET', 'HEAD'].includes(r.method()) && !/\/(rows|filter|export)$/.test(new URL(r.url()).pathname)) writes.push(`${r.method()} ${r.url()}`);
    });
    await ro.goto(explore(SCOPE, RO));
    await still(ro);
    const rr = await mapRect(ro);
    const pc = await ro.evaluate(([x, y]) => window.__ls.toScreen(x, y), big.centroid);
    await lasso(ro, circle(pc.x, pc.y, Math.min(rr.width, rr.height) * 0.12, 24));
    await ro.waitForFunction(() => window.__ls.selectionCount > 0, null, { timeout: 10000 }).catch(() => {});
    await waitTable((n) => n !== null && n > 0, ro).catch(() => {});
    const found = [];
    for (const m of ['filter-menu', 'export-menu', 'columns-menu', 'tags-menu']) {
      await ro.locator(`[data-testid=${m}] summary`).click();
      found.push(...(await ro.evaluate(() => {
      const words = /\b(delete|remove|upload|save|rename|edit|create|new|add|tag|run|import|ingest|cancel|rerun|undo|move)\b/i;
      const marked = [...document.querySelectorAll('[data-write]')].map((e) => e.outerHTML.slice(0, 80));
      const worded = [...document.querySelectorAll('button, input[type=submit], input[type=file], form, [contenteditable=true]')]
        .filter((e) => !e.closest('.thead') && !e.matches('[data-tag-filter]'))
        .filter((e) => e.tagName === 'FORM' || words.test(e.textContent || e.getAttribute('aria-label') || e.getAttribute('title') || ''))
        .map((e) => e.outerHTML.slice(0, 80));
      return [...marked, ...worded];
      })));
    }
    await ro.keyboard.press('Escape');
    check('read-only: no write control (with a selection, the table and every menu open)', rv.read_only && found.length === 0, found.join(' | '));
    check('read-only: search, filters, table and export are there', (await ro.locator('[data-testid=search-input]').count()) === 1 && (await ro.locator('[data-testid=filter-menu]').count()) === 1 && (await tableCount(ro)) > 0 && (await ro.locator('[data-testid=export-menu]').count()) === 1);
    try {
      const selRo = await ro.evaluate(() => window.__ls.selection());
      const { file } = await download(ro, 'csv');
      check('read-only: export works', sameSet(readExport(file, 'csv').idx, selRo).ok);
    } catch (e) {
      check('read-only: export works', false, String(e.message ?? e).slice(0, 200));
    }
    await shot('r05-read-only', ro);
    check('read-only: no write request', writes.length === 0, writes.join(' | '));
    check('read-only: no console errors, no 4xx/5xx', roProblems.length === 0, roProblems.join(' | '));
    await ro.close();
  } else notes.push('no --ro-url: the read-only checks are skipped');

  check('no console errors, no 4xx/5xx responses, no failed requests', problems.length === 0, problems.join(' | '));

  // ---- performance on a big scope -------------------------------------------------------------------
  if (BIG) {
    const bds = opt('big-dataset', 'LS_BIG_DATASET') || 'pypi-all';
    const bsc = opt('big-scope', 'LS_BIG_SCOPE') || 'scopes-001';
    const bp = await ctx.newPage();
    const bProblems = watch(bp);
    const t0 = Date.now();
    await bp.goto(explore(bsc, BIG, bds));
    await still(bp, 300000);
    const total = await bp.evaluate(() => window.__ls.total);
    measures.bigLoadMs = Date.now() - t0;
    const br = await mapRect(bp);
    // A circle holding about 100k points: its radius found with window.__ls.select, then drawn with the mouse.
    // (In data coordinates: the table opening and closing resizes the map.)
    const [cx, cy] = await bp.evaluate(([x, y]) => window.__ls.toData(x, y), [br.x + br.width * 0.5, br.y + br.height * 0.5]);
    let lo = 0.01, hi = 1.5, rad = 0.3;
    for (let i = 0; i < 14; i++) {
      rad = (lo + hi) / 2;
      const n = await bp.evaluate((pts) => {
        window.__ls.select([{ kind: 'lasso', pts: pts.flat() }]);
        return window.__ls.selectionCount;
      }, circle(cx, cy, rad, 48));
      if (Math.abs(n - 100000) < 5000) break;
      if (n < 100000) lo = rad;
      else hi = rad;
    }
    await bp.keyboard.press('Escape');
    await bp.waitForTimeout(500);
    await still(bp, 60000);
    const pts = await bp.evaluate((pts) => pts.map(([x, y]) => window.__ls.toScreen(x, y)).map((p) => [p.x, p.y]), circle(cx, cy, rad, 48));
    await bp.locator('[data-tool=lasso]').click();
    await bp.mouse.move(pts[0][0], pts[0][1]);
    await bp.mouse.down();
    for (const [x, y] of pts.slice(1)) await bp.mouse.move(x, y);
    await bp.evaluate(() => {
      window.__lsUp = performance.now();
      window.__ls.selectMs = undefined;
    });
    await bp.mouse.up();
    // Counted (the count on screen) and highlighted (the first frame drawing the selection on top).
    const counted = await bp.evaluate(
      () =>
        new Promise((res) => {
          const f = () => (document.querySelector('[data-testid=selection-count]') ? res(Math.round(performance.now() - window.__lsUp)) : requestAnimationFrame(f));
          f();
        }),
    );
    await bp.waitForFunction(() => window.__ls.selectMs !== undefined, null, { timeout: 20000, polling: 10 });
    const m = await bp.evaluate(() => ({ shownMs: window.__ls.selectShownMs, stillMs: window.__ls.selectMs, computeMs: window.__ls.selectComputeMs, count: window.__ls.selectionCount }));
    m.countedMs = counted;
    Object.assign(measures, { bigRows: total, lassoCount: m.count, lassoComputeMs: m.computeMs, lassoCountedMs: counted, lassoHighlightedMs: m.shownMs, lassoFullRedrawMs: m.stillMs });
    check(`big scope (${total} rows): a lasso of ~100k points is counted and highlighted within 1 s`, Math.max(m.shownMs, counted) <= 1000 && Math.abs(m.count - 100000) < 15000, JSON.stringify(m));
    await shot('r06-big-lasso', bp);
    await waitTable((n) => n !== null && n > 0, bp, 20000);
    // Scroll the table through the selection: frame times and how soon rows fill in.
    const sc = await bp.evaluate(async () => {
      const el = document.querySelector('[data-testid=table-body]');
      const frames = [];
      let last = performance.now();
      let blanks = 0, samples = 0;
      const step = el.scrollHeight / 240;
      for (let i = 0; i < 240; i++) {
        el.scrollTop = i * step;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        frames.push(now - last);
        last = now;
        if (i % 20 === 19) {
          await new Promise((r) => setTimeout(r, 250));
          samples++;
          const cells = [...el.querySelectorAll('.trow .text')];
          if (!cells.length || cells.some((c) => c.textContent.trim() === '▸…')) blanks++;
          last = performance.now();
        }
      }
      frames.sort((a, b) => a - b);
      return { median: frames[frames.length >> 1], p95: frames[Math.floor(frames.length * 0.95)], max: frames[frames.length - 1], blanks, samples, rows: document.querySelectorAll('[data-testid=table] .trow').length };
    });
    Object.assign(measures, { tableScrollMedianMs: Math.round(sc.median), tableScrollP95Ms: Math.round(sc.p95), tableRowsInDom: sc.rows });
    check('big scope: the table scrolls smoothly through the selection', sc.p95 < 50 && sc.blanks === 0, JSON.stringify(sc));
    check('big scope: no console errors', bProblems.length === 0, bProblems.join(' | '));
    await bp.close();
  } else notes.push('no --big-url: the 100k lasso timing is not measured');
} catch (e) {
  check('test ran to the end', false, e.stack || String(e));
  await shot('r99-error').catch(() => {});
} finally {
  await browser.close();
  fs.rmSync(TMP, { recursive: true, force: true });
}
for (const n of notes) console.log(`note ${n}`);
if (Object.keys(measures).length) console.log(`measures ${JSON.stringify(measures)}`);
console.log(`\nscreenshots in ${SHOTS}`);
if (failures.length) {
  console.log(`\n${failures.length} failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('all passed');
