// The app's whole flow in a real browser, once per language: connect
// (a wrong folder and a wrong password first), confirm the journal
// number, choose a folder, an invalid name then a good one, send, see
// the receipt, clean up; then "encrypt only". axe-core checks every
// screen; screenshots go to $SIIRTO_ARTIFACTS. Driven by the Go test
// TestAppInBrowser (cmd/siirto-gateway), which starts the gateway and the
// app and checks what arrived. Prints one JSON summary on stdout.
import { launch, checkA11y, screenshot } from './browser.mjs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const appURL = env('APP_URL'), davRoot = env('DAV_ROOT'), badFolder = env('BAD_FOLDER');
const user = env('DAV_USER'), password = env('DAV_PASSWORD'), data = env('DATA_DIR'), outDir = env('OUT_DIR');
const journal = env('JOURNAL');
const langs = (process.env.LANGS || 'fi,sv,en').split(',');
const locales = { fi: 'fi-FI', sv: 'sv-SE', en: 'en-GB' };

const errors = [];
const summary = { sent: [], offline: [], screenshots: [], a11y_minor: 0 };
function check(cond, what) { if (!cond) throw new Error('check failed: ' + what); }
async function visible(page, sel, timeout = 15000) { await page.locator(sel).waitFor({ state: 'visible', timeout }); }
async function shot(page, name) { summary.screenshots.push(await screenshot(page, name)); }
async function a11y(page, label) { summary.a11y_minor += (await checkA11y(page, label)).length; }
async function text(page, sel) { return (await page.locator(sel).textContent()).trim(); }

async function expectError(page, cat, code, label) {
  await visible(page, '#error');
  await page.waitForFunction((c) => document.getElementById('error-code').textContent === c, code, { timeout: 15000 });
  check(await text(page, '#error-title') === cat[`error.${code}.title`], `${label}: title of ${code} in the page's language`);
  check(await text(page, '#error-advice') === cat[`error.${code}.advice`], `${label}: advice of ${code}`);
}

async function connectWith(page, url, pass, byKeyboard) {
  await page.fill('#url', url);
  await page.fill('#user', user);
  await page.fill('#password', pass);
  if (byKeyboard) {
    // Keyboard only: Enter in the password field submits.
    await page.focus('#password');
    await page.keyboard.press('Enter');
  } else {
    await page.click('#connect-btn');
  }
}

