#!/usr/bin/env node
// Browser test of the home, setup, jobs and settings pages: a new user's path
// from a file to a scope without leaving the browser, against a running
// `latentscope serve`.
//
//   node tests/setup.test.mjs --url=http://127.0.0.1:5411 --data-dir=DIR --csv=data/pypi-10k.csv
//                             [--ro-url=URL] [--config-home=DIR] [--screenshots=DIR]
//
// Each option can also come from the environment: LS_URL (a WRITABLE server
// started on an EMPTY data directory, with XDG_CONFIG_HOME pointing at a
// temporary directory: the test saves an API key through the settings page),
// LS_DATA_DIR (that server's data directory: the files each step writes are
// checked there), LS_CSV (the file uploaded; pypi-10k.csv for the timing),
// LS_RO_URL (a --read-only server: none of the setup, jobs or settings
// controls shows there), LS_CONFIG_HOME (the XDG_CONFIG_HOME the writable
// server runs with: the key is in latentscope/.env there), LS_SCREENSHOTS
// (default tests/screenshots/), CHROMIUM.
//
// It checks: an empty file dropped on the home page is refused with the
// server's message and nothing is made; the CSV's preview shows its first
// rows, each column's type and the guessed text column, which is confirmed;
// the ingest runs as a job with progress and opens the new dataset's setup
// page; embed → umap → cluster → label → scope run with the defaults, each
// showing its progress, each run landing in its gallery (chosen for the next
// step) and its files on disk; the scope opens in the explorer (the wall
// time from the upload to the map's first paint is printed: acceptance is
// under a minute for pypi-10k); a running umap job is cancelled and the
// earlier runs are intact (files unchanged); the jobs page lists every job
// with its status and log, and reruns the cancelled one; a run is renamed and
// described (its artifact file untouched) and a run with dependents is
// deleted once they are listed; a key set in Settings shows as set, by name
// only: its value is in no API response, not in the page, not in the data
// directory, and it is in the config file; a read-only server shows only the
// home page's list; no console error, no unexpected 4xx/5xx. Exits 1 on
// failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, watch } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : undefined;
};
const opt = (name, env) => arg(name) || process.env[env];
const BASE = (opt('url', 'LS_URL') || 'http://127.0.0.1:5411').replace(/\/$/, '');
const RO = opt('ro-url', 'LS_RO_URL')?.replace(/\/$/, '');
const DATA = opt('data-dir', 'LS_DATA_DIR');
const CSV = path.resolve(opt('csv', 'LS_CSV') || path.join(here, '../../../data/pypi-10k.csv'));
const CONFIG_HOME = opt('config-home', 'LS_CONFIG_HOME');
const SHOTS = path.resolve(opt('screenshots', 'LS_SCREENSHOTS') || path.join(here, 'screenshots'));
fs.mkdirSync(SHOTS, { recursive: true });

const failures = [];
const timings = {};
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
const exists = (...p) => (DATA ? fs.existsSync(path.join(DATA, ...p)) : true);
const stat = (...p) => {
  try {
    const s = fs.statSync(path.join(DATA, ...p));
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
};

const version = await api('/api/version');
if (version.read_only) {
  console.error(`${BASE} is read-only: give a writable server on an empty data directory with --url`);
  process.exit(2);
}
const before = await api('/api/datasets');
console.log(`server ${BASE} (v${version.version}); ${before.length} datasets before; data dir ${DATA ?? '(not given: the disk checks are skipped)'}; csv ${CSV}`);
if (!fs.existsSync(CSV)) {
  console.error(`no such file: ${CSV}`);
  process.exit(2);
}

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await ctx.newPage();
const problems = watch(page);
// Every API response's body, to look for the key's value later.
const bodies = [];
page.on('response', async (r) => {
  if (!r.url().includes('/api/') || r.url().includes('/events')) return;
  const type = r.headers()['content-type'] ?? '';
  if (!/json|text/.test(type)) return;
  try {
    bodies.push({ url: r.url(), text: await r.text() });
  } catch {
    /* navigated away */
  }
});
// What the job lines showed while they ran.
await page.addInitScript(() => {
  window.__stages = [];
  const seen = () => {
    for (const el of document.querySelectorAll('[data-testid=job-stage]')) {
      const line = el.closest('[data-job]');
      const t = `${line?.getAttribute('data-job')}|${el.textContent}`;
      if (window.__stages[window.__stages.length - 1] !== t) window.__stages.push(t);
    }
  };
  new MutationObserver(seen).observe(document, { subtree: true, childList: true, characterData: true });
});
const shot = async (name, full = true) => {
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: full });
};
const expected = []; // responses the test provokes on purpose
const step = (s) => page.locator(`[data-testid=step-${s}]`);
const jobLine = (s, status) => step(s).locator(`[data-testid=job-line]${status ? `[data-status=${status}]` : ''}`);
const card = (s, id) => step(s).locator(`[data-testid=run-card][data-run="${id}"]`);
const gallery = async (s) =>
  page.$$eval(`[data-testid=step-${s}] [data-testid=run-card]`, (els) => els.map((e) => ({ id: e.getAttribute('data-run'), chosen: e.hasAttribute('data-chosen') })));

