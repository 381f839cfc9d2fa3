// Keep the "tz" cookie equal to the browser's time zone, before the page is drawn, so the
// server renders times in the visitor's zone from the first paint (marketplace/timezones.py).
// Loaded without defer in <head>: it must run before any request the page makes.
(() => {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone || !/^[A-Za-z0-9_/+-]+$/.test(zone)) return;
    const current = document.cookie.split("; ").find((item) => item.startsWith("tz="));
    if (current && decodeURIComponent(current.slice(3)) === zone) return;
    const secure = window.location.protocol === "https:" ? "; secure" : "";
    document.cookie = `tz=${zone}; path=/; max-age=31536000; samesite=lax${secure}`;
  } catch (error) {
    // No Intl time zone: the server falls back to the account's zone or UTC.
  }
})();
