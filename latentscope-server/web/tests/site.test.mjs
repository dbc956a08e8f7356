#!/usr/bin/env node
// Browser test of a static site (`latentscope export-site`) served by a
// plain static file server
// (`python3 -m http.server`, not ours) under a sub-path, as GitHub Pages
// serves `/user/repo/`.
//
//   node tests/site.test.mjs --site-dir=DIR [--screenshots=DIR] [--python=python3]
//
// Environment instead of options: LS_SITE_DIR, LS_SCREENSHOTS, LS_PYTHON, CHROMIUM.
//
// It links DIR into a temporary root as <root>/sub/site/, serves <root> and
// opens http://127.0.0.1:PORT/sub/site/. It checks: the map draws (__ls.drawn
// > 0; every visible point at rest; at zoom 1 every row of the scope);
// hovering a point shows its text (the row's text from its rows chunk);
// a cluster filter passes that cluster's rows (and dims the others); a
// column value filter passes the rows holding that value; substring search
// finds the rows whose text contains a word (counted here from the text
// chunks); the table lists the rows with their text; "rows like this row"
// lists the row's neighbours from the neighbour files, in order; the
// address reopens the view; no write control shows; no console error, no
// 4xx/5xx, and no request outside the site's directory. Prints the first
// paint. Screenshots: site.png, site-hover.png, site-filter.png,
// site-search.png, site-similar.png. Exits 1 on failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launch, watch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : undefined;
};
const DIR = path.resolve(arg('site-dir') || process.env.LS_SITE_DIR || '');
const SHOTS = path.resolve(arg('screenshots') || process.env.LS_SCREENSHOTS || path.join(here, 'screenshots'));
const PYTHON = arg('python') || process.env.LS_PYTHON || 'python3';
if (!fs.existsSync(path.join(DIR, 'site.json'))) {
  console.error(`usage: node tests/site.test.mjs --site-dir=DIR (no site.json in "${DIR}")`);
  process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });
const failures = [];
const notes = [];
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}
const readJSON = (rel) => JSON.parse(fs.readFileSync(path.join(DIR, rel), 'utf8'));
const site = readJSON('site.json');
const scope = readJSON('data/scope.json');
const ROWS = site.rows;
const CH = site.chunk_rows;
const TEXT = site.text_column;
const rowOf = (r) => readJSON(`data/rows/${Math.floor(r / CH)}.json`)[r % CH];
const fmtN = (n) => n.toLocaleString('en-US');
let deleted = 0;
{
  const { tableFromIPC } = await import('@uwdata/flechette');
  const pts = tableFromIPC(fs.readFileSync(path.join(DIR, 'data/points.arrow')));
  const del = pts.getChild('deleted');
  if (del) for (let i = 0; i < pts.numRows; i++) if (del.at(i)) deleted++;
}

