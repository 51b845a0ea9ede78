/* tryon site helpers: CSRF header for fetch(), the small-screen menu button, confirmation prompts,
   the compare selection. */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf-token"]');

  /** The CSRF token of this page (send it as the X-CSRFToken header on POST/PUT/PATCH/DELETE). */
  function csrfToken() {
    return meta ? meta.getAttribute("content") : "";
  }

  /** fetch() that adds the CSRF header and same-origin credentials to state-changing requests. */
  function tryonFetch(url, options) {
    options = Object.assign({ credentials: "same-origin" }, options || {});
    var method = (options.method || "GET").toUpperCase();
    var headers = new Headers(options.headers || {});
    if (["POST", "PUT", "PATCH", "DELETE"].indexOf(method) !== -1 && !headers.has("X-CSRFToken")) {
      headers.set("X-CSRFToken", csrfToken());
    }
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    options.headers = headers;
    return fetch(url, options);
  }

  window.tryon = Object.assign(window.tryon || {}, { csrfToken: csrfToken, fetch: tryonFetch });

  // Small screens: the menu button opens and closes the main menu (aria-expanded says which);
  // Escape closes it and gives the focus back to the button.
  var navToggle = document.getElementById("nav-toggle");
  var nav = document.getElementById("site-nav");
  if (navToggle && nav) {
    var setOpen = function (open) { navToggle.setAttribute("aria-expanded", String(open)); };
    navToggle.addEventListener("click", function () {
      setOpen(navToggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && navToggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        navToggle.focus();
      }
    });
  }

  // <form data-confirm="Are you sure?"> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Favourites page: enable "Compare" for 2..max selected frames. The checkboxes and the button sit
  // in the cards and are tied to the (empty) compare form by their form="..." attribute.
  var compare = document.querySelector("[data-compare-form]");
  if (compare) {
    var max = parseInt(compare.getAttribute("data-max") || "4", 10);
    var counter = document.querySelector("[data-compare-count]");
    var boxes = function () {
      return Array.prototype.filter.call(compare.elements, function (el) { return el.name === "ids"; });
    };
    var update = function () {
      var all = boxes();
      var checked = all.filter(function (box) { return box.checked; }).length;
      all.forEach(function (box) { box.disabled = !box.checked && checked >= max; });
      document.querySelectorAll("[data-compare-button]").forEach(function (button) {
        button.disabled = checked < 2;
      });
      if (counter) counter.textContent = String(checked);
    };
    document.addEventListener("change", function (event) {
      if (event.target && event.target.form === compare) update();
    });
    update();
  }
})();