let DS = null;
let SCOPE = null;
try {
  // ---- home: an empty file dropped is refused ----
  await page.goto(BASE + '/');
  await page.locator('[data-testid=dropzone]').waitFor();
  check('home: the drop zone shows on a writable server', true);
  const dropped = await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File([''], 'empty.csv', { type: 'text/csv' }));
    const zone = document.querySelector('[data-testid=dropzone]');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    return true;
  });
  expected.push(/HTTP 400 POST .*\/api\/uploads$/, /console: Failed to load resource: the server responded with a status of 400/);
  await page.locator('[data-testid=upload-error]').waitFor({ timeout: 10000 });
  const upErr = await page.locator('[data-testid=upload-error]').textContent();
  check('drop: an empty file is refused with the server’s message naming it', dropped && /empty\.csv/.test(upErr), upErr);
  check('drop: nothing was made', (await api('/api/datasets')).length === before.length);

  // ---- upload the CSV: the preview ----
  const t0 = Date.now();
  await page.locator('[data-testid=file-input]').setInputFiles(CSV);
  await page.locator('[data-testid=preview]').waitFor({ timeout: 60000 });
  timings.upload_to_preview_ms = Date.now() - t0;
  const pv = await page.evaluate(() => {
    const heads = [...document.querySelectorAll('[data-testid=preview-table] th')].map((th) => ({ name: th.getAttribute('data-column'), type: th.querySelector('.type')?.textContent }));
    return {
      heads,
      rows: document.querySelectorAll('[data-testid=preview-table] tbody tr').length,
      text: document.querySelector('[data-testid=text-column]').value,
      options: [...document.querySelectorAll('[data-testid=text-column] option')].map((o) => o.textContent),
      id: document.querySelector('[data-testid=dataset-id]').value,
    };
  });
  const header = fs.readFileSync(CSV, 'utf8').split('\n', 1)[0].split(',');
  check('preview: every column with its detected type', header.every((h) => pv.heads.some((x) => x.name === h && x.type)), JSON.stringify(pv.heads));
  check('preview: the first rows (up to 20)', pv.rows > 0 && pv.rows <= 20, `${pv.rows} rows`);
  check('preview: the guessed text column is offered and chosen', !!pv.text && pv.options.some((o) => /guessed/.test(o)), `${pv.text}; ${pv.options.join(', ')}`);
  if (path.basename(CSV) === 'pypi-10k.csv') check('preview: pypi-10k’s guess is summary', pv.text === 'summary', pv.text);
  await shot('upload-preview', false);

  // ---- confirm the text column; ingest as a job ----
  await page.locator('[data-testid=text-column]').selectOption(pv.text);
  DS = pv.id;
  await page.locator('[data-testid=ingest]').click();
  await page.waitForURL(`**/datasets/${enc(DS)}/setup**`, { timeout: 60000 });
  check('ingest: the job ran and opened the new dataset’s setup page', true, DS);
  await step('embed').waitFor();
  const meta = await api(`/api/datasets/${enc(DS)}`);
  check('ingest: the dataset has the confirmed text column', meta.meta.text_column === pv.text, meta.meta.text_column);
  if (DATA) check('ingest: input.parquet and meta.json on disk', exists(DS, 'input.parquet') && exists(DS, 'meta.json'));

  // ---- embed → umap → cluster → label → scope with the defaults ----
  const made = {};
  const kinds = { embed: 'embedding', umap: 'umap', cluster: 'cluster', label: 'labels', scope: 'scope' };
  for (const s of ['embed', 'umap', 'cluster', 'label', 'scope']) {
    const t = Date.now();
    const known = new Set((await gallery(s)).map((g) => g.id));
    await page.locator(`[data-testid=run-${s}]`).click();
    await jobLine(s).first().waitFor({ timeout: 10000 });
    await jobLine(s, 'done').first().waitFor({ timeout: 120000 });
    const jobId = await jobLine(s, 'done').first().getAttribute('data-job');
    const job = await api(`/api/jobs/${jobId}`);
    made[s] = job.artifact;
    // The new run in the gallery, chosen for the next step.
    await page.waitForFunction(
      ({ s, id }) => document.querySelector(`[data-testid=step-${s}] [data-testid=run-card][data-run="${id}"]`),
      { s, id: job.artifact },
      { timeout: 10000 },
    );
    const g = await gallery(s);
    const fresh = g.filter((x) => !known.has(x.id));
    timings[`${s}_ms`] = Date.now() - t;
    check(
      `${s}: ran with the defaults, its run ${job.artifact} is in the gallery${s === 'scope' ? '' : ' and chosen'}`,
      job.status === 'done' && fresh.some((x) => x.id === job.artifact) && (s === 'scope' || g.find((x) => x.id === job.artifact)?.chosen),
      `${timings[`${s}_ms`]} ms`,
    );
    const a = (await api(`/api/datasets/${enc(DS)}`)).artifacts.find((x) => x.id === job.artifact);
    check(`${s}: the server lists ${job.artifact} as a finished ${kinds[s]}`, a?.kind === kinds[s] && a?.state === 'finished', JSON.stringify(a && { kind: a.kind, state: a.state }));
    if (DATA) {
      const folder = { embed: 'embeddings', umap: 'umaps', cluster: 'clusters', label: 'clusters', scope: 'scopes' }[s];
      check(`${s}: ${job.artifact}.parquet and .json on disk`, exists(DS, folder, `${job.artifact}.parquet`) && exists(DS, folder, `${job.artifact}.json`));
    }
  }
  const stages = await page.evaluate(() => window.__stages);
  check('progress: the umap job’s stages showed while it ran', stages.some((x) => /epochs|knn/.test(x)), `${stages.length} updates, e.g. ${stages.filter((x) => /epochs/.test(x)).slice(-1)[0] ?? stages[0]}`);
  check('scope: the gallery’s cards have thumbnails, badges and counts', await step('scope').locator('[data-testid=run-card] img').count() > 0 && (await step('cluster').locator('.run-counts').first().textContent()).includes('clusters'));
  await page.locator('[data-testid=open-explore]').waitFor();
  await shot('setup');

  // ---- the explore page of the new scope ----
  SCOPE = made.scope;
  await page.locator('[data-testid=open-explore]').click();
  await page.waitForURL(`**/datasets/${enc(DS)}/explore/${enc(SCOPE)}**`, { timeout: 10000 });
  await page.waitForFunction(() => window.__ls && window.__ls.firstPaintMs !== null && window.__ls.total > 0, null, { timeout: 60000, polling: 50 });
  timings.upload_to_explore_ms = Date.now() - t0;
  console.log(`wall time from the upload to the explore page's first paint: ${(timings.upload_to_explore_ms / 1000).toFixed(1)} s`);
  const total = await page.evaluate(() => window.__ls.total);
  check('explore: the new scope opens and draws its points', total === meta.meta.length, `${total} of ${meta.meta.length} rows`);
  check(
    'acceptance: upload → explore page in under a minute',
    timings.upload_to_explore_ms < 60000,
    `${(timings.upload_to_explore_ms / 1000).toFixed(1)} s wall time (test-driven clicks included)`,
  );
  await page.waitForFunction(() => window.__ls.complete, null, { timeout: 60000 }).catch(() => {});
  await page.screenshot({ path: path.join(SHOTS, 'setup-explore.png') });

  // ---- cancel a running umap job: earlier runs intact ----
  await page.goto(`${BASE}/datasets/${enc(DS)}/setup?step=umap`);
  await step('umap').waitFor();
  const umapBefore = (await gallery('umap')).map((g) => g.id);
  const diskBefore = DATA && [stat(DS, 'umaps', `${made.umap}.parquet`), stat(DS, 'umaps', `${made.umap}.json`), stat(DS, 'scopes', `${SCOPE}.parquet`)];
  await step('umap').locator('[data-param=neighbors]').fill('200');
  await page.locator('[data-testid=run-umap]').click();
  await jobLine('umap', 'running').first().waitFor({ timeout: 10000 });
  const cancelled = await jobLine('umap', 'running').first().getAttribute('data-job');
  await jobLine('umap', 'running').first().locator('[data-testid=job-cancel]').click();
  await page.locator(`[data-testid=job-line][data-job="${cancelled}"][data-status=cancelled]`).waitFor({ timeout: 30000 });
  const cj = await api(`/api/jobs/${cancelled}`);
  check('cancel: the umap job stopped as cancelled', cj.status === 'cancelled', cj.status);
  const umapAfter = await gallery('umap');
  check('cancel: the earlier runs are still in the gallery', umapBefore.every((id) => umapAfter.some((g) => g.id === id)), umapAfter.map((g) => g.id).join(', '));
  if (DATA) {
    const diskAfter = [stat(DS, 'umaps', `${made.umap}.parquet`), stat(DS, 'umaps', `${made.umap}.json`), stat(DS, 'scopes', `${SCOPE}.parquet`)];
    check('cancel: the earlier runs’ files are unchanged', JSON.stringify(diskBefore) === JSON.stringify(diskAfter) && diskAfter.every(Boolean));
  }
  check('cancel: the scope still opens', (await api(`/api/datasets/${enc(DS)}/scopes/${enc(SCOPE)}`)).rows === meta.meta.length);

  // ---- a step that fails: its error, and a rerun ----
  await step('embed').locator('select[data-param=model]').selectOption('');
  await step('embed').locator('[data-param=model-spec]').fill('static:/no/such/model');
  await page.locator('[data-testid=run-embed]').click();
  await jobLine('embed', 'error').first().waitFor({ timeout: 30000 });
  const failText = await jobLine('embed', 'error').first().locator('[data-testid=job-error]').textContent();
  const failed = await jobLine('embed', 'error').first().getAttribute('data-job');
  check(
    'failure: a failed step shows the server’s error and a Rerun button',
    /no\/such\/model|not found|no such/i.test(failText) && (await jobLine('embed', 'error').first().locator('[data-testid=job-rerun]').count()) === 1,
    failText,
  );
  check('failure: the earlier embedding is still chosen', (await gallery('embed')).some((g) => g.id === made.embed && g.chosen));

  // ---- the jobs page: every job, its log, rerun the cancelled one ----
  await page.goto(BASE + '/jobs');
  await page.locator('[data-testid=jobs-table]').waitFor({ timeout: 10000 });
  const rows = await page.$$eval('[data-testid=job-row]', (els) => els.map((e) => ({ id: e.getAttribute('data-job'), step: e.getAttribute('data-step'), status: e.getAttribute('data-status') })));
  const steps = new Set(rows.map((r) => r.step));
  check(
    'jobs: every step’s job is listed with its status',
    ['embed', 'umap', 'cluster', 'label', 'scope'].every((s) => rows.some((r) => r.step === s && r.status === 'done')) && rows.some((r) => r.id === cancelled && r.status === 'cancelled'),
    `${rows.length} jobs: ${[...steps].join(', ')}`,
  );
  check('jobs: the ingest job is listed', rows.some((r) => r.step === 'ingest'), rows.filter((r) => r.step === 'ingest').map((r) => r.status).join(', ') || 'none');
  const fRow = page.locator(`[data-testid=job-row][data-job="${failed}"]`);
  check(
    'jobs: the failed job shows its error and can be rerun',
    (await fRow.getAttribute('data-status')) === 'error' && (await fRow.textContent()).includes('no/such/model') && (await fRow.locator('[data-testid=job-rerun]').count()) === 1,
  );
  const umapRow = page.locator(`[data-testid=job-row][data-job="${rows.find((r) => r.step === 'umap' && r.status === 'done')?.id}"]`);
  await umapRow.locator('[data-testid=job-log-toggle]').click();
  await page.locator('[data-testid=job-log] pre').waitFor({ timeout: 10000 });
  const log = await page.locator('[data-testid=job-log]').textContent();
  check('jobs: a job’s log shows its events', /started/.test(log) && /done/.test(log), log.replace(/\s+/g, ' ').slice(0, 160));
  const durations = await page.$$eval('[data-testid=job-row] td.num', (els) => els.map((e) => e.textContent));
  check('jobs: each finished job has a duration', durations.filter((d) => d !== '–').length >= 5, durations.slice(0, 8).join(' | '));
  const cRow = page.locator(`[data-testid=job-row][data-job="${cancelled}"]`);
  await cRow.locator('[data-testid=job-rerun]').click();
  await page.waitForFunction((old) => [...document.querySelectorAll('[data-testid=job-row][data-step=umap]')].some((e) => e.getAttribute('data-job') !== old && e.getAttribute('data-status') === 'running'), cancelled, { timeout: 10000 }).catch(() => {});
  const rerunId = await page.waitForFunction(
    (old) => {
      const r = [...document.querySelectorAll('[data-testid=job-row][data-step=umap][data-status=done]')].find((e) => e.querySelector(`[data-rerun-of="${old}"]`));
      return r?.getAttribute('data-job');
    },
    cancelled,
    { timeout: 120000, polling: 100 },
  );
  const rj = await api(`/api/jobs/${await rerunId.jsonValue()}`);
  check('jobs: the cancelled umap job reruns to the end', rj.status === 'done' && rj.rerun_of === cancelled && rj.params.neighbors === 200, `${rj.id} → ${rj.artifact}`);
  await shot('jobs', false);

  // ---- rename and describe a run; delete a run with its dependents ----
  await page.goto(`${BASE}/datasets/${enc(DS)}/setup?step=umap`);
  await card('umap', made.umap).waitFor();
  const jsonBefore = DATA && fs.readFileSync(path.join(DATA, DS, 'umaps', `${made.umap}.json`), 'utf8');
  await card('umap', made.umap).hover();
  await card('umap', made.umap).locator('[data-testid=run-rename]').click();
  await card('umap', made.umap).locator('[data-testid=run-name-input]').fill('First map');
  await card('umap', made.umap).locator('[data-testid=run-desc-input]').fill('The defaults: 25 neighbours');
  await card('umap', made.umap).locator('[data-testid=run-save]').click();
  await page.waitForFunction((id) => document.querySelector(`[data-run="${id}"] [data-testid=run-title]`)?.textContent === 'First map', made.umap, { timeout: 10000 });
  const named = (await api(`/api/datasets/${enc(DS)}`)).artifacts.find((a) => a.id === made.umap);
  check('rename: the run shows its name and description', named.name === 'First map' && named.description === 'The defaults: 25 neighbours' && (await card('umap', made.umap).locator('[data-testid=run-desc]').textContent()) === 'The defaults: 25 neighbours');
  if (DATA) check('rename: the artifact’s own file is untouched', fs.readFileSync(path.join(DATA, DS, 'umaps', `${made.umap}.json`), 'utf8') === jsonBefore);

  // A clustering of the rerun umap, then the umap deleted with it.
  const second = rj.artifact;
  await card('umap', second).click();
  await page.waitForFunction((id) => document.querySelector(`[data-testid=step-umap] [data-run="${id}"]`)?.hasAttribute('data-chosen'), second);
  await page.locator('[data-testid=run-cluster]').click();
  await jobLine('cluster', 'done').first().waitFor({ timeout: 60000 });
  const depCluster = (await api(`/api/jobs/${await jobLine('cluster', 'done').first().getAttribute('data-job')}`)).artifact;
  await card('umap', second).hover();
  await card('umap', second).locator('[data-testid=run-delete]').click();
  await page.locator('[data-testid=dialog]').waitFor();
  const deps = await page.locator('[data-testid=dependents]').textContent().catch(() => '');
  check('delete: the dependents are listed before confirming', deps.includes(depCluster), deps);
  await shot('setup-delete', false);
  await page.locator('[data-testid=dialog-confirm]').click();
  await page.waitForFunction((id) => !document.querySelector(`[data-testid=step-umap] [data-run="${id}"]`), second, { timeout: 10000 });
  const left = (await api(`/api/datasets/${enc(DS)}`)).artifacts.map((a) => a.id);
  check('delete: the run and its dependents are gone', !left.includes(second) && !left.includes(depCluster), left.join(', '));
  check('delete: the other runs stay', [made.embed, made.umap, made.cluster, made.label, SCOPE].every((id) => left.includes(id)));
  if (DATA) check('delete: its files are gone from disk, the others stay', !exists(DS, 'umaps', `${second}.parquet`) && !exists(DS, 'clusters', `${depCluster}.parquet`) && exists(DS, 'umaps', `${made.umap}.parquet`));
  check('delete: the chain falls back to a run that exists', (await gallery('umap')).some((g) => g.chosen && g.id === made.umap));
} catch (e) {
  check('the new user’s path', false, String(e?.stack ?? e));
  await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
  const lines = await page.$$eval('[data-testid=job-line]', (els) => els.map((e) => `${e.getAttribute('data-job')} ${e.getAttribute('data-status')}: ${e.textContent}`)).catch(() => []);
  console.log(`job lines on the page (failure.png):\n  ${lines.join('\n  ')}`);
}

