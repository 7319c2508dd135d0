// Switchboard console: the little that HTML cannot do. Pages work without it.
// - Theme toggle: light / dark / follow the system, remembered in localStorage.
(function () {
  "use strict";

  var THEMES = ["system", "light", "dark"];
  var root = document.documentElement;

  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    } else {
      root.removeAttribute("data-theme");
    }
  }

  var stored = null;
  try { stored = window.localStorage.getItem("sb-theme"); } catch (e) { stored = null; }
  applyTheme(stored);

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-theme-toggle]");
    if (!toggle) { return; }
    toggle.hidden = false;
    var current = THEMES.indexOf(stored) >= 0 ? stored : "system";
    toggle.setAttribute("title", "Theme: " + current);
    toggle.addEventListener("click", function () {
      current = THEMES[(THEMES.indexOf(current) + 1) % THEMES.length];
      applyTheme(current);
      toggle.setAttribute("title", "Theme: " + current);
      try { window.localStorage.setItem("sb-theme", current); } catch (e) { /* private mode */ }
    });
  });
})();

// - Organisation switcher: switch as soon as another organisation is chosen.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select && select.matches && select.matches("select[data-autosubmit]") && select.form) {
    select.form.submit();
  }
});
