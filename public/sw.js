// Custodian's service worker.
// - Precaches the static shell (CSS, JS, WASM, icons) and an offline page.
// - Navigations go to the network first; when it fails, the offline page is shown.
// - Page HTML and server-function responses are never stored: they can hold a signed-in
//   person's data.
const VERSION = "v1";
const SHELL_CACHE = `custodian-shell-${VERSION}`;
const SHELL = [
  "/offline.html",
  "/pkg/custodian.css",
  "/pkg/custodian.js",
  "/pkg/custodian.wasm",
  "/manifest.webmanifest",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((key) => key !== SHELL_CACHE).map((key) => caches.delete(key))),
      )
      .then(() => self.clients.claim()),
  );
});

const isShellAsset = (url) =>
  url.origin === self.location.origin && SHELL.includes(url.pathname) && url.pathname !== "/offline.html";

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;

  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline.html")));
    return;
  }

  const url = new URL(request.url);
  if (isShellAsset(url)) {
    // Stale-while-revalidate: fast from the cache, refreshed for the next visit.
    event.respondWith(
      caches.open(SHELL_CACHE).then(async (cache) => {
        const cached = await cache.match(request);
        const refreshed = fetch(request)
          .then((response) => {
            if (response.ok) cache.put(request, response.clone());
            return response;
          })
          .catch(() => cached);
        return cached || refreshed;
      }),
    );
  }
  // Everything else, server functions included, goes straight to the network.
});
