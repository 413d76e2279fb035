// Small progressive enhancements; every page works without them.
(function () {
  // The monthly/yearly toggle switches prices in place (links still work without JavaScript).
  document.querySelectorAll(".interval-toggle [data-interval]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var interval = button.dataset.interval;
      document.querySelectorAll(".plan-grid").forEach(function (grid) { grid.dataset.interval = interval; });
      document.querySelectorAll(".interval-toggle [data-interval]").forEach(function (other) {
        var on = other.dataset.interval === interval;
        other.classList.toggle("primary", on);
        other.setAttribute("aria-pressed", on ? "true" : "false");
      });
      history.replaceState(null, "", "?interval=" + interval);
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
