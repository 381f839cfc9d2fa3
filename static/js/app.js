// Coach Connect: small progressive enhancements. htmx sends the CSRF token from the page.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers["X-CSRFToken"] = token.content;
});

// Fill hidden or empty time-zone inputs with the browser's time zone.
document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("[data-detect-timezone]").forEach((input) => {
    if (!input.value) input.value = zone;
  });
});

// Toasts (Django's messages) get a close button; they never vanish by themselves, so a
// screen-reader or a slow reader keeps them as long as needed.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-toast]").forEach((toast) => {
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => toast.remove());
    toast.append(close);
  });
});

// Tell the server the browser's time zone (the "tz" cookie), so pages render times in it from
// the first paint and a new account starts in it (marketplace/timezones.py).
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  const current = document.cookie.split("; ").find((item) => item.startsWith("tz="));
  if (current && decodeURIComponent(current.slice(3)) === zone) return;
  document.cookie = `tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; samesite=lax`;
})();
