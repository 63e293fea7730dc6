// The site head's roster page, made to work offline.
//
// Without this script the page is a plain form the server reads (a no-script phone
// still submits a roster). With it, a submitted roster becomes the roster API's JSON
// body and goes into an outbox on the device (IndexedDB), each with its own
// Idempotency-Key, and is sent as soon as there is a connection: at once when online,
// else when the browser says it is back online, when the page is opened again, and
// every 30 seconds while it stays open. A retry of one roster always carries the same
// key, so the gateway stores it once whatever happens to the answers. Each roster in the
// outbox shows where it stands, as DHIS2 Capture does:
//
//   waiting     not sent yet (no connection, the server busy, or a new sign-in needed)
//   sending     on its way
//   sent        stored by the gateway (201), with its counts
//   refused     the gateway refused it (422 and other 4xx): the reasons, entry by entry
//   superseded  a later roster for the same facility and month replaced it (made on
//               this device before this one was sent, or sent after it)
//
// The service worker (sw.js) keeps the page and its list of people, so the page opens
// without a connection. Everything is in this file: no build step, no library.
(() => {
  'use strict';

  document.documentElement.classList.add('js');
  const script = document.currentScript;
  const swUrl = script && script.dataset.sw;
  if (swUrl && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register(swUrl, { scope: script.dataset.swScope || './' }).catch(() => {
      // Without a service worker the page still works while online.
    });
  }

  // Sign-out forgets the pages kept for offline use (they list people's names); rosters
  // still waiting in the outbox are kept, and the sign-out button warns of them.
  for (const signOut of document.querySelectorAll('form[data-sign-out]')) {
    signOut.addEventListener('submit', () => {
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({ type: 'forget-pages' });
      }
    });
  }

  const form = document.getElementById('roster-form');
  const outboxList = document.getElementById('outbox');
  if (!form || !outboxList || !('indexedDB' in window)) return;

  const facility = form.dataset.facility;
  const facilityName = form.dataset.facilityName || '';
  const sessionUrl = form.dataset.sessionUrl;
  const submitUrl = form.action;
  const connection = document.getElementById('connection');
  const announcer = document.getElementById('announcer');
  const RETRY_MS = 30000;

  // ---- Khmer numerals and months, for what the page shows ----

  const KHMER_DIGITS = '០១២៣៤៥៦៧៨៩';
  const KHMER_MONTHS = ['មករា', 'កុម្ភៈ', 'មីនា', 'មេសា', 'ឧសភា', 'មិថុនា', 'កក្កដា', 'សីហា', 'កញ្ញា', 'តុលា', 'វិច្ឆិកា', 'ធ្នូ'];
  const ENGLISH_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const khmerDigits = (text) => String(text).replace(/[0-9]/g, (d) => KHMER_DIGITS[Number(d)]);
  const pad = (n) => String(n).padStart(2, '0');

  function periodText(period) {
    const [year, month] = period.split('-').map(Number);
    return {
      km: `ខែ${KHMER_MONTHS[month - 1]} ឆ្នាំ${khmerDigits(year)}`,
      en: `${ENGLISH_MONTHS[month - 1]} ${year}`,
    };
  }

  function timeText(iso) {
    const t = new Date(iso);
    const hm = `${pad(t.getHours())}:${pad(t.getMinutes())}`;
    return {
      km: `${khmerDigits(hm)} ថ្ងៃទី${khmerDigits(t.getDate())} ខែ${KHMER_MONTHS[t.getMonth()]}`,
      en: `${hm}, ${t.getDate()} ${ENGLISH_MONTHS[t.getMonth()]}`,
    };
  }

  const STATES = {
    waiting: { km: 'រង់ចាំផ្ញើ', en: 'Waiting to be sent' },
    sending: { km: 'កំពុងផ្ញើ', en: 'Sending' },
    sent: { km: 'បានផ្ញើរួច', en: 'Sent' },
    refused: { km: 'ត្រូវបានបដិសេធ', en: 'Refused' },
    superseded: { km: 'ត្រូវបានជំនួស', en: 'Superseded' },
  };

  const MESSAGES = {
    offline: { km: 'គ្មានការតភ្ជាប់អ៊ីនធឺណិត៖ នឹងផ្ញើពេលមានការតភ្ជាប់វិញ', en: 'No connection: it will be sent when the connection returns' },
    busy: { km: 'ម៉ាស៊ីនមេមិនទាន់ឆ្លើយ៖ នឹងព្យាយាមម្តងទៀត', en: 'The server did not answer: it will be tried again' },
    signIn: { km: 'សូមចូលប្រើម្តងទៀត ដើម្បីផ្ញើ', en: 'Sign in again to send it' },
    replaced: { km: 'បញ្ជីថ្មីជាងសម្រាប់ខែដដែលបានជំនួសវា', en: 'A later roster for the same month replaced it' },
    online: { km: 'មានការតភ្ជាប់', en: 'Online' },
    noConnection: { km: 'គ្មានការតភ្ជាប់ — បញ្ជីនឹងរង់ចាំនៅលើឧបករណ៍នេះ', en: 'Offline — rosters wait on this device' },
    queued: { km: 'បញ្ជីត្រូវបានរក្សាទុកក្នុងប្រអប់ផ្ញើ', en: 'The roster is in the outbox' },
  };

  // ---- The outbox: one IndexedDB store, keyed by each roster's Idempotency-Key ----

  const DB_NAME = 'interop-gateway-app';
  const STORE = 'outbox';
  let dbPromise;

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const open = indexedDB.open(DB_NAME, 1);
        open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'key' });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
    }
    return dbPromise;
  }

  async function tx(mode, work) {
    const database = await db();
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const result = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }

  const allItems = () => tx('readonly', (store) => store.getAll());
  const putItem = (item) => tx('readwrite', (store) => store.put({ ...item, updatedAt: new Date().toISOString() }));

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---- The form, read into the roster API's body ----
  //
  // Field names (the server reads the same ones when the form is posted without this
  // script): `period`; for each listed person N, `e.N.civil_servant_id`, `e.N.name_km`,
  // `e.N.status` (present | absent | unknown), `e.N.reason` (an option whose
  // data-note is the reason's text) and `e.N.note`; for each added person N,
  // `a.N.name_km`, `a.N.name_latin`, `a.N.sex`, `a.N.role`, `a.N.civil_servant_id`,
  // `a.N.national_id`. A person "not known here" is left out of the roster.

  function absenceNote(reasonSelect, note) {
    const option = reasonSelect && reasonSelect.selectedOptions[0];
    const label = option && option.value ? option.dataset.note || option.textContent.trim() : '';
    const free = (note || '').trim();
    if (label && free) return `${label}: ${free}`;
    return label || free || undefined;
  }

  function readRoster() {
    const data = new FormData(form);
    const listed = new Map();
    const added = new Map();
    for (const [name, value] of data.entries()) {
      const match = /^([ea])\.(\d+)\.([a-z_]+)$/.exec(name);
      if (!match) continue;
      const group = match[1] === 'e' ? listed : added;
      const index = Number(match[2]);
      if (!group.has(index)) group.set(index, {});
      group.get(index)[match[3]] = String(value).trim();
    }
    const entries = [];
    for (const [index, person] of [...listed].sort((a, b) => a[0] - b[0])) {
      if (person.status !== 'present' && person.status !== 'absent') continue;
      const entry = {};
      if (person.civil_servant_id) entry.civil_servant_id = person.civil_servant_id;
      if (person.name_km) entry.name_km = person.name_km;
      entry.present = person.status === 'present';
      if (!entry.present) {
        const note = absenceNote(form.elements[`e.${index}.reason`], person.note);
        if (note) entry.note = note;
      }
      entries.push(entry);
    }
    for (const [, person] of [...added].sort((a, b) => a[0] - b[0])) {
      const entry = {};
      for (const field of ['civil_servant_id', 'national_id', 'name_km', 'name_latin', 'sex', 'role']) {
        if (person[field]) entry[field] = person[field];
      }
      if (Object.keys(entry).length === 0) continue;
      entry.present = true;
      entries.push(entry);
    }
    return { period: data.get('period'), entries };
  }

  // ---- Sending ----

  let flushing = false;

  async function freshCsrf() {
    // The page may be a copy kept for offline use, with a token of an older session:
    // ask the gateway for the current one.
    const answer = await fetch(sessionUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' });
    if (answer.status === 401) return null;
    if (!answer.ok) throw new Error(`session ${answer.status}`);
    const session = await answer.json();
    return session.csrf_token;
  }

  async function problemOf(answer) {
    try {
      return await answer.json();
    } catch {
      return null;
    }
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      const items = (await allItems())
        .filter((item) => item.state === 'waiting' || item.state === 'sending')
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      if (items.length === 0) return;
      const stopAll = async (message) => {
        for (const item of items) {
          if (item.state === 'waiting' || item.state === 'sending') {
            await putItem({ ...item, state: 'waiting', message });
          }
        }
      };
      if (!navigator.onLine) {
        await stopAll('offline');
        return;
      }
      let csrf;
      try {
        csrf = await freshCsrf();
      } catch {
        await stopAll(navigator.onLine ? 'busy' : 'offline');
        return;
      }
      if (!csrf) {
        await stopAll('signIn');
        return;
      }
      for (const item of items) {
        await putItem({ ...item, state: 'sending', message: null });
        await render();
        let answer;
        try {
          answer = await fetch(submitUrl, {
            method: 'POST',
            credentials: 'same-origin',
            headers: {
              'Content-Type': 'application/json',
              Accept: 'application/json',
              'Idempotency-Key': item.key,
              'X-CSRF-Token': csrf,
            },
            body: JSON.stringify(item.body),
          });
        } catch {
          await stopAll(navigator.onLine ? 'busy' : 'offline');
          break;
        }
        if (answer.status === 201 || answer.status === 200) {
          const roster = await answer.json();
          await putItem({
            ...item,
            state: 'sent',
            message: null,
            rosterId: roster.id,
            counts: roster.counts,
            replayed: answer.headers.get('Idempotent-Replayed') === 'true',
            sentAt: new Date().toISOString(),
          });
          if (roster.supersedes) await markSuperseded((other) => other.rosterId === roster.supersedes);
          continue;
        }
        const csrfRefused = answer.status === 403
          && (await problemOf(answer.clone()))?.code === 'csrf_failed';
        if (answer.status === 401 || csrfRefused) {
          await stopAll('signIn');
          break;
        }
        if (answer.status === 408 || answer.status === 429 || answer.status >= 500) {
          await stopAll('busy');
          break;
        }
        const problem = await problemOf(answer);
        await putItem({
          ...item,
          state: 'refused',
          message: null,
          status: answer.status,
          detail: problem && (problem.detail || problem.title) || `HTTP ${answer.status}`,
          errors: problem && Array.isArray(problem.errors) ? problem.errors : [],
        });
      }
    } finally {
      flushing = false;
      await render();
    }
  }

  async function markSuperseded(which) {
    for (const item of await allItems()) {
      if (item.state !== 'superseded' && which(item)) {
        await putItem({ ...item, state: 'superseded', message: 'replaced' });
      }
    }
  }

  // ---- Showing the outbox ----

  function bilingual(parent, text, tag = 'span') {
    const km = document.createElement(tag);
    km.lang = 'km';
    km.textContent = text.km;
    const en = document.createElement('span');
    en.lang = 'en';
    en.className = 'en';
    en.textContent = ` ${text.en}`;
    parent.append(km, en);
  }

  function entryName(item, index) {
    const entry = item.body.entries[index];
    if (!entry) return `#${index + 1}`;
    return entry.name_km || entry.name_latin || entry.civil_servant_id || `#${index + 1}`;
  }

  async function render() {
    const items = (await allItems())
      .filter((item) => item.facility === facility)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    outboxList.replaceChildren();
    for (const item of items) {
      const li = document.createElement('li');
      li.className = item.state;
      li.dataset.key = item.key;
      li.dataset.state = item.state;
      const head = document.createElement('div');
      const state = document.createElement('span');
      state.className = 'state';
      bilingual(state, STATES[item.state]);
      head.append(state);
      li.append(head);
      const what = document.createElement('div');
      const period = periodText(item.body.period);
      const made = timeText(item.createdAt);
      const count = item.body.entries.length;
      bilingual(what, {
        km: `${period.km} · មនុស្ស ${khmerDigits(count)} នាក់ · ធ្វើនៅម៉ោង ${made.km}`,
        en: `${period.en} · ${count} people · made ${made.en}`,
      });
      li.append(what);
      if (item.message && MESSAGES[item.message]) {
        const note = document.createElement('div');
        bilingual(note, MESSAGES[item.message]);
        li.append(note);
      }
      if (item.state === 'sent' && item.counts) {
        const counts = document.createElement('div');
        bilingual(counts, {
          km: `វត្តមាន ${khmerDigits(item.counts.present)} · អវត្តមាន ${khmerDigits(item.counts.absent)}`,
          en: `present ${item.counts.present} · absent ${item.counts.absent}`,
        });
        li.append(counts);
      }
      if (item.state === 'refused') {
        const detail = document.createElement('div');
        detail.textContent = item.detail;
        li.append(detail);
        if (item.errors && item.errors.length) {
          const reasons = document.createElement('ul');
          reasons.className = 'reasons';
          for (const fault of item.errors) {
            const reason = document.createElement('li');
            const who = fault.index === null || fault.index === undefined ? '' : `${entryName(item, fault.index)} — `;
            reason.textContent = `${who}${fault.field}: ${fault.detail}`;
            reasons.append(reason);
          }
          li.append(reasons);
        }
      }
      outboxList.append(li);
    }
    const section = outboxList.closest('section');
    if (section) section.hidden = items.length === 0;
  }

  function showConnection() {
    if (!connection) return;
    connection.replaceChildren();
    connection.classList.toggle('offline', !navigator.onLine);
    bilingual(connection, navigator.onLine ? MESSAGES.online : MESSAGES.noConnection);
  }

  function announce(text) {
    if (!announcer) return;
    announcer.replaceChildren();
    bilingual(announcer, text);
  }

  // ---- Wiring ----

  // The reason for an absence is asked only of a person marked absent.
  function showReasons() {
    for (const box of form.querySelectorAll('.absence[data-for]')) {
      const absent = form.elements[`${box.dataset.for}.status`];
      box.hidden = !(absent && absent.value === 'absent');
    }
  }
  form.addEventListener('change', (event) => {
    if (event.target.name && event.target.name.endsWith('.status')) showReasons();
  });
  showReasons();

  // Another blank "add a person" block, numbered after the last one.
  const addButton = document.getElementById('add-another');
  const addTemplate = document.getElementById('added-person-template');
  const addedList = document.getElementById('added-people');
  if (addButton && addTemplate && addedList) {
    addButton.hidden = false;
    addButton.addEventListener('click', () => {
      const index = addedList.querySelectorAll('[data-added]').length;
      const html = addTemplate.innerHTML
        .replaceAll('__N__', String(index))
        .replaceAll('__NUMBER_EN__', String(index + 1))
        .replaceAll('__NUMBER__', khmerDigits(index + 1));
      addedList.insertAdjacentHTML('beforeend', html);
      const first = addedList.querySelector(`[data-added="${index}"] input`);
      if (first) first.focus();
    });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = readRoster();
    const item = {
      key: newKey(),
      facility,
      facilityName,
      body,
      state: 'waiting',
      createdAt: new Date().toISOString(),
    };
    // A roster still waiting for the same month is replaced by this one: only the
    // latest goes out.
    await markSuperseded((other) => other.facility === facility && other.state === 'waiting'
      && other.body.period === body.period);
    await putItem(item);
    announce(MESSAGES.queued);
    await render();
    document.getElementById('outbox-heading')?.scrollIntoView({ block: 'start' });
    flush();
  });

  window.addEventListener('online', () => {
    showConnection();
    flush();
  });
  window.addEventListener('offline', showConnection);
  setInterval(() => {
    if (navigator.onLine) flush();
  }, RETRY_MS);

  showConnection();
  render().then(flush);
})();