// ---- settings: a key's name shows as set, its value nowhere ----
try {
  const SECRET = `sk-test-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  await page.goto(BASE + '/settings');
  await page.locator('[data-testid=keys]').waitFor({ timeout: 10000 });
  const s0 = await api('/api/settings');
  const free = s0.keys.find((k) => !k.set);
  if (!check('settings: the keys are listed with their state', s0.keys.length > 0 && !!free, s0.keys.map((k) => `${k.name}=${k.set}`).join(', '))) throw new Error('no unset key to set');
  check('settings: the data directory is shown', (await page.locator('[data-testid=data-dir]').textContent()) === s0.data_dir, s0.data_dir);
  const row = page.locator(`[data-testid=key-row][data-key="${free.name}"]`);
  await row.locator('[data-testid=key-input]').fill(SECRET);
  await row.locator('[data-testid=key-save]').click();
  await page.waitForFunction((n) => document.querySelector(`[data-testid=key-row][data-key="${n}"]`)?.getAttribute('data-set') === 'true', free.name, { timeout: 10000 });
  check('settings: the key shows as set', true, free.name);
  check('settings: the input is cleared', (await row.locator('[data-testid=key-input]').inputValue()) === '');
  await page.reload();
  await page.locator('[data-testid=keys]').waitFor();
  await shot('settings', false);
  const s1 = await api('/api/settings');
  check('settings: the server lists it as set', s1.keys.find((k) => k.name === free.name)?.set === true);
  const html = await page.content();
  const leaked = bodies.filter((b) => b.text.includes(SECRET)).map((b) => b.url);
  check('settings: the value is in no API response', leaked.length === 0 && !JSON.stringify(s1).includes(SECRET), leaked.join(', '));
  check('settings: the value is not in the page', !html.includes(SECRET) && !(await page.evaluate((v) => [...document.querySelectorAll('input')].some((i) => i.value === v), SECRET)));
  if (DATA) {
    const found = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (fs.statSync(p).size < 50e6 && fs.readFileSync(p).includes(SECRET)) found.push(p);
      }
    };
    walk(DATA);
    check('settings: the value is nowhere in the data directory', found.length === 0, found.join(', '));
  }
  if (CONFIG_HOME) {
    const env = path.join(CONFIG_HOME, 'latentscope', '.env');
    check('settings: the key is saved in the config file', fs.existsSync(env) && fs.readFileSync(env, 'utf8').includes(`${free.name}=`), env);
  }
  if (DS && SCOPE) {
    const csv = await fetch(`${BASE}/api/datasets/${enc(DS)}/scopes/${enc(SCOPE)}/export?format=csv`).then((r) => r.text());
    check('settings: the value is not exported', !csv.includes(SECRET));
  }
  // Removed again.
  await page.locator(`[data-testid=key-row][data-key="${free.name}"] [data-testid=key-remove]`).click();
  await page.waitForFunction((n) => document.querySelector(`[data-testid=key-row][data-key="${n}"]`)?.getAttribute('data-set') === 'false', free.name, { timeout: 10000 });
  check('settings: the key can be removed', (await api('/api/settings')).keys.find((k) => k.name === free.name)?.set === false);
} catch (e) {
  check('settings', false, String(e?.stack ?? e));
}

// ---- the home page with the new dataset ----
try {
  await page.goto(BASE + '/');
  const sc = page.locator(`section.dataset[data-dataset="${DS}"] a.scope-card[data-scope="${SCOPE}"]`);
  await sc.waitFor({ timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('.scope-card img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  check('home: the new dataset with its scope’s thumbnail and rows', (await sc.textContent()).includes('rows'));
  await shot('home', false);
} catch (e) {
  check('home', false, String(e?.stack ?? e));
}

const unexpected = problems.filter((p) => !expected.some((re) => re.test(p)));
check('no console errors, no unexpected 4xx/5xx (writable server)', unexpected.length === 0, unexpected.slice(0, 6).join(' | '));

// ---- read-only: only the home page's list ----
if (RO) {
  try {
    const rp = await ctx.newPage();
    const rprob = watch(rp);
    const writes = [];
    rp.on('request', (r) => {
      if (!['GET', 'HEAD'].includes(r.method())) writes.push(`${r.method()} ${r.url()}`);
    });
    const rv = await api('/api/version', RO);
    const rds = await api('/api/datasets', RO);
    const rdsId = rds[0]?.id ?? 'none';
    await rp.goto(RO + '/');
    await rp.locator('.home-main h1').waitFor();
    await rp.waitForFunction(() => document.querySelector('[data-testid=read-only]'));
    // The list arrives after the page: wait for it (or fail below, after 10 s).
    await rp
      .waitForFunction((n) => document.querySelectorAll('section.dataset').length >= n, rds.length, { timeout: 10000 })
      .catch(() => {});
    const home = await rp.evaluate(() => ({
      write: [...document.querySelectorAll('[data-write]')].map((e) => e.outerHTML.slice(0, 80)),
      drop: !!document.querySelector('[data-testid=dropzone], [data-testid=file-input]'),
      nav: [...document.querySelectorAll('[data-nav]')].map((e) => e.getAttribute('data-nav')),
      datasets: document.querySelectorAll('section.dataset').length,
    }));
    check(
      'read-only: the home page lists the datasets, with no upload and no link to setup, jobs or settings',
      rv.read_only && !home.drop && home.write.length === 0 && home.nav.every((n) => n === 'home') && home.datasets === rds.length,
      JSON.stringify(home),
    );
    for (const [name, url] of [
      ['setup', `/datasets/${enc(rdsId)}/setup`],
      ['jobs', '/jobs'],
      ['settings', '/settings'],
    ]) {
      await rp.goto(RO + url);
      await rp.locator('[data-testid=read-only-note]').waitFor({ timeout: 10000 });
      const c = await rp.evaluate(() => ({
        write: [...document.querySelectorAll('[data-write], button.run, input, select, textarea')].map((e) => e.outerHTML.slice(0, 80)),
        panels: document.querySelectorAll('[data-testid^=step-], [data-testid=jobs-table], [data-testid=keys]').length,
      }));
      check(`read-only: the ${name} page shows none of its controls`, c.write.length === 0 && c.panels === 0, JSON.stringify(c));
    }
    await rp.goto(RO + '/');
    await rp.locator('.home-main h1').waitFor();
    await rp.screenshot({ path: path.join(SHOTS, 'home-read-only.png') });
    check('read-only: no write request was made', writes.length === 0, writes.join(' | '));
    check('read-only: no console errors, no 4xx/5xx', rprob.length === 0, rprob.slice(0, 6).join(' | '));
  } catch (e) {
    check('read-only', false, String(e?.stack ?? e));
  }
} else {
  console.log('note: no --ro-url: the read-only checks are skipped');
}

await browser.close();
console.log(JSON.stringify({ dataset: DS, scope: SCOPE, timings }, null, 1));
console.log(`screenshots in ${SHOTS}`);
if (failures.length) {
  console.log(`\n${failures.length} failure(s):\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('\nall checks passed');
