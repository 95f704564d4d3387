// siirto app: the page. No framework and no network beyond this app's own
// server, which does the packing, encryption and upload.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { lang: 'en', msgs: {}, session: null, folders: [], folder: null, mode: 'send',
  journal: '', outDir: '', files: [], job: null, abort: null, targets: [] };

// t looks a key up in the catalogue and fills {placeholders}.
function t(key, args) {
  let s = state.msgs[key];
  if (s === undefined) { console.error('missing message', key); s = key; }
  for (const [k, v] of Object.entries(args || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}

async function api(method, path, body, opts) {
  const init = Object.assign({ method, headers: {} }, opts || {});
  if (body !== undefined && !(body instanceof Blob)) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await fetch(path, init);
  const data = res.status === 204 ? {} : await res.json();
  if (!res.ok) throw Object.assign(new Error('api'), { api: data.error || { code: 'E_INTERNAL' } });
  return data;
}

function size(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return new Intl.NumberFormat(state.lang, { maximumFractionDigits: i ? 1 : 0 }).format(n) + ' ' + units[i];
}

function duration(s) {
  s = Math.max(0, Math.round(s));
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  if (h) return h + ' h ' + (m % 60) + ' min';
  if (m) return m + ' min ' + (s % 60) + ' s';
  return s + ' s';
}

// ---- language ----
async function loadLang(lang) {
  const q = lang ? '?lang=' + encodeURIComponent(lang) : '';
  const cat = await api('GET', '/api/catalog' + q);
  state.lang = cat.lang;
  state.msgs = cat.messages;
  document.documentElement.lang = cat.lang;
  $('lang').value = cat.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.title = t('app.title');
  rerender();
}

function rerender() {
  if (state.lastError) showError(state.lastError);
  renderFiles();
  if (state.folder) $('journal-number').textContent = state.folder.journal;
  if (state.jobView) renderJob(state.jobView);
  if (state.nameError !== undefined) showNameCheck(state.nameError);
}

// ---- screens ----
function show(id) {
  for (const s of document.querySelectorAll('[data-screen]')) s.hidden = s.id !== id;
  const step = id === 'offline' ? 'journal' : id;
  for (const li of document.querySelectorAll('#steps li')) {
    if (li.dataset.step === step) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
  }
  const h = document.querySelector('#' + id + ' h1');
  if (h) h.focus();
}

function showError(e) {
  state.lastError = e;
  const code = e.code || 'E_INTERNAL';
  $('error-title').textContent = t('error.' + code + '.title');
  $('error-advice').textContent = t('error.' + code + '.advice');
  $('error-code').textContent = code;
  $('error-detail').textContent = e.detail || '';
  $('error').hidden = false;
}

function clearError() { state.lastError = null; $('error').hidden = true; }

function apiError(err) {
  if (err.api) return err.api;
  return { code: 'E_NETWORK', detail: String(err) };
}

// ---- connect ----
function renderTargets() {
  const box = $('targets');
  box.textContent = '';
  if (!state.targets.length) return;
  $('targets-box').hidden = false;
  state.targets.forEach((tg, i) => {
    const id = 'target-' + i;
    const row = document.createElement('div');
    row.className = 'choice';
    const r = document.createElement('input');
    Object.assign(r, { type: 'radio', name: 'target', id, value: tg.name, checked: i === 0 });
    const l = document.createElement('label');
    l.htmlFor = id;
    l.textContent = tg.name + ' (' + tg.url + ')';
    row.append(r, l);
    box.append(row);
  });
  const row = document.createElement('div');
  row.className = 'choice';
  const r = document.createElement('input');
  Object.assign(r, { type: 'radio', name: 'target', id: 'target-other', value: '' });
  const l = document.createElement('label');
  l.htmlFor = 'target-other';
  l.dataset.i18n = 'connect.other';
  l.textContent = t('connect.other');
  row.append(r, l);
  box.append(row);
  box.addEventListener('change', syncTarget);
  syncTarget();
}

function chosenTarget() {
  const r = document.querySelector('input[name=target]:checked');
  return r ? state.targets.find((tg) => tg.name === r.value) : null;
}

function syncTarget() {
  const tg = chosenTarget();
  $('manual').hidden = !!tg;
  $('password-field').hidden = !!(tg && tg.has_password);
}

async function connect(ev) {
  ev.preventDefault();
  clearError();
  const tg = chosenTarget();
  const body = tg ? { target: tg.name, url: '', user: '', password: $('password').value }
    : { target: '', url: $('url').value.trim(), user: $('user').value.trim(), password: $('password').value };
  $('connect-btn').disabled = true;
  $('connect-status').textContent = t('connect.busy');
  try {
    const res = await api('POST', '/api/connect', body);
    state.session = res.session;
    state.folders = res.folders;
    state.mode = 'send';
    $('password').value = '';
    pickFolders();
  } catch (err) {
    showError(apiError(err));
  } finally {
    $('connect-btn').disabled = false;
    $('connect-status').textContent = '';
  }
}

function pickFolders() {
  const box = $('folders');
  box.textContent = '';
  $('folders-box').hidden = state.folders.length < 2;
  state.folder = state.folders[0];
  if (state.folders.length > 1) {
    state.folders.forEach((f, i) => {
      const row = document.createElement('div');
      row.className = 'choice';
      const r = document.createElement('input');
      Object.assign(r, { type: 'radio', name: 'folder', id: 'folder-' + i, value: String(i), checked: i === 0 });
      r.addEventListener('change', () => { state.folder = state.folders[i]; $('journal-number').textContent = state.folder.journal; });
      const l = document.createElement('label');
      l.htmlFor = r.id;
      l.textContent = f.journal;
      row.append(r, l);
      box.append(row);
    });
  }
  $('journal-number').textContent = state.folder.journal;
  show('journal');
}

// ---- encrypt only ----
async function offlineNext(ev) {
  ev.preventDefault();
  clearError();
  state.mode = 'encrypt';
  state.journal = $('offline-journal').value.trim();
  state.outDir = $('offline-out').value.trim();
  state.folder = { journal: state.journal, url: '' };
  toChoose();
}

async function readJournalFile() {
  const f = $('offline-journal-file').files[0];
  if (!f) return;
  const text = await f.text();
  $('offline-journal').value = text.replace(/^\uFEFF/, '').split(/\r?\n/)[0].trim();
}

// ---- choose ----
function toChoose() {
  $('choose-journal').textContent = state.folder.journal;
  $('send-btn').dataset.i18n = state.mode === 'send' ? 'choose.send' : 'choose.encrypt';
  $('send-btn').textContent = t($('send-btn').dataset.i18n);
  show('choose');
}

function addFiles(list, fromFolder) {
  for (const f of list) {
    const path = fromFolder && f.webkitRelativePath ? f.webkitRelativePath : f.name;
    if (!state.files.some((x) => x.path === path)) state.files.push({ path, file: f });
  }
  if (!$('bundle-name').value && state.files.length) {
    const first = state.files[0].path.split('/');
    let name = first.length > 1 ? first[0] : first[0].replace(/\.[^.]*$/, '');
    name = name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '');
    $('bundle-name').value = name.slice(0, 100);
  }
  renderFiles();
  checkName();
}

function renderFiles() {
  const ul = $('file-list');
  ul.textContent = '';
  let total = 0;
  for (const f of state.files.slice(0, 200)) {
    const li = document.createElement('li');
    li.textContent = f.path + ' — ' + size(f.file.size);
    ul.append(li);
  }
  for (const f of state.files) total += f.file.size;
  $('choose-summary').textContent = state.files.length ? t('choose.summary', { n: state.files.length, size: size(total) }) : t('choose.none');
  $('clear-btn').hidden = !state.files.length;
  syncSend();
}

let nameTimer = null;
function checkName() {
  clearTimeout(nameTimer);
  nameTimer = setTimeout(async () => {
    const name = $('bundle-name').value;
    try {
      const res = await api('GET', '/api/name?name=' + encodeURIComponent(name));
      state.nameError = res.ok ? null : res.error;
    } catch (err) {
      state.nameError = apiError(err);
    }
    showNameCheck(state.nameError);
  }, 150);
}

function showNameCheck(e) {
  const el = $('name-check');
  const input = $('bundle-name');
  if (e) {
    el.textContent = t('error.' + e.code + '.title') + ': ' + (e.detail || '') + ' ' + t('choose.name.rule');
    el.className = 'hint bad';
    input.setAttribute('aria-invalid', 'true');
  } else {
    el.textContent = t('choose.name.ok');
    el.className = 'hint good';
    input.removeAttribute('aria-invalid');
  }
  syncSend();
}

function syncSend() {
  $('send-btn').disabled = !state.files.length || state.nameError !== null;
}

// ---- send ----
async function send() {
  clearError();
  const name = $('bundle-name').value;
  try {
    const job = await api('POST', '/api/jobs', {
      mode: state.mode, session: state.session || '', folder: state.folder.url || '', journal: state.journal,
      out_dir: state.outDir, name,
      files: state.files.map((f) => ({ path: f.path, size: f.file.size, modified: f.file.lastModified })),
    });
    const skip = new Set(job.skipped || []);
    const parts = state.files.filter((f) => !skip.has(f.path)).map((f) => f.file);
    state.job = job.id;
    show('send');
    renderJob(job);
    poll();
    state.abort = new AbortController();
    // One body of every file in the planned order: the browser streams it
    // from disk; the app splits it by the sizes it was told.
    const done = await api('PUT', '/api/jobs/' + job.id + '/files', new Blob(parts), { signal: state.abort.signal });
    renderJob(done);
  } catch (err) {
    if (err.name === 'AbortError') return;
    showError(apiError(err));
  }
}

let pollTimer = null;
function poll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    if (!state.job) return;
    try {
      const job = await api('GET', '/api/jobs/' + state.job);
      renderJob(job);
      if (['ready', 'sending', 'resuming', 'waiting'].includes(job.state)) poll();
    } catch (err) {
      poll();
    }
  }, 300);
}

