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

// A hold's time left ("23 minutes left"), counted down from the server's figure.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-countdown]").forEach((element) => {
    const ends = Date.parse(element.dataset.countdown);
    if (Number.isNaN(ends)) return;
    const tick = () => {
      const minutes = Math.ceil((ends - Date.now()) / 60000);
      if (minutes <= 0) {
        element.textContent = "the hold has ended";
        return;
      }
      element.textContent = `${minutes} minute${minutes === 1 ? "" : "s"} left`;
      window.setTimeout(tick, 15000);
    };
    tick();
  });
});

// After the booking calendar moves to another week, keep the keyboard where the reader is:
// on the week's name (the button that was pressed has been replaced).
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "slots") return;
  const label = event.detail.target.querySelector("[data-testid='week-label']");
  if (label && event.detail.requestConfig && event.detail.requestConfig.elt.closest(".week-nav")) {
    label.setAttribute("tabindex", "-1");
    label.focus();
  }
});

// A confirmed session's start ("in 2 days", "in 45 minutes"), kept current from the
// server's figure in the reader's language.
document.addEventListener("DOMContentLoaded", () => {
  const elements = document.querySelectorAll("[data-starts-at]");
  if (!elements.length || !window.Intl || !Intl.RelativeTimeFormat) return;
  const words = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  const tick = () => {
    elements.forEach((element) => {
      const seconds = (Date.parse(element.dataset.startsAt) - Date.now()) / 1000;
      if (Number.isNaN(seconds)) return;
      if (seconds <= 0) {
        element.textContent = "now";
        return;
      }
      const [unit, size] = units.find(([, length]) => seconds >= length) || units[units.length - 1];
      element.textContent = words.format(Math.max(1, Math.round(seconds / size)), unit);
    });
    window.setTimeout(tick, 30000);
  };
  tick();
});