async function flow(browser, lang) {
  const ctx = await browser.newContext({ locale: locales[lang], viewport: { width: 1000, height: 800 } });
  const page = await ctx.newPage();
  errors.length = 0;
  page.on('pageerror', (e) => errors.push(String(e)));
  // The wrong folder and password are answered with error statuses on
  // purpose: the console's note of those is no script error.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) errors.push(m.text());
  });
  page.on('requestfailed', (r) => errors.push(`${r.method()} ${r.url()}: ${r.failure().errorText}`));
  await page.goto(appURL);
  await page.locator('body[data-ready=true]').waitFor();
  // The language follows the browser's preference.
  check(await page.getAttribute('html', 'lang') === lang, `${lang}: page language from the browser`);
  const cat = (await page.evaluate((l) => fetch('/api/catalog?lang=' + l).then((r) => r.json()), lang)).messages;
  check(await text(page, '#connect-h') === cat['connect.heading'], `${lang}: connect heading`);
  check(!page.url().includes('token'), `${lang}: the token left the address bar`);
  await a11y(page, `${lang} connect`);
  await shot(page, `${lang}-1-connect`);

  await connectWith(page, badFolder, password, false);
  await expectError(page, cat, 'E_FOLDER_MISSING', `${lang} wrong folder`);
  await a11y(page, `${lang} wrong folder`);
  await shot(page, `${lang}-2-wrong-folder`);

  await connectWith(page, davRoot, 'not-the-password', false);
  await expectError(page, cat, 'E_AUTH', `${lang} wrong password`);
  await shot(page, `${lang}-3-wrong-password`);

  await connectWith(page, davRoot, password, true);
  await visible(page, '#journal');
  check(await page.locator('#error').isHidden(), `${lang}: the error went away`);
  // Two journal folders: the page lists them to choose from.
  await visible(page, '#folders-box');
  await page.getByLabel(journal, { exact: true }).check();
  check(await text(page, '#journal-number') === journal, `${lang}: the journal number shown`);
  await a11y(page, `${lang} journal`);
  await shot(page, `${lang}-4-journal`);
  await page.click('#journal-yes');

  await visible(page, '#choose');
  await page.setInputFiles('#pick-folder', data);
  await page.waitForFunction(() => document.getElementById('file-list').children.length > 0);
  await page.fill('#bundle-name', 'huono nimi!');
  await page.waitForFunction(() => document.getElementById('name-check').classList.contains('bad'));
  check((await text(page, '#name-check')).startsWith(cat['error.E_NAME_INVALID.title']), `${lang}: invalid name explained`);
  check(await page.locator('#send-btn').isDisabled(), `${lang}: cannot send under an invalid name`);
  await a11y(page, `${lang} choose`);
  await shot(page, `${lang}-5-invalid-name`);
  const name = `cohort_${lang}`;
  await page.fill('#bundle-name', name);
  await page.waitForFunction(() => document.getElementById('name-check').classList.contains('good'));
  await page.click('#send-btn');

  await page.locator('#receipt-status.accepted').waitFor({ timeout: 90000 });
  check(await text(page, '#receipt-status') === cat['receipt.accepted'], `${lang}: accepted, in words`);
  await a11y(page, `${lang} receipt`);
  await shot(page, `${lang}-6-receipt`);
  summary.sent.push(name);

  await page.click('#receipt-next');
  await visible(page, '#clean');
  for (const id of ['#chk-originals', '#chk-zips', '#chk-trash']) {
    await page.focus(id);
    await page.keyboard.press('Space');
    check(await page.isChecked(id), `${lang}: ${id} ticks by keyboard`);
  }
  await a11y(page, `${lang} clean`);
  await page.click('#delete-btn');
  const deletedPrefix = cat['clean.deleted'].split('{')[0];
  await page.waitForFunction((p) => document.getElementById('clean-status').textContent.startsWith(p), deletedPrefix);
  await shot(page, `${lang}-7-clean`);

  // Encrypt only: into a folder, for delivery by other means.
  await page.goto(appURL);
  await page.locator('body[data-ready=true]').waitFor();
  await page.click('#encrypt-only-btn');
  await visible(page, '#offline');
  await page.fill('#offline-journal', journal);
  await page.fill('#offline-out', outDir);
  await a11y(page, `${lang} encrypt only`);
  await page.locator('#offline-form button[type=submit]').click();
  await visible(page, '#choose');
  await page.setInputFiles('#pick-folder', data);
  await page.waitForFunction(() => document.getElementById('file-list').children.length > 0);
  const offline = `offline_${lang}`;
  await page.fill('#bundle-name', offline);
  await page.waitForFunction(() => document.getElementById('name-check').classList.contains('good'));
  check(await text(page, '#send-btn') === cat['choose.encrypt'], `${lang}: the button says encrypt`);
  await page.click('#send-btn');
  await page.locator('#receipt-status.written').waitFor({ timeout: 60000 });
  check((await text(page, '#written-list')).includes(`${offline}.c4gh`), `${lang}: the written files listed`);
  await a11y(page, `${lang} written`);
  await shot(page, `${lang}-8-encrypt-only`);
  summary.offline.push(offline);

  // The switch changes the language on the spot.
  const other = lang === 'en' ? 'fi' : 'en';
  await page.selectOption('#lang', other);
  await page.waitForFunction((l) => document.documentElement.lang === l, other);
  const otherCat = (await page.evaluate((l) => fetch('/api/catalog?lang=' + l).then((r) => r.json()), other)).messages;
  check(await text(page, '#receipt-h') === otherCat['receipt.heading'], `${lang}: switched to ${other}`);
  check(errors.length === 0, `${lang}: no script errors (${errors.join('; ')})`);
  await ctx.close();
}

const browser = await launch();
try {
  for (const lang of langs) {
    try {
      await flow(browser, lang);
    } catch (err) {
      // The screen as it was when the check failed, for the CI artifacts.
      for (const ctx of browser.contexts()) {
        for (const page of ctx.pages()) {
          console.error(`${lang}: failed on ${page.url()}; screenshot ${await screenshot(page, `${lang}-failure`)}`);
          console.error(await page.locator('main').innerText().catch(() => ''));
          console.error(errors.join('\n'));
        }
      }
      throw err;
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(summary));
