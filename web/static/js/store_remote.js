// The staff remote: shows the mirror's live state (polled every 2 s). The forms work without it.
(function () {
  "use strict";
  var out = document.getElementById("mirror-state");
  if (!out || !window.fetch) return;
  var url = out.getAttribute("data-state-url");
  var lang = document.documentElement.lang === "it" ? "it" : "en";
  var words = {
    en: { offline: "Mirror offline: commands wait for it", online: "Mirror online", mode: "showing", frame: "frame" },
    it: { offline: "Specchio non in linea: i comandi lo attendono", online: "Specchio in linea", mode: "mostra", frame: "montatura" }
  }[lang];
  function show(data) {
    if (!data.online) { out.textContent = words.offline; return; }
    var s = data.state || {};
    var look = s.look || {};
    out.textContent = words.online + " · " + words.mode + ": " + (s.mode || "?") + " · " + words.frame + ": " + (look.frame_id || "?");
  }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) show(d); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