// A plain static file server over a root holding the site at /sub/site/.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-site-'));
fs.mkdirSync(path.join(root, 'sub'));
fs.symlinkSync(DIR, path.join(root, 'sub', 'site'), 'dir');
const port = await new Promise((ok) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});
const server = spawn(PYTHON, ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
server.stderr.on('data', (d) => (serverLog += d));
const ORIGIN = `http://127.0.0.1:${port}`;
const SITE = `${ORIGIN}/sub/site/`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${SITE}site.json`)).ok) break;
  } catch {
    /* not yet */
  }
  if (i > 100) throw new Error('the static server did not start');
  await new Promise((ok) => setTimeout(ok, 100));
}
console.log(`${DIR} (${site.dataset}/${site.scope}, ${fmtN(ROWS)} rows, neighbours ${site.neighbors_k}) served by ${PYTHON} -m http.server at ${SITE}`);

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await ctx.newPage();
const problems = watch(page);
const outside = [];
ctx.on('request', (r) => {
  const u = r.url();
  if (u.startsWith('data:') || u.startsWith('blob:')) return;
  if (!u.startsWith(SITE)) outside.push(`${r.method()} ${u}`);
  else if (r.method() !== 'GET') outside.push(`${r.method()} ${u} (not a GET)`);
});
const shot = (name, p = page) => p.screenshot({ path: path.join(SHOTS, `${name}.png`) });
const still = (p = page, timeout = 60000) =>
  p.waitForFunction(() => window.__ls && window.__ls.complete && window.__ls.mode === 'still', null, { timeout, polling: 50 });
const tableCount = async (p = page) => {
  const t = p.locator('[data-testid=table]');
  return (await t.count()) ? Number(await t.getAttribute('data-count')) : null;
};
const waitCount = (n, p = page, timeout = 30000) =>
  p.waitForFunction((n) => Number(document.querySelector('[data-testid=table]')?.getAttribute('data-count')) === n, n, { timeout, polling: 50 });

try {
  // ---- first paint and the map --------------------------------------------------------
  const t0 = Date.now();
  await page.goto(SITE);
  await page.waitForFunction(() => window.__ls && typeof window.__ls.firstPaintMs === 'number', null, { timeout: 60000, polling: 'raf' });
  const wall = Date.now() - t0;
  const fp = await page.evaluate(() => window.__ls.firstPaintMs);
  console.log(`first paint: ${Math.round(fp)} ms after navigation start (${wall} ms wall from goto)`);
  await still();
  await page.waitForTimeout(200);
  const s0 = await page.evaluate(() => ({ drawn: window.__ls.drawn, total: window.__ls.total, vis: window.__ls.countVisible(), scope: window.__ls.scope }));
  check('the map draws', s0.drawn > 0 && s0.total === ROWS, `${s0.drawn} drawn of ${s0.total}`);
  check('at rest every visible point is drawn', s0.drawn === s0.vis, `${s0.drawn} drawn, ${s0.vis} in view`);
  check('the scope is the site’s', s0.scope === site.scope, s0.scope);
  await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
  await still();
  await page.waitForTimeout(150);
  const s1 = await page.evaluate(() => window.__ls.drawn);
  check("at zoom 1 the map draws every row of the scope", s1 === ROWS - deleted, `${s1} drawn, ${ROWS - deleted} rows`);
  check('the labels are on the map', (await page.evaluate(() => window.__ls.labels ?? 0)) > 0 || scope.labels.length <= 1);
  await shot('site');
  const writes = await page.evaluate(() => [...document.querySelectorAll('[data-write]')].map((e) => e.getAttribute('data-write')));
  check('no write control (a static site is read-only)', writes.length === 0, writes.join(' '));
  check('the read-only badge shows', await page.locator('[data-testid=read-only]').isVisible());

  // ---- hover: the row's text ------------------------------------------------------------
  const un = scope.scope.cluster?.unclustered_cluster;
  const byCount = scope.labels.filter((l) => l.hull.length > 2 && l.cluster !== un).sort((a, b) => b.count - a.count);
  const target = byCount.length ? byCount[0].hull[0] : 0;
  const xy = await page.evaluate((r) => window.__ls.coords(r), target);
  await page.evaluate(([x, y]) => window.__ls.setView({ x, y, k: 32 }), xy);
  await still();
  const p = await page.evaluate((r) => window.__ls.project(r), target);
  await page.mouse.move(p.x + 30, p.y + 30);
  await page.mouse.move(p.x, p.y);
  const card = page.locator('[data-testid=hover-card]');
  await card.waitFor({ timeout: 10000 });
  const hr = Number(await card.getAttribute('data-row'));
  const want = String(rowOf(hr)[TEXT] ?? '').trim();
  await page
    .waitForFunction((w) => (document.querySelector('[data-testid=hover-card] .hover-text')?.textContent ?? '').trim().startsWith(w.slice(0, 60)), want, { timeout: 10000 })
    .catch(() => {});
  const text = ((await card.locator('.hover-text').textContent()) ?? '').trim();
  check('hovering a point shows its row', hr === target || Math.hypot(...(await page.evaluate(([a, b]) => { const pa = window.__ls.project(a), pb = window.__ls.project(b); return [pa.x - pb.x, pa.y - pb.y]; }, [hr, target]))) < 2, `row ${target}, card ${hr}`);
  check("…with its text (from the rows chunk)", want.length > 0 && text.startsWith(want.slice(0, 60)), `"${text.slice(0, 60)}"`);
  await page.waitForTimeout(150);
  await shot('site-hover');

  // ---- rows like this row -----------------------------------------------------------------
  if (site.neighbors_k > 0) {
    await page.mouse.click(p.x, p.y);
    await page.locator('[data-testid=detail-panel]').waitFor({ timeout: 5000 });
    await page.locator('[data-testid=similar-rows]').click();
    const k = site.neighbors_k;
    const n = Math.floor(hr / CH), o = (hr % CH) * k;
    const nb = new Uint32Array(fs.readFileSync(path.join(DIR, `data/neighbors/${n}.bin`)).buffer.slice(0));
    const nd = new Float32Array(fs.readFileSync(path.join(DIR, `data/neighbors/${n}.dist.bin`)).buffer.slice(0));
    const wantRows = [hr, ...Array.from(nb.subarray(o, o + k))];
    await waitCount(wantRows.length).catch(() => {});
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=table] .trow').length > 3, null, { timeout: 10000 });
    const listed = await page.locator('[data-testid=table] .trow').evaluateAll((e) => e.map((x) => Number(x.dataset.row)));
    const dists = await page.locator('[data-testid=table] .trow').evaluateAll((e) => e.map((x) => Number(x.children[1].textContent)));
    check("'rows like this row' lists the row and its neighbours, nearest first", JSON.stringify(listed) === JSON.stringify(wantRows), `${listed.slice(0, 6)} vs ${wantRows.slice(0, 6)}`);
    check('…with their distances', dists.slice(1).every((d, i) => Math.abs(d - nd[o + i]) < 1e-3), String(dists.slice(0, 5)));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=table] .trow .text')].slice(0, 3).every((e) => !e.textContent.includes('…')), null, { timeout: 10000 }).catch(() => {});
    const firstText = (await page.locator('[data-testid=table] .trow .text').first().textContent()).trim();
    check('…and the table shows their text', firstText.length > 0 && want.startsWith(firstText.replace(/^▸/, '').slice(0, 40)), `"${firstText.slice(0, 50)}"`);
    await page.mouse.move(0, 0);
    await page.waitForTimeout(200);
    await shot('site-similar');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=clear-all]').click();
  } else notes.push('neighbors_k is 0: rows like this row is not tested');

  // ---- substring search -----------------------------------------------------------------------
  await page.evaluate(() => window.__ls.setView({ x: 0, y: 0, k: 1 }));
  const word = 'data';
  let total = 0;
  for (let n = 0; n * CH < ROWS; n++) for (const t of readJSON(`data/text/${n}.json`)) if (String(t ?? '').toLowerCase().includes(word)) total++;
  const input = page.locator('[data-testid=search-input]');
  await input.fill(word);
  await page.locator('[data-testid=suggestions] [data-key=text]').waitFor({ timeout: 5000 });
  check('no search by meaning is offered (no model in the browser)', (await page.locator('[data-testid=suggestions] [data-key=nn]').count()) === 0);
  await page.locator('[data-testid=suggestions] [data-key=text]').click();
  await waitCount(total).catch(() => {});
  check('substring search finds the rows whose text contains the word', (await tableCount()) === total, `${await tableCount()} vs ${total} ("${word}")`);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=table] .trow .text')].slice(0, 3).every((e) => !e.textContent.includes('…')), null, { timeout: 10000 }).catch(() => {});
  const shownTexts = await page.locator('[data-testid=table] .trow .text').evaluateAll((e) => e.slice(0, 5).map((x) => x.textContent.toLowerCase()));
  check('…the table shows them, with the word', shownTexts.length > 0 && shownTexts.every((t) => t.includes(word)), shownTexts.map((t) => t.slice(0, 30)).join(' | '));
  await page.mouse.move(0, 0);
  await still();
  await shot('site-search');
  await page.locator('[data-chip=search] .x').click();

  // ---- filters: a cluster, a column value -------------------------------------------------------
  const fc = byCount[Math.min(1, byCount.length - 1)] ?? scope.labels[0];
  await page.locator('[data-testid=filter-menu] summary').click();
  await page.selectOption('[data-testid=filter-column]', 'cluster');
  await page.selectOption('[data-testid=filter-value]', String(fc.cluster));
  await page.locator('[data-testid=filter-apply]').click();
  await waitCount(fc.count).catch(() => {});
  const passText = (await page.locator('[data-testid=filter-count]').textContent()).replace(/\D/g, '');
  check('a cluster filter passes that cluster’s rows', (await tableCount()) === fc.count && passText === String(fc.count), `${await tableCount()} listed, "${passText}" pass, cluster has ${fc.count}`);
  const other = byCount.find((l) => l.cluster !== fc.cluster)?.hull[0];
  const dim = await page.evaluate(([a, b]) => [window.__ls.isDimmed(a), b === undefined ? true : window.__ls.isDimmed(b)], [fc.hull[0], other]);
  check('…and dims the others', dim[0] === false && dim[1] === true, JSON.stringify(dim));
  await still();
  await page.mouse.move(0, 0);
  await page.waitForTimeout(200);
  await shot('site-filter');
  // A column value (the first few-valued column), evaluated on the column's file.
  const valCol = site.columns.find((c) => c.name !== TEXT && (scope.scope.dataset.column_metadata?.[c.name]?.unique_values_count ?? 1e9) < ROWS * 0.5);
  if (valCol) {
    const vals = readJSON(`data/columns/${valCol.file}.values.json`).values;
    const v = vals[0];
    await page.locator('[data-testid=clear-all]').click();
    await input.fill(String(v.value));
    await page.locator(`[data-testid=suggestions] li[data-key="v${valCol.name}=${String(v.value)}"]`).click({ timeout: 10000 });
    await waitCount(v.count).catch(() => {});
    check(`a column value filter (${valCol.name} = ${v.value}) passes its rows`, (await tableCount()) === v.count, `${await tableCount()} vs ${v.count}`);
    await page.locator('[data-testid=search-input]').evaluate((e) => e.blur());
  } else notes.push('no few-valued column: the value filter is not tested');

  // ---- the address reopens the view -------------------------------------------------------------
  await page.waitForTimeout(300);
  const url = page.url();
  check('the address keeps the site’s path and records the view in the hash', url.startsWith(SITE) && /#.*k=/.test(url) && /filter=/.test(url), url);
  const p2 = await ctx.newPage();
  problems.push(...watch(p2));
  await p2.goto(url);
  await still(p2);
  await p2.waitForFunction(() => document.querySelector('[data-testid=table]'), null, { timeout: 30000 }).catch(() => {});
  check('…and reopens with the same filter', (await tableCount(p2)) === (await tableCount()), `${await tableCount(p2)} vs ${await tableCount()}`);
  await p2.close();

  // index.html opens the site too.
  const p3 = await ctx.newPage();
  problems.push(...watch(p3));
  await p3.goto(`${SITE}index.html`);
  await still(p3);
  check('the site opens at index.html too', (await p3.evaluate(() => window.__ls.drawn)) > 0);
  await p3.close();

  check('no console errors, no 4xx/5xx responses, no failed requests', problems.length === 0, problems.join(' | '));
  check('no request outside the site directory', outside.length === 0, outside.slice(0, 5).join(' | '));
} catch (e) {
  check('test ran to the end', false, e.stack || String(e));
  await shot('site-error').catch(() => {});
} finally {
  await browser.close();
  server.kill();
  fs.rmSync(root, { recursive: true, force: true });
}
for (const n of notes) console.log(`note ${n}`);
console.log(`\nscreenshots in ${SHOTS}`);
if (failures.length) {
  console.log(`\n${failures.length} failed:\n- ${failures.join('\n- ')}`);
  if (serverLog) console.log(serverLog.split('\n').filter((l) => / [45]\d\d /.test(l)).slice(0, 10).join('\n'));
  process.exit(1);
}
console.log('all passed');
