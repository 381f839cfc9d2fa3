// Payment setup: the country defaults to the browser's time zone's (until the coach picks
// one), and only the chosen country's note on what it allows stays shown.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("[data-country-select]");
  const notes = document.querySelectorAll("#country-notes [data-country]");
  if (!select || !notes.length) return;
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }
  for (const note of notes) {
    if (zone && note.dataset.timeZones.split(" ").includes(zone)) {
      select.value = note.dataset.country;
      break;
    }
  }
  const show = () => {
    for (const note of notes) note.hidden = note.dataset.country !== select.value;
  };
  select.addEventListener("change", show);
  show();
});