function renderJob(job) {
  state.jobView = job;
  const total = Math.max(job.total, 1);
  $('bar-read').value = Math.min(job.read / total, 1);
  $('read-text').textContent = size(job.read) + ' / ' + size(job.total);
  $('sent-row').hidden = job.mode !== 'send';
  $('bar-sent').value = job.state === 'waiting' || job.state === 'accepted' || job.state === 'rejected' ? 1 : Math.min(job.sent / total, 1);
  $('sent-text').textContent = size(job.sent);
  const busy = job.state === 'sending' || job.state === 'resuming';
  $('cancel-btn').hidden = !busy && job.state !== 'ready';
  $('resume-btn').hidden = !(job.state === 'failed' && job.resumable);
  $('retry-btn').hidden = !(job.state === 'failed' && !job.resumable) && job.state !== 'cancelled';
  let status = '';
  if (busy && job.seconds > 0.5) {
    const done = job.mode === 'send' ? Math.min(job.read, job.sent || job.read) : job.read;
    const rate = done / job.seconds;
    const eta = rate > 0 ? (job.total - done) / rate : 0;
    status = t('send.eta', { done: size(done), total: size(job.total), rate: size(rate), eta: duration(eta) });
  }
  if (job.state === 'resuming') status = t('send.resuming') + ' ' + status;
  if (job.state === 'cancelled') status = t('send.cancelled');
  $('send-status').textContent = status;
  if (job.error && (job.state === 'failed' || job.state === 'waiting')) showError(job.error);
  if (['waiting', 'accepted', 'rejected', 'written'].includes(job.state)) renderReceipt(job);
}

