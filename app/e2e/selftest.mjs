// Self-test of browser.mjs: proves that chromium starts, a page can be driven,
// screenshots are written and axe catches a known violation (and passes a clean
// page). Run: node app/e2e/selftest.mjs (after scripts/browser.sh).
import http from 'node:http';
import { statSync } from 'node:fs';
import { launch, checkA11y, screenshot } from './browser.mjs';

const page = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>selftest</title></head><body><main><h1>Selftest</h1>${body}</main></body></html>`;
const pages = {
  // An <input> with no label is axe's "label" rule, impact critical.
  '/bad': page('<button id="b" type="button">Send</button><input type="text">'),
  '/good': page('<button id="b" type="button">Send</button>' +
    '<label for="n">Name</label><input id="n" type="text">'),
};
// The app's own CSP (app/app.go) blocks inline scripts: axe must still load.
// Only /bad gets it, so both ways browser.mjs injects axe are exercised.
const CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const server = http.createServer((req, res) => {
  const body = pages[req.url];
  const headers = { 'Content-Type': 'text/html; charset=utf-8' };
  if (req.url === '/bad') headers['Content-Security-Policy'] = CSP;
  res.writeHead(body ? 200 : 404, headers);
  res.end(body ?? 'not found');
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;

let browser;
try {
  const t0 = performance.now();
  browser = await launch();
  console.log(`selftest: chromium ${browser.version()} launched in ${Math.round(performance.now() - t0)} ms`);
  const p = await browser.newPage();

  await p.goto(`${base}/bad`);
  // Inline handlers are CSP-blocked too, so the click is seen from outside.
  const clicked = p.evaluate(() => new Promise((ok) =>
    document.getElementById('b').addEventListener('click', () => ok(true), { once: true })));
  await p.getByRole('button', { name: 'Send' }).click();
  if (!(await clicked)) throw new Error('button click not seen');

  const shot = await screenshot(p, 'selftest-bad');
  if (statSync(shot).size === 0) throw new Error(`empty screenshot ${shot}`);

  let threw = null;
  try { await checkA11y(p, 'bad page'); } catch (e) { threw = e; }
  if (!threw) throw new Error('checkA11y passed a page with an unlabelled input');
  if (!/\blabel\b/.test(threw.message) || !threw.message.includes('bad page')) {
    throw new Error(`checkA11y threw the wrong error: ${threw.message}`);
  }

  await p.goto(`${base}/good`);
  const rest = await checkA11y(p, 'good page');
  console.log(`selftest: ok (bad page caught: ${threw.message.split('\n')[1].trim()}; ` +
    `good page: ${rest.length} minor violation(s); screenshot ${shot})`);
} catch (e) {
  console.error(`selftest: FAILED: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  server.close();
}
