// Coaches pages: show a profile's free times in the visitor's own time zone.
document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("input[data-detect-timezone-select]").forEach((input) => {
    if (!zone || input.hasAttribute("data-explicit") || input.value === zone) return;
    input.value = zone;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
});
