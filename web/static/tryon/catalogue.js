/* Catalogue list: on a phone, the filter panel starts folded unless filters are in use. */
(function () {
  "use strict";
  var filters = document.getElementById("filters");
  if (filters && filters.dataset.active !== "yes" && window.matchMedia("(max-width: 900px)").matches) {
    filters.open = false;
  }
})();
