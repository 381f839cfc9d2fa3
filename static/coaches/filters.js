// Search filters: on a phone the panel starts closed, so the first coaches show above the
// fold. Loaded right after the panel (not deferred), so it runs before the first paint.
(() => {
  const panel = document.querySelector("[data-filters-panel]");
  if (panel && window.matchMedia("(max-width: 760px)").matches) panel.removeAttribute("open");
})();
