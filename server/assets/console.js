// The console's live updates: the page listens to /console/events (server-sent events on the
// server's change feed) and, when its team's documents change, refetches what it shows from the
// same /v1 JSON API that scripts use and redraws it in place, without reloading.
// The roster page follows a running solve the same way, on /console/roster/progress.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (box && box.dataset.phase === "running") {
    var teamQuery = document.body.dataset.teamQuery || "";
    var show = function (id, value) { document.getElementById(id).textContent = value === null || value === undefined ? "–" : value; };
    var fixed = function (value) { return value === null || value === undefined ? null : value.toFixed(2); };
    var source = new EventSource("/console/roster/progress" + teamQuery);
    source.addEventListener("progress", function (event) {
      var state = JSON.parse(event.data);
      box.dataset.phase = state.phase;
      show("progress-elapsed", state.elapsed.toFixed(0));
      show("progress-best", fixed(state.best));
      show("progress-bound", fixed(state.bound));
      show("progress-gap", fixed(state.gap));
      show("progress-lines", state.lines.join("\n") + (state.message ? "\n" + state.message : ""));
      if (state.phase !== "running") {
        source.close();
        location.href = "/console/roster" + teamQuery;
      }
    });
  }
  var file = document.getElementById("import-file");
  if (file) {
    file.addEventListener("change", function () {
      if (!file.files.length) { return; }
      var reader = new FileReader();
      reader.onload = function () { document.getElementById("import-toml").value = reader.result; };
      reader.readAsText(file.files[0]);
    });
  }
})();

(function () {
  "use strict";
  var board = document.querySelector('[data-live="board"]');
  var timeline = document.querySelector('[data-live="case"]');
  if (!board && !timeline) { return; }
  var labels = JSON.parse(document.getElementById("labels").textContent);
  var teamQuery = document.body.dataset.teamQuery || "";
  function t(key) { return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key; }
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text || ""; row.appendChild(td); return td; }
  function shortTime(text) { return text ? text.slice(0, 16).replace("T", " ") : ""; }

  function drawBoard(cases) {
    var body = document.getElementById("case-rows");
    var before = {};
    Array.prototype.forEach.call(body.rows, function (row) { before[row.dataset.id] = row.dataset.updated || ""; });
    body.textContent = "";
    cases.forEach(function (c) {
      var row = document.createElement("tr");
      row.dataset.id = c.id;
      if (c.overdue) { row.classList.add("overdue"); }
      if (!(c.id in before)) { row.classList.add("fresh"); }
      var link = document.createElement("a");
      link.href = "/console/cases/" + encodeURIComponent(c.id) + teamQuery;
      link.textContent = c.number;
      cell(row, "").appendChild(link);
      cell(row, c.subject).className = "subject";
      var customer = cell(row, c.customer_name);
      customer.appendChild(document.createElement("br"));
      var phone = document.createElement("small"); phone.textContent = c.customer_phone; customer.appendChild(phone);
      cell(row, t(c.kind));
      cell(row, t(c.status) + (c.status_conflict ? " ⚠" : ""));
      cell(row, t(c.priority));
      cell(row, c.assignee);
      cell(row, c.department);
      cell(row, shortTime(c.created_at));
      cell(row, shortTime(c.reply_due) + (c.overdue ? " " + t("overdue") : ""));
      body.appendChild(row);
    });
    document.getElementById("no-cases").hidden = cases.length > 0;
  }

  function drawCase(c) {
    document.getElementById("case-status").textContent = t(c.status);
    document.getElementById("case-subject").textContent = c.subject;
    var list = document.getElementById("timeline");
    list.textContent = "";
    c.timeline.forEach(function (entry) {
      var item = document.createElement("li");
      var time = document.createElement("time"); time.textContent = shortTime(entry.at); item.appendChild(time);
      var kind = document.createElement("strong"); kind.textContent = " " + t(entry.type) + " "; item.appendChild(kind);
      var parts = [entry.by];
      if (entry.to) { parts.push("→ " + t(entry.to)); }
      if (entry.to_department) { parts.push("→ " + entry.to_department); }
      if (entry.satisfaction) { parts.push(t(entry.satisfaction)); }
      if (entry.text) { parts.push(entry.text); }
      item.appendChild(document.createTextNode(parts.join(" ")));
      list.appendChild(item);
    });
  }

  function refresh() {
    var url = board ? "/v1/cases" + location.search
      : "/v1/cases/" + encodeURIComponent(document.getElementById("case-number").dataset.caseId) + location.search;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) { if (board) { drawBoard(data); } else { drawCase(data); } document.body.dataset.refreshed = String(Date.now()); })
      .catch(function () { /* the next change event tries again */ });
  }

  var events = new EventSource("/console/events" + teamQuery);
  events.addEventListener("open", function () { document.getElementById("live").hidden = false; document.body.dataset.live = "1"; });
  events.addEventListener("error", function () { document.getElementById("live").hidden = true; });
  events.addEventListener("change", refresh);
})();
