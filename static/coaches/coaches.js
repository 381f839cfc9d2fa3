// Coaches pages: show a profile's free times in the visitor's own time zone.
document.addEventListener("DOMContentLoaded", () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("select[data-detect-timezone-select]").forEach((select) => {
    if (select.hasAttribute("data-explicit") || select.value === zone) return;
    if (!Array.from(select.options).some((option) => option.value === zone)) return;
    select.value = zone;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
});
