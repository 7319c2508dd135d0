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

// - Chat: sends the message through the API and streams the answer (text, tool cards, an
//   inline approval card that updates when someone decides). Without this script the form
//   posts to the console and the page returns with the answer.
(function () {
  "use strict";
  var FINAL = { completed: true, failed: true, cancelled: true };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function pretty(value) {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chat = document.querySelector("[data-chat]");
    if (!chat || !window.fetch || !window.TextDecoder) { return; }
    var transcript = chat.querySelector("[data-transcript]");
    var form = chat.querySelector("[data-composer]");
    var status = chat.querySelector("[data-chat-status]");
    var conversation = chat.getAttribute("data-conversation");
    var csrf = chat.getAttribute("data-csrf");
    var cards = {};
    var bubble = null;

    function say(text) { if (status) { status.textContent = text; } }
    function add(node) { transcript.appendChild(node); node.scrollIntoView({ block: "nearest" }); return node; }
    function clearWorking() {
      var working = transcript.querySelector("[data-working]");
      if (working) { working.remove(); }
    }

    function toolCard(data) {
      var li = el("li", "tool-card");
      li.setAttribute("data-call", data.call_id);
      var details = el("details");
      var summary = el("summary");
      summary.appendChild(el("span", "badge badge-info", "tool"));
      summary.appendChild(document.createTextNode(" "));
      summary.appendChild(el("code", "", data.tool));
      summary.appendChild(document.createTextNode(" "));
      var badge = el("span", "badge badge-warning", "running");
      badge.setAttribute("data-result-status", "");
      summary.appendChild(badge);
      details.appendChild(summary);
      details.appendChild(el("p", "muted", "Arguments"));
      details.appendChild(el("pre", "json", pretty(data.arguments)));
      var result = el("div");
      result.setAttribute("data-result", "");
      details.appendChild(result);
      li.appendChild(details);
      cards[data.call_id] = li;
      return add(li);
    }

    function handle(name, data) {
      clearWorking();
      if (name === "text") {
        if (!bubble) { bubble = add(el("li", "bubble bubble-assistant")); bubble.setAttribute("data-streaming", ""); }
        bubble.textContent += data.delta;
        return;
      }
      bubble = null;
      if (name === "tool_call") {
        toolCard(data);
      } else if (name === "tool_result") {
        var card = cards[data.call_id] || transcript.querySelector('[data-call="' + data.call_id + '"]');
        if (!card) { return; }
        var badge = card.querySelector("[data-result-status]");
        badge.textContent = data.ok ? "done" : "refused";
        badge.className = "badge " + (data.ok ? "badge-success" : "badge-danger");
        var slot = card.querySelector("[data-result]");
        slot.textContent = "";
        slot.appendChild(el("p", "muted", "Result"));
        slot.appendChild(el("pre", "json", pretty(data.result)));
      } else if (name === "approval_required") {
        var li = el("li", "approval-inline card");
        li.setAttribute("data-approval", data.approval_id);
        li.setAttribute("data-testid", "approval-card");
        var p = el("p");
        var b = el("span", "badge badge-warning", "waiting for approval");
        b.setAttribute("data-approval-status", "");
        p.appendChild(b);
        p.appendChild(document.createTextNode(" "));
        p.appendChild(el("code", "", data.tool));
        p.appendChild(document.createTextNode(" (" + data.tier + ")"));
        li.appendChild(p);
        li.appendChild(el("pre", "json", pretty(data.arguments)));
        var hint = el("p", "hint", "An admin decides under ");
        var link = el("a", "", "Approvals");
        link.href = "/approvals";
        hint.appendChild(link);
        hint.appendChild(document.createTextNode("; the answer continues here."));
        li.appendChild(hint);
        add(li);
      } else if (name === "approval_resolved") {
        var card2 = transcript.querySelector('[data-approval="' + data.approval_id + '"]');
        if (card2) {
          var s = card2.querySelector("[data-approval-status]");
          s.textContent = data.status;
          s.className = "badge " + (data.status === "executed" ? "badge-success" : "badge-danger");
        }
      } else if (name === "error") {
        var error = add(el("li", "bubble bubble-error", data.message));
        error.setAttribute("role", "alert");
        if (data.code === "no_provider") {
          var models = el("a", "", " Open Models");
          models.href = "/models";
          error.appendChild(models);
        }
      } else if (name === "done") {
        say(data.status === "waiting_approval" ? "Waiting for approval…" : "");
      }
    }

    // Reads an SSE body from fetch; calls back with each event; resolves with the last id
    // and the last `done` status.
    function read(response) {
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      var last = { id: 0, status: null };
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return last; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var blocks = buffer.split("\n\n");
          buffer = blocks.pop();
          blocks.forEach(function (block) {
            var id = 0, name = "", data = "";
            block.split("\n").forEach(function (line) {
              if (line.indexOf("id: ") === 0) { id = parseInt(line.slice(4), 10); }
              else if (line.indexOf("event: ") === 0) { name = line.slice(7); }
              else if (line.indexOf("data: ") === 0) { data += line.slice(6); }
            });
            if (!name) { return; }
            last.id = id || last.id;
            var parsed = JSON.parse(data);
            if (name === "done") { last.status = parsed.status; }
            handle(name, parsed);
          });
          return pump();
        });
      }
      return pump();
    }

    // Follows a run until it ends (across approvals, and across a hub restart: EventSource
    // reconnects with Last-Event-ID), resuming after `after`.
    function follow(run, after, waiting) {
      if (!window.EventSource) { return; }
      say(waiting ? "Waiting for approval…" : "The assistant is answering…");
      var source = new EventSource("/api/v1/runs/" + run + "/events?after=" + after);
      ["text", "tool_call", "tool_result", "approval_required", "approval_resolved", "error", "done"].forEach(function (name) {
        source.addEventListener(name, function (event) {
          var data = JSON.parse(event.data);
          handle(name, data);
          if (name === "done" && FINAL[data.status]) { source.close(); say(""); }
        });
      });
    }

    var pending = chat.getAttribute("data-follow-run");
    if (pending) { follow(pending, chat.getAttribute("data-follow-after") || "0", true); }

    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("textarea");
      var content = input.value.trim();
      if (!content) { return; }
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      var mine = add(el("li", "bubble bubble-user", content));
      mine.setAttribute("data-sent", "");
      input.value = "";
      say("The assistant is answering…");
      bubble = null;
      fetch("/api/v1/conversations/" + conversation + "/messages", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ content: content })
      }).then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) {
            handle("error", body.error || { message: "The message could not be sent." });
            return null;
          });
        }
        var run = response.headers.get("x-switchboard-run-id");
        return read(response).then(function (last) {
          // Ended before the run did: it waits for an approval, or the hub is stopping.
          if (FINAL[last.status]) { say(""); }
          else { follow(run, last.id, last.status === "waiting_approval"); }
        });
      }).catch(function () {
        handle("error", { message: "The connection was lost; reload the page to see the answer." });
      }).then(function () {
        button.disabled = false;
        input.focus();
      });
    });
  });
})();

