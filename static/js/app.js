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
