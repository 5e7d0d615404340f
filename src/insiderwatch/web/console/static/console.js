// The console's only script besides htmx and the chart library: the theme toggle, the
// keyboard shortcuts, the bulk-selection count, and drawing charts from JSON in the page.
(function () {
  "use strict";
  var root = document.documentElement;

  function currentTheme() {
    var set = root.getAttribute("data-theme");
    if (set) return set;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function showTheme() {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    var dark = currentTheme() === "dark";
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    button.textContent = dark ? "Light theme" : "Dark theme";
  }

  function toggleTheme() {
    var next = currentTheme() === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("iw-theme", next); } catch (e) { /* not kept */ }
    showTheme();
    document.dispatchEvent(new CustomEvent("iw:theme"));
  }

  // Queue navigation: rows carry data-row; the current one gets .current and focus.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-row]")); }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(document.querySelector("[data-row].current"));
    var next = all[Math.max(0, Math.min(all.length - 1, at + step))] || all[0];
    all.forEach(function (r) { r.classList.remove("current"); });
    next.classList.add("current");
    var link = next.querySelector("a");
    (link || next).focus();
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var current = document.querySelector("[data-row].current");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
        if (current && current.querySelector("a")) current.querySelector("a").click();
        break;
      case "x":
        var box = current && current.querySelector("input[type=checkbox]");
        if (box) { box.click(); }
        break;
      case "/":
        var filter = document.querySelector("[data-filters] input, [data-filters] select");
        if (filter) { event.preventDefault(); filter.focus(); }
        break;
      case "t": toggleTheme(); break;
      case "?":
        var help = document.getElementById("shortcuts");
        if (help && help.showModal) help.showModal();
        break;
      default: return;
    }
  }

  function countSelected() {
    var out = document.getElementById("selected-count");
    if (!out) return;
    var n = document.querySelectorAll("input[name=alert_ids]:checked").length;
    out.textContent = n + (n === 1 ? " alert selected" : " alerts selected");
  }

  // Charts: <figure data-chart> holds its data as JSON in a child <script type=application/json>.
  var drawn = [];
  function drawCharts(scope) {
    if (!window.uPlot) return;
    (scope || document).querySelectorAll("[data-chart]").forEach(function (figure) {
      var source = figure.querySelector("script[type='application/json']");
      var target = figure.querySelector(".chart");
      if (!source || !target) return;
      var spec = JSON.parse(source.textContent);
      target.textContent = "";
      var style = getComputedStyle(root);
      var ink = style.getPropertyValue("--ink").trim();
      var colors = ["--accent", "--muted", "--sev-medium", "--sev-critical"].map(function (v) {
        return style.getPropertyValue(v).trim();
      });
      var opts = {
        width: Math.max(280, target.clientWidth || 480),
        height: 200,
        axes: [{ stroke: ink }, { stroke: ink, label: spec.ylabel || "" }],
        series: [{}].concat(spec.series.map(function (s, i) {
          return { label: s.label, stroke: colors[i % colors.length], width: 2,
                   points: { show: true } };
        })),
        scales: { x: { time: spec.time !== false } },
      };
      drawn.push(new window.uPlot(opts, spec.data, target));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showTheme();
    var button = document.getElementById("theme-toggle");
    if (button) button.addEventListener("click", toggleTheme);
    var link = document.getElementById("shortcuts-link");
    if (link) link.addEventListener("click", function (e) {
      var help = document.getElementById("shortcuts");
      if (help && help.showModal) { e.preventDefault(); help.showModal(); }
    });
    document.addEventListener("keydown", onKey);
    document.addEventListener("change", function (e) {
      if (e.target.matches && e.target.matches("input[name=alert_ids], [data-select-all]")) {
        if (e.target.matches("[data-select-all]")) {
          document.querySelectorAll("input[name=alert_ids]").forEach(function (b) { b.checked = e.target.checked; });
        }
        countSelected();
      }
    });
    drawCharts(document);
  });
  document.addEventListener("htmx:afterSwap", function (e) { drawCharts(e.target); countSelected(); });
  document.addEventListener("iw:theme", function () {
    drawn.forEach(function (c) { c.destroy(); });
    drawn = [];
    drawCharts(document);
  });
})();
