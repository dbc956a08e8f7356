// Shared by the browser test and the benchmark: Debian's chromium driven by
// playwright-core, with software WebGL2 (SwiftShader) so no GPU is needed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
];

export function chromiumPath() {
  const p = process.env.CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((x) => fs.existsSync(x));
  if (!p) throw new Error('no chromium found: set CHROMIUM=/path/to/chromium');
  return p;
}

export async function launch() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

/** Records console errors, page errors and 4xx/5xx responses. */
export function watch(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    const f = r.failure()?.errorText ?? '';
    // Aborted on purpose (navigation, superseded loads) is not a failure.
    if (!/ERR_ABORTED/.test(f)) problems.push(`failed: ${r.url()} ${f}`);
  });
  return problems;
}
