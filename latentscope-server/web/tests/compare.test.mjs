#!/usr/bin/env node
// Browser test of the compare pages against a running `latentscope serve`
// (read-only is enough: both pages only read).
//
//   node tests/compare.test.mjs --url=http://127.0.0.1:5001 --dataset=ID
//        [--umaps=umap-001,umap-002] [--clusters=cluster-001,cluster-002] [--screenshots=DIR]
//
// Environment instead of options: LS_URL, LS_DATASET, LS_SCREENSHOTS, CHROMIUM.
// The layouts and clusterings default to the dataset's first two of each.
//
// It checks, on /datasets/{ds}/compare/umaps?left=&right=: both panes draw
// every row at rest; the pickers name the two layouts; hovering a row in
// either pane marks the same row (same ls_index) in both and the card shows
// that row's text; zooming one pane zooms the other; a lasso in one pane
// selects rows highlighted in both; the transition view runs (its progress
// moves, pauses, and the slider puts each row between its two places); and
// prints the pan frame rate. On /datasets/{ds}/compare/clusters?left=&right=:
// the ARI, NMI and changed count shown are the server's (as rounded on the
// page); the map shows the changed rows (as many as the server counts); a
// click on a heat map cell picks the rows of both clusters (the overlap
// count); the explorer's Compare menu links to both pages. No console error
// and no 4xx/5xx anywhere. Screenshots: compare-umaps.png,
// compare-umaps-hover.png, compare-lasso.png, compare-transition.png,
// compare-clusters.png, compare-clusters-cell.png. Exits 1 on failure.
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
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}
const enc = encodeURIComponent;
const api = async (p) => {
  const r = await fetch(BASE + p);
  if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
  return r.json();
};

const datasets = await api('/api/datasets');
const DS = arg('dataset') || process.env.LS_DATASET || datasets.find((d) => d.scopes?.length)?.id;
const detail = await api(`/api/datasets/${enc(DS)}`);
const runs = (kind) => detail.artifacts.filter((a) => a.kind === kind && a.state === 'finished').map((a) => a.id).sort();
const [UL, UR] = (arg('umaps') || runs('umap').slice(0, 2).join(',')).split(',');
const [CL, CR] = (arg('clusters') || runs('cluster').slice(0, 2).join(',')).split(',');
if (!UL || !UR || !CL || !CR) {
  console.error(`${DS} needs two umaps and two clusterings (has ${runs('umap')} and ${runs('cluster')})`);
  process.exit(1);
}
const ROWS = detail.meta.length;
const TEXT = detail.meta.text_column;
const rowText = async (r) => String((await api(`/api/datasets/${enc(DS)}/rows?indices=${r}`))[0][TEXT] ?? '').trim();
console.log(`server ${BASE}; ${DS}: ${ROWS} rows; layouts ${UL} vs ${UR}; clusterings ${CL} vs ${CR}`);

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await ctx.newPage();
const problems = watch(page);
const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
const still = (timeout = 30000) =>
  page.waitForFunction(() => window.__ls && window.__ls.compare && window.__ls.mode === 'still', null, { timeout, polling: 50 });

/** Drags across a box for `ms`, counting animation frames: frames per second. */
async function panFps(box, ms = 2500) {
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
  const x0 = box.x + box.width / 2, y0 = box.y + box.height / 2, dx = Math.min(200, box.width / 4);
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
  const secs = (Date.now() - t0) / 1000;
  return { fps: +(f.frames / secs).toFixed(1), worstFrameMs: Math.round(f.worst) };
}

