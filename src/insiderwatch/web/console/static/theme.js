// Runs in <head> before the first paint: the theme chosen with the toggle (kept in this
// browser only), else the system's preference (no attribute: the CSS media query decides).
(function () {
  try {
    var chosen = localStorage.getItem("iw-theme");
    if (chosen === "light" || chosen === "dark") {
      document.documentElement.setAttribute("data-theme", chosen);
    }
  } catch (e) { /* storage refused: follow the system */ }
})();
