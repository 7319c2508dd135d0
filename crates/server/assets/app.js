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

// - Approvals badge: refreshed every 15 s while the page is open, so a new request (or one
//   decided elsewhere) shows without a reload.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var badge = document.querySelector("[data-approvals-badge]");
    if (!badge || !window.fetch) { return; }
    function refresh() {
      fetch("/api/v1/approvals?status=pending", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (list) {
          if (!Array.isArray(list)) { return; }
          var now = Date.now();
          var waiting = list.filter(function (a) { return Date.parse(a.expires_at) > now; }).length;
          badge.textContent = String(waiting);
          badge.setAttribute("aria-label", waiting + " waiting");
          badge.hidden = waiting === 0;
        })
        .catch(function () { /* offline: keep the last count */ });
    }
    setInterval(refresh, 15000);
  });
})();