try {
  // ---- the explorer links to both pages ---------------------------------------------
  const scope = detail.scopes[0]?.id;
  if (scope) {
    await page.goto(`${BASE}/datasets/${enc(DS)}/explore/${enc(scope)}`);
    await page.locator('[data-testid=compare-menu]').waitFor({ timeout: 30000 });
    const hrefs = await page.locator('[data-testid=compare-menu] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    check(
      "the explorer's Compare menu links to both compare pages",
      hrefs.some((h) => h.startsWith(`/datasets/${DS}/compare/umaps?left=`)) && hrefs.some((h) => h.startsWith(`/datasets/${DS}/compare/clusters?left=`)),
      hrefs.join(' '),
    );
  }

  // ---- two layouts -----------------------------------------------------------------------
  const umapsUrl = `${BASE}/datasets/${enc(DS)}/compare/umaps?left=${enc(UL)}&right=${enc(UR)}`;
  const t0 = Date.now();
  await page.goto(umapsUrl);
  await still();
  await page.waitForTimeout(300);
  const loadMs = Date.now() - t0;
  const drawn = await page.evaluate(() => window.__ls.compare.drawn());
  check('layouts page: both panes draw every row at rest', drawn.left === ROWS && drawn.right === ROWS, `${JSON.stringify(drawn)} of ${ROWS}, ${loadMs} ms from navigation`);
  check(
    'the pickers name the two layouts',
    (await page.locator('[data-testid=pick-left]').inputValue()) === UL && (await page.locator('[data-testid=pick-right]').inputValue()) === UR,
  );
  check('the address is kept', page.url() === umapsUrl, page.url());
  await shot('compare-umaps');

  // A row near the middle of the left pane.
  const pickRow = async (pane) =>
    page.evaluate((pane) => {
      const c = window.__ls.compare;
      const box = document.querySelector(`[data-testid=map-${pane}]`).getBoundingClientRect();
      let best = -1, bd = Infinity;
      for (let r = 0; r < window.__ls.total; r += 7) {
        const p = c.project(pane, r);
        if (!p || !p.inView) continue;
        const d = Math.hypot(p.x - (box.left + box.width * 0.45), p.y - (box.top + box.height * 0.4));
        if (d < bd) {
          bd = d;
          best = r;
        }
      }
      return best;
    }, pane);
  const hoverIn = async (pane, row) => {
    const p = await page.evaluate(([pane, row]) => window.__ls.compare.project(pane, row), [pane, row]);
    await page.mouse.move(p.x + 25, p.y + 25);
    await page.mouse.move(p.x, p.y);
    const card = page.locator('[data-testid=compare-hover-card]');
    await card.waitFor({ timeout: 5000 });
    const shown = Number(await card.getAttribute('data-row'));
    const want = await rowText(shown);
    await page
      .waitForFunction((w) => (document.querySelector('[data-testid=compare-hover-card] .hover-text')?.textContent ?? '').trim().startsWith(w.slice(0, 50)), want, { timeout: 5000 })
      .catch(() => {});
    const text = ((await card.locator('.hover-text').textContent()) ?? '').trim();
    const marks = await page.evaluate(() => ({
      hovered: window.__ls.compare.hovered(),
      left: document.querySelector('[data-testid=pane-left] circle.hover-dot')?.getAttribute('data-row'),
      right: document.querySelector('[data-testid=pane-right] circle.hover-dot')?.getAttribute('data-row'),
    }));
    return { shown, want, text, marks };
  };
  for (const pane of ['left', 'right']) {
    const row = await pickRow(pane);
    const h = await hoverIn(pane, row);
    const other = pane === 'left' ? 'right' : 'left';
    check(
      `hover in the ${pane} pane marks the same row in both panes`,
      h.marks.hovered.left === h.shown && h.marks.hovered.right === h.shown && h.marks.left === String(h.shown) && h.marks.right === String(h.shown),
      `card row ${h.shown}, marks ${JSON.stringify(h.marks)}`,
    );
    const inOther = await page.evaluate(([o, r]) => window.__ls.compare.project(o, r), [other, h.shown]);
    check(`…and the ${other} pane's mark is at that row's place there`, !!inOther, JSON.stringify(inOther));
    check("…the card shows that row's text", h.want.length === 0 || h.text.startsWith(h.want.slice(0, 50)), `"${h.text.slice(0, 60)}"`);
    if (pane === 'left') await shot('compare-umaps-hover');
  }
  await page.mouse.move(5, 5);

  // Linked zoom: the wheel over the left pane zooms both.
  const lbox = await page.locator('[data-testid=map-left]').boundingBox();
  await page.mouse.move(lbox.x + lbox.width * 0.5, lbox.y + lbox.height * 0.5);
  await page.mouse.wheel(0, -300);
  await page.waitForTimeout(400);
  await still();
  const views = await page.evaluate(() => ({ l: window.__ls.compare.viewOf('left'), r: window.__ls.compare.viewOf('right') }));
  check(
    'zooming one pane zooms the other (linked views)',
    views.l.k > 1.2 && Math.abs(views.r.k - views.l.k) < 1e-9 && Math.abs(views.r.x - views.l.x) < 1e-9 && Math.abs(views.r.y - views.l.y) < 1e-9,
    `left ${JSON.stringify(views.l)}, right ${JSON.stringify(views.r)}`,
  );
  await page.evaluate(() => window.__ls.compare.setView({ x: 0, y: 0, k: 1 }));
  await still();

  // Lasso in the right pane: the rows are highlighted in both.
  await page.click('[data-tool=lasso]');
  const rbox = await page.locator('[data-testid=map-right]').boundingBox();
  const cx = rbox.x + rbox.width / 2, cy = rbox.y + rbox.height / 2;
  await page.mouse.move(cx - 90, cy - 80);
  await page.mouse.down();
  for (const [dx, dy] of [[60, -110], [130, -20], [80, 100], [-60, 110], [-120, 20], [-90, -80]]) await page.mouse.move(cx + dx, cy + dy, { steps: 6 });
  await page.mouse.up();
  await page.locator('[data-testid=compare-selection]').waitFor({ timeout: 5000 });
  const selCount = await page.evaluate(() => window.__ls.compare.selectionCount());
  const chip = await page.locator('[data-testid=compare-selection]').textContent();
  check('a lasso in one pane selects rows, shown in both', selCount > 0 && chip.includes(selCount.toLocaleString('en-US')), `${selCount} rows; chip "${chip.trim()}"`);
  await still();
  await shot('compare-lasso');
  await page.keyboard.press('Escape');
  await page.click('[data-tool=pan]');
  await page.locator('[data-testid=compare-selection]').waitFor({ state: 'detached', timeout: 3000 });

  // The pan frame rate (two panes, every row of both).
  await still();
  const fps = await panFps(await page.locator('[data-testid=map-left]').boundingBox());
  const budget = await page.evaluate(() => window.__ls.compare.budget());
  console.log(`pan: ${fps.fps} fps (worst frame ${fps.worstFrameMs} ms) on ${UL} | ${UR}, ${ROWS} rows a pane, budget ${budget} points a pane while moving`);
  check('panning stays interactive (≥ 10 fps)', fps.fps >= 10, `${fps.fps} fps`);

  // The transition: it runs, pauses, and the slider places each row between its two places.
  await still();
  const probe = await pickRow('left');
  const ends = await page.evaluate((r) => ({ a: window.__ls.compare.coords('left', r), b: window.__ls.compare.coords('right', r) }), probe);
  await page.click('[data-view=transition]');
  await page.waitForFunction(() => window.__ls.compare?.panes().includes('transition') && window.__ls.mode === 'transition', null, { timeout: 10000, polling: 20 });
  const t1 = await page.evaluate(() => window.__ls.compare.transition().t);
  await page.waitForTimeout(500);
  const t2 = await page.evaluate(() => window.__ls.compare.transition().t);
  check('the transition view runs (its progress moves)', t1 !== t2, `t ${t1?.toFixed(3)} → ${t2?.toFixed(3)}`);
  await page.waitForFunction(() => Math.abs(window.__ls.compare.transition().t - 0.5) < 0.2, null, { timeout: 10000, polling: 10 });
  await shot('compare-transition');
  await page.click('[data-testid=transition-play]');
  await page.waitForTimeout(200);
  const p1 = await page.evaluate(() => window.__ls.compare.transition());
  await page.waitForTimeout(300);
  const p2 = await page.evaluate(() => window.__ls.compare.transition());
  check('Pause stops it', !p1.playing && p1.t === p2.t, JSON.stringify([p1, p2]));
  await page.locator('[data-testid=transition-t]').fill('500');
  await page.waitForTimeout(200);
  const mid = await page.evaluate((r) => window.__ls.compare.coords('transition', r), probe);
  const want = [(ends.a[0] + ends.b[0]) / 2, (ends.a[1] + ends.b[1]) / 2];
  check('the slider at the middle puts a row halfway between its two places', Math.hypot(mid[0] - want[0], mid[1] - want[1]) < 1e-4, `row ${probe}: ${mid} vs ${want}`);
  await page.click('[data-view=side]');
  await still();

  // ---- two clusterings ---------------------------------------------------------------------
  const server = await api(`/api/datasets/${enc(DS)}/compare/clusters?left=${enc(CL)}&right=${enc(CR)}`);
  await page.goto(`${BASE}/datasets/${enc(DS)}/compare/clusters?left=${enc(CL)}&right=${enc(CR)}`);
  await page.locator('[data-testid=ari]').waitFor({ timeout: 30000 });
  const shown = {
    ari: (await page.locator('[data-testid=ari]').textContent()).trim(),
    nmi: (await page.locator('[data-testid=nmi]').textContent()).trim(),
    changed: (await page.locator('[data-testid=changed]').textContent()).trim(),
  };
  check("the ARI shown is the server's", shown.ari === server.ari.toFixed(3), `${shown.ari} vs ${server.ari}`);
  check("the NMI shown is the server's", shown.nmi === server.nmi.toFixed(3), `${shown.nmi} vs ${server.nmi}`);
  check("the changed rows shown are the server's count", shown.changed === server.changed.toLocaleString('en-US'), `${shown.changed} vs ${server.changed}`);
  await page.waitForFunction(() => window.__ls.compare?.changedShown !== null && window.__ls.compare?.changedShown !== undefined && window.__ls.mode === 'still', null, { timeout: 30000 });
  await page.waitForTimeout(300);
  const cm = await page.evaluate(() => ({ changedShown: window.__ls.compare.changedShown, drawn: window.__ls.drawn }));
  const legend = (await page.locator('[data-testid=changed-shown]').textContent()).trim();
  check(
    'the map shows the changed rows: as many as the server counts',
    cm.changedShown === server.changed && legend === server.changed.toLocaleString('en-US') && cm.drawn === ROWS,
    `${cm.changedShown} marked (legend ${legend}), server ${server.changed}; ${cm.drawn} points drawn`,
  );
  // A changed row's card says so.
  const changedRow = await page.evaluate(() => {
    for (let r = 0; r < window.__ls.total; r++) {
      const p = window.__ls.compare.project('map', r);
      if (window.__ls.compare.isChanged(r) && p?.inView) return r;
    }
    return -1;
  });
  await shot('compare-clusters');
  // A cell of the heat map: the rows in both clusters.
  const order = await page.evaluate(() => window.__ls.compare.order());
  const i = order.rows[0];
  let j = order.cols[0];
  for (const c of order.cols) if (server.overlap.counts[i][c] > server.overlap.counts[i][j]) j = c;
  const cellBox = await page.locator('[data-testid=heatmap]').boundingBox();
  const a = order.rows.indexOf(i), b = order.cols.indexOf(j);
  const [size, STRIP] = await page.evaluate(() => {
    const c = document.querySelector('[data-testid=heatmap]');
    return [Number(c.dataset.cell), Number(c.dataset.strip)];
  });
  await page.mouse.move(cellBox.x + STRIP + (b + 0.5) * size, cellBox.y + STRIP + (a + 0.5) * size);
  await page.locator('[data-testid=heat-tip]').waitFor({ timeout: 3000 });
  await page.mouse.click(cellBox.x + STRIP + (b + 0.5) * size, cellBox.y + STRIP + (a + 0.5) * size);
  await page.waitForFunction(() => window.__ls.compare.picked !== null, null, { timeout: 5000 });
  const picked = await page.evaluate(() => window.__ls.compare.picked);
  check('a heat map cell picks the rows in both clusters (the overlap count)', picked === server.overlap.counts[i][j], `${picked} vs ${server.overlap.counts[i][j]}`);
  await page.waitForTimeout(400);
  await shot('compare-clusters-cell');
  if (changedRow >= 0) {
    await page.keyboard.press('Escape');
    await page.mouse.move(5, 5);
    await page.waitForTimeout(300);
    const p = await page.evaluate((r) => window.__ls.compare.project('map', r), changedRow);
    await page.mouse.move(p.x + 20, p.y + 20);
    await page.mouse.move(p.x, p.y);
    const card = page.locator('[data-testid=compare-hover-card]');
    await card.waitFor({ timeout: 5000 });
    const r = Number(await card.getAttribute('data-row'));
    const isChanged = await page.evaluate((r) => window.__ls.compare.isChanged(r), r);
    const says = await card.locator('.changed-mark').count();
    check("hovering a row on the clusterings' map shows its card, marked changed when it is", (says > 0) === isChanged, `row ${r}, changed ${isChanged}`);
  }

  check('no console errors, no 4xx/5xx responses, no failed requests', problems.length === 0, problems.join(' | '));
} catch (e) {
  check('test ran to the end', false, e.stack || String(e));
  await shot('compare-error').catch(() => {});
} finally {
  await browser.close();
}
console.log(`\nscreenshots in ${SHOTS}`);
if (failures.length) {
  console.log(`\n${failures.length} failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('all passed');