// - Document upload: sends the file through the API with a progress bar, then opens the new
//   document. Without this script the form posts to the console (no progress shown).
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-upload]");
    if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
    var box = form.querySelector("[data-upload-progress]");
    var bar = box.querySelector("progress");
    var status = box.querySelector("[data-upload-status]");
    var button = form.querySelector("button[type=submit]");
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    function say(text) { status.textContent = text; }
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      var file = input.files && input.files[0];
      if (!file) { return; }
      event.preventDefault();
      box.hidden = false;
      if (max && file.size > max) {
        bar.value = 0;
        say("This file is larger than the " + form.getAttribute("data-max-size") + " limit.");
        return;
      }
      var data = new FormData();
      data.append("file", file, file.name);
      data.append("tags", form.querySelector("input[name=tags]").value);
      var csrf = form.querySelector("input[name=csrf]").value;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/documents");
      xhr.setRequestHeader("x-csrf-token", csrf);
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          say("Uploading… " + pct + " %");
        }
      });
      xhr.upload.addEventListener("load", function () { bar.value = 100; say("Reading its text…"); });
      xhr.addEventListener("load", function () {
        var body = xhr.response || {};
        if (xhr.status === 201 && body.id) {
          say("Uploaded.");
          window.location.assign("/documents/" + encodeURIComponent(body.id));
          return;
        }
        button.disabled = false;
        say((body.error && body.error.message) || "The upload failed (" + xhr.status + ").");
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        say("The connection was lost; the file was not uploaded.");
      });
      button.disabled = true;
      bar.value = 0;
      say("Uploading…");
      xhr.send(data);
    });
  });
})();

// - Fleet task page: follows a task that has not finished — fetches the page again every
//   second and swaps in its status, output, log and history, until the task is over.
//   Without this script a reload shows the same.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.querySelector("[data-task-live]");
    if (!live || !window.fetch || !window.DOMParser) { return; }
    var delay = 1000;
    function follow() {
      if (live.getAttribute("data-task-live") === "done") { return; }
      fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html) {
            var next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-task-live]");
            if (next) {
              live.innerHTML = next.innerHTML;
              live.setAttribute("data-task-live", next.getAttribute("data-task-live"));
            }
            delay = 1000;
          } else {
            delay = Math.min(delay * 2, 15000);
          }
          setTimeout(follow, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); setTimeout(follow, delay); });
    }
    setTimeout(follow, delay);
  });
})();
