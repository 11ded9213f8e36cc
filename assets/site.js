// ridealong's only script. Every page works without it; it only helps.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Preselect the browser's time zone in pickers the person has not chosen yet.
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (_) {
    zone = "";
  }
  for (const select of document.querySelectorAll("select[data-browser-zone]")) {
    if (zone && [...select.options].some((option) => option.value === zone)) {
      select.value = zone;
    }
  }
  // Send it with forms that read a national phone number in its country.
  for (const input of document.querySelectorAll("input[type=hidden][data-browser-zone]")) {
    if (!input.value) {
      input.value = zone;
    }
  }

  // Move focus to an error summary so screen readers announce it.
  const summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }

  // Ask before a destructive button submits its form.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
});
