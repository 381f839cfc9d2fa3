// Bookings: show the picked slot in the browser's time zone. The slot link from a coach's
// profile carries only the UTC start; add the browser's zone once (?tz=) so the server
// renders both times with their zones.
document.addEventListener("DOMContentLoaded", () => {
  const marker = document.querySelector("[data-needs-browser-zone]");
  if (!marker) return;
  const url = new URL(window.location.href);
  if (url.searchParams.has("tz")) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  url.searchParams.set("tz", zone);
  window.location.replace(url.toString());
});
