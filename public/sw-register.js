// Registers the service worker; loaded with the page's CSP nonce.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((error) => {
    console.warn("Custodian works without offline support:", error.message);
  });
}