function renderReceipt(job) {
  if ($('receipt').hidden) show('receipt');
  const st = $('receipt-status');
  const list = $('written-list');
  list.textContent = '';
  $('receipt-next').hidden = job.state === 'waiting';
  st.className = 'receipt ' + job.state;
  if (job.state === 'waiting') st.textContent = t('receipt.waiting');
  if (job.state === 'accepted') { clearError(); st.textContent = t('receipt.accepted'); }
  if (job.state === 'rejected') {
    st.textContent = t('receipt.rejected');
    const code = job.receipt.code || 'E_INTERNAL';
    showError({ code, detail: '' });
  }
  if (job.state === 'written') {
    st.textContent = t('receipt.written');
    for (const p of job.created || []) {
      const li = document.createElement('li');
      li.textContent = p;
      list.append(li);
    }
  }
  $('receipt-detail').textContent = job.payload
    ? t('receipt.details', { name: job.name, journal: job.journal, size: size(job.payload.size), sha: job.payload.sha256 }) : '';
}

async function cancel() {
  if (state.abort) state.abort.abort();
  if (state.job) renderJob(await api('POST', '/api/jobs/' + state.job + '/cancel'));
}

async function resume() {
  clearError();
  try {
    renderJob(await api('POST', '/api/jobs/' + state.job + '/resume'));
    poll();
  } catch (err) { showError(apiError(err)); }
}

