#!/usr/bin/env node
// Screenshots of the explorer for docs/ (1400×900, software WebGL2), each taken once every
// point of the view is drawn and the labels are placed.
//
//   node bench/explorer/screenshots.mjs <explore URL (may carry #x=..&y=..&k=..)> <out.png>
import { launch, watch } from '../../latentscope-server/web/tests/browser.mjs';

const [url, out] = process.argv.slice(2);
const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const page = await ctx.newPage();
const problems = watch(page);
await page.goto(url);
await page.waitForFunction(
  () => window.__ls && window.__ls.complete && window.__ls.mode === 'still' && window.__ls.drawn === window.__ls.countVisible(),
  null, { timeout: 60000, polling: 100 });
await page.waitForTimeout(1500); // the density fade and label placement settle
const s = await page.evaluate(() => ({ view: window.__ls.view, drawn: window.__ls.drawn, total: window.__ls.total, labels: window.__ls.labels, hash: location.hash }));
await page.screenshot({ path: out });
console.log(JSON.stringify({ out, ...s, problems }));
await browser.close();
