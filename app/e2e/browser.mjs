// Browser helpers for the end-to-end tests: Debian's chromium driven by
// playwright-core (Playwright's own browser downloads can't be fetched here),
// axe-core accessibility checks and screenshots. Set up by scripts/browser.sh.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const require = createRequire(import.meta.url);

// Read once: axe.min.js is ~650 KB.
let axeSource;

// Playwright's chromium.launch already gives each browser a fresh temporary
// profile (removed on close) and refuses --user-data-dir in args, so no
// persistent context is needed. It adds --headless and --no-sandbox itself
// too; they are listed anyway so the intent doesn't depend on its defaults.
// No sandbox: the tests run as root, where chromium's sandbox won't start.
// The --disable-* flags keep the browser from calling out to Google services
// (nothing outside can be reached here, and tests must not wait on it).
export async function launch() {
  return chromium.launch({
    executablePath: process.env.SIIRTO_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}

// Runs axe-core's WCAG 2.0/2.1 A and AA rules on the page. Throws listing every
// serious or critical violation; returns all violations (minor ones included)
// otherwise, so a test can look at the rest.
export async function checkA11y(page, label) {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated, not added as a script tag: the app's CSP (default-src
  // 'self') refuses inline scripts, and does not apply to evaluate.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations;
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    const lines = bad.map((v) =>
      `  [${v.impact}] ${v.id}: ${v.help}\n` +
      v.nodes.map((n) => `    at ${n.target.join(' ')}`).join('\n'));
    throw new Error(`${label}: ${bad.length} accessibility violation(s):\n${lines.join('\n')}`);
  }
  return violations;
}

// Saves a full-page PNG to $SIIRTO_ARTIFACTS (default <repo>/.artifacts/screenshots)
// so a failing CI run leaves something to look at; returns its path.
export async function screenshot(page, name) {
  const dir = process.env.SIIRTO_ARTIFACTS || join(repo, '.artifacts', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name.endsWith('.png') ? name : `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