// ---- clean up ----
function toClean() {
  const job = state.jobView;
  const ul = $('created-list');
  ul.textContent = '';
  for (const p of job.created || []) {
    const li = document.createElement('li');
    li.textContent = p;
    ul.append(li);
  }
  $('app-files').hidden = !(job.created || []).length;
  $('clean-status').textContent = (job.created || []).length ? '' : t('clean.nothing');
  show('clean');
}

async function deleteCreated() {
  try {
    const job = await api('POST', '/api/jobs/' + state.job + '/clean');
    state.jobView = job;
    $('created-list').textContent = '';
    $('app-files').hidden = true;
    $('clean-status').textContent = t('clean.deleted', { files: (job.cleaned || []).join(', ') });
  } catch (err) { showError(apiError(err)); }
}

function another() {
  clearError();
  state.files = [];
  state.job = null;
  state.jobView = null;
  $('bundle-name').value = '';
  $('pick-files').value = '';
  $('pick-folder').value = '';
  for (const c of document.querySelectorAll('.checklist input')) c.checked = false;
  renderFiles();
  if (state.mode === 'send' && state.session) toChoose(); else show('connect');
}

// ---- start ----
async function start() {
  $('lang').addEventListener('change', (e) => { localStorage.setItem('siirto.lang', e.target.value); loadLang(e.target.value); });
  await loadLang(localStorage.getItem('siirto.lang') || '');
  const st = await api('GET', '/api/state');
  state.targets = st.targets;
  $('offline-out').value = st.out_dir || '';
  renderTargets();
  $('connect-form').addEventListener('submit', connect);
  $('encrypt-only-btn').addEventListener('click', () => { clearError(); show('offline'); });
  $('offline-form').addEventListener('submit', offlineNext);
  $('offline-journal-file').addEventListener('change', readJournalFile);
  $('offline-back').addEventListener('click', () => show('connect'));
  $('journal-yes').addEventListener('click', () => { clearError(); toChoose(); });
  $('journal-no').addEventListener('click', () => { state.session = null; show('connect'); });
  $('choose-back').addEventListener('click', () => show(state.mode === 'send' ? 'journal' : 'offline'));
  $('pick-files').addEventListener('change', (e) => addFiles(e.target.files, false));
  $('pick-folder').addEventListener('change', (e) => addFiles(e.target.files, true));
  $('clear-btn').addEventListener('click', () => { state.files = []; $('pick-files').value = ''; $('pick-folder').value = ''; renderFiles(); });
  $('bundle-name').addEventListener('input', checkName);
  $('send-btn').addEventListener('click', send);
  $('cancel-btn').addEventListener('click', cancel);
  $('resume-btn').addEventListener('click', resume);
  $('retry-btn').addEventListener('click', () => { clearError(); show('choose'); });
  $('receipt-next').addEventListener('click', toClean);
  $('delete-btn').addEventListener('click', deleteCreated);
  $('another-btn').addEventListener('click', another);
  // The heartbeat tells the app the window is open; when it stops, the
  // app ends (after sending whatever it is still sending).
  setInterval(() => api('POST', '/api/ping').catch(() => {}), st.ping_ms);
  api('POST', '/api/ping').catch(() => {});
  // A window reopened while a bundle is on its way shows it again.
  const open = st.jobs.find((j) => ['sending', 'resuming', 'waiting'].includes(j.state) || (j.state === 'failed' && j.resumable));
  if (open) {
    state.job = open.id;
    state.mode = open.mode;
    show('send');
    renderJob(open);
    poll();
  } else {
    show('connect');
  }
  document.body.dataset.ready = 'true';
}

start().catch((err) => showError(apiError(err)));
