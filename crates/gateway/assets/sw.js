// The app's service worker: the app shell and the pages a site head needs offline.
//
// The gateway serves this file at /app/sw.js with two lines put before it:
//   self.APP_VERSION = "<hash of every asset>";
//   self.APP_SHELL = ["/app/assets/<version>/app.css", ..., "/app/offline"];
//   self.APP_PAGES = ["/app/roster"];
// so a new build changes this file's bytes, the browser installs the new worker, and
// the old shell is dropped. Assets are named by that version and never change under a
// name: they are served from the cache first. The pages in APP_PAGES (the roster page,
// with the facility's list of people) are fetched from the network first and kept, so
// the last one seen opens without a connection; any other page offline gets /app/offline.
// Nothing but GET requests under the worker's scope is touched: roster submissions go
// to the network, and the page's outbox keeps what could not be sent.
'use strict';

const VERSION = self.APP_VERSION || 'dev';
const SHELL = self.APP_SHELL || [];
const PAGES = new Set(self.APP_PAGES || []);
const SHELL_CACHE = `shell-${VERSION}`;
const PAGES_CACHE = 'pages';
const OFFLINE_PAGE = SHELL.find((url) => url.endsWith('/offline'));

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith('shell-') && name !== SHELL_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

// Sign-out asks to forget the kept pages: they list people's names.
self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'forget-pages') {
    event.waitUntil(caches.delete(PAGES_CACHE));
  }
});

async function fromCacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const answer = await fetch(request);
  if (answer.ok) {
    const cache = await caches.open(SHELL_CACHE);
    await cache.put(request, answer.clone());
  }
  return answer;
}

async function offlinePage() {
  const page = OFFLINE_PAGE && await caches.match(OFFLINE_PAGE);
  return page || new Response('Offline', { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

async function fromNetworkFirst(request, key) {
  try {
    const answer = await fetch(request);
    // A redirect (to sign in, say) or an error page is not what to show offline.
    if (answer.ok && !answer.redirected) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(key, answer.clone());
    }
    return answer;
  } catch {
    const cached = await caches.match(key, { cacheName: PAGES_CACHE });
    return cached || offlinePage();
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return;
  if (url.pathname.startsWith(`${scope}assets/`)) {
    event.respondWith(fromCacheFirst(request));
    return;
  }
  if (request.mode === 'navigate') {
    if (PAGES.has(url.pathname)) {
      // One copy a page, whatever its query (`?sent=...`).
      event.respondWith(fromNetworkFirst(request, new Request(url.origin + url.pathname)));
    } else {
      event.respondWith(fetch(request).catch(offlinePage));
    }
  }
});
