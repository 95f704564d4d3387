// make bench's app run (scripts/bench-app.sh): one big file sent through
// siirto app in headless chromium, as a user would: connect (to
// DAV_FOLDER_URL, a journal folder, or DAV_ROOT, the first journal folder
// in it), confirm the journal number, choose FILE, name it NAME, send.
// The time is from the click on send until the job is 'waiting' or
// 'accepted' (the payload uploaded and the manifest written): the page's
// PUT of the files is answered then, and /api/jobs/{id} confirms it. Then,
// untimed, the receipt is awaited, so that the gateway's work on this
// bundle does not slow the next round. BENCH_TIMEOUT_S (1800) bounds each
// wait. Prints one JSON line: {"seconds", "bytes", "browser_peak_mib"}
// (the browser's peak PSS, all its processes, sampled every second).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { launch, screenshot } from './browser.mjs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const appURL = env('APP_URL'), file = env('FILE'), name = env('NAME');
const folder = process.env.DAV_FOLDER_URL || env('DAV_ROOT');
const user = env('DAV_USER'), password = env('DAV_PASSWORD');
const timeoutMs = Number(process.env.BENCH_TIMEOUT_S || 1800) * 1000;

// The browser's processes are this one's descendants (playwright-core
// starts chromium itself); PSS shares their common pages out fairly.
function browserPSSKiB() {
  const kids = new Map();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(p));
    } catch { /* gone already */ }
  }
  let kib = 0;
  const todo = [...(kids.get(process.pid) || [])];
  while (todo.length) {
    const pid = todo.pop();
    todo.push(...(kids.get(pid) || []));
    try {
      const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
      if (m) kib += Number(m[1]);
    } catch { /* gone already */ }
  }
  return kib;
}

const browser = await launch();
let page;
try {
  page = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(appURL);
  await page.locator('body[data-ready=true]').waitFor();
  await page.fill('#url', folder);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#connect-btn');
  await page.locator('#journal').waitFor({ state: 'visible', timeout: 30000 });
  await page.click('#journal-yes');
  await page.locator('#choose').waitFor({ state: 'visible' });
  // A local browser gets the path, not the bytes: nothing is read yet.
  await page.setInputFiles('#pick-files', file);
  await page.fill('#bundle-name', name);
  await page.waitForFunction(() => document.getElementById('name-check').classList.contains('good'));
  await page.locator('#send-btn:enabled').waitFor();

  // The page's PUT of the files is answered once the bundle is sent (or
  // has failed): waiting for that answer costs nothing, where polling
  // /api/jobs from here would take CPU from the browser and the app.
  const isPut = (r) => r.method() === 'PUT' && /^\/api\/jobs\/[^/]+\/files$/.test(new URL(r.url()).pathname);
  const sent = page.waitForResponse((r) => isPut(r.request()), { timeout: timeoutMs });
  // A PUT that gets no answer at all (the app gone) fails at once.
  const broke = new Promise((_, no) => page.on('requestfailed', (r) => {
    if (isPut(r)) no(new Error(`PUT ${r.url()}: ${r.failure().errorText}`));
  }));
  broke.catch(() => {});
  let peakKiB = 0;
  const sampler = setInterval(() => { peakKiB = Math.max(peakKiB, browserPSSKiB()); }, 1000);
  const t0 = performance.now();
  await page.click('#send-btn');
  let res, seconds;
  try {
    res = await Promise.race([sent, broke]);
    seconds = (performance.now() - t0) / 1000;
  } finally {
    clearInterval(sampler);
  }
  peakKiB = Math.max(peakKiB, browserPSSKiB()); // a run shorter than a second has one sample
  // The answer's body is out of reach (the inspector drops it with the
  // upload's): the job's state comes from /api/jobs.
  const job = await page.evaluate((u) => fetch(u).then((r) => r.json()), new URL(res.url()).pathname.replace(/\/files$/, ''));
  if (!res.ok() || !['waiting', 'accepted'].includes(job.state)) {
    throw new Error(`PUT ${res.status()}; job ${job.state}: ${JSON.stringify(job.error)}`);
  }
  await page.locator('#receipt-status.accepted').waitFor({ timeout: timeoutMs });
  if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  if (job.total !== statSync(file).size) throw new Error(`the job had ${job.total} bytes, the file ${statSync(file).size}`);
  console.log(JSON.stringify({ seconds, bytes: job.total, browser_peak_mib: peakKiB / 1024 }));
} catch (err) {
  if (page) console.error(`bench: failed on ${page.url()}; screenshot ${await screenshot(page, 'bench-failure').catch(() => 'none')}`);
  throw err;
} finally {
  await browser.close();
}
