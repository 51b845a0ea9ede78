/*
 * The try-on page: live camera mode over a WebSocket, photo mode over POST /api/tryon.
 *
 * Live transport (see docs/web-tryon.md): the camera frame is drawn on a canvas, encoded as JPEG
 * (canvas.toBlob) and sent as one binary WebSocket message. The server answers with a JSON text
 * message ("result": timings, anchors, face found) and then the composited frame as a binary JPEG.
 * Only one frame is in flight: the next one is captured when the previous result has arrived, so a
 * slow link or a slow server lowers the frame rate instead of building a queue.
 *
 * Browser mode (issue 12): where the browser has WebGL2 and WebAssembly, camera mode runs on the
 * device instead (browser_mode.js: tasks-vision + three.js, loaded with import()); no camera frame is
 * sent. Without them, or when the on-device engine cannot start, the page falls back to the server
 * mode above and says so. ?engine=server or ?engine=browser forces one (tests, benchmarks).
 *
 * Plain JavaScript, no build step. window.tryon exposes the page state (tests and debugging).
 */
(function () {
  "use strict";

  var cfgEl = document.getElementById("tryon-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var T = JSON.parse(document.getElementById("tryon-i18n").textContent);
  var $ = function (id) { return document.getElementById(id); };

  var el = {
    root: $("tryon"), stage: $("stage"), video: $("camera"), capture: $("capture"), result: $("result"),
    message: $("stage-message"), messageText: $("stage-text"), dropzone: $("dropzone"),
    photoInput: $("photo-input"), faceHint: $("face-hint"), fitAdvice: $("fit-advice"), hudFps: $("hud-fps"), hudRtt: $("hud-rtt"),
    tabCamera: $("tab-camera"), tabPhoto: $("tab-photo"), snapshot: $("btn-snapshot"), save: $("btn-save"),
    next: $("btn-next-frame"), prev: $("btn-prev-frame"), changePhoto: $("btn-change-photo"),
    saveStatus: $("save-status"), snapshots: $("snapshots"), snapshotsWrap: $("snapshots-wrap"),
    form: $("look-form"), colours: $("colour-options"), lenses: $("lens-options"), sizes: $("size-options"),
    colourName: $("colour-name"), lensName: $("lens-name"), sizeDetail: $("size-detail"),
    frameName: $("frame-name"), frameBrand: $("frame-brand"), framePrice: $("frame-price"),
    frameLink: $("frame-link"), statFps: $("stat-fps"), statRtt: $("stat-rtt"), statServer: $("stat-server"),
    statCount: $("stat-count"), liveStatus: $("live-status"), engineNote: $("engine-note")
  };
  var forcedEngine = new URLSearchParams(location.search).get("engine");

  var frames = cfg.frames;
  var byId = {};
  frames.forEach(function (f) { byId[f.id] = f; });

  var MAX_SEND_WIDTH = 640;       // camera frames are scaled down to this width before sending
  var MAX_PHOTO_SIDE = 1600;      // photos are scaled down to this before upload
  var NO_FACE_HINT_MS = 700;      // show "no face found" after this long without a face
  var LIVE_MIN_GAP_MS = 4000;     // screen-reader status: at most one announcement per 4 s ...
  var LIVE_REFRESH_MS = 15000;    // ... and progress or fps alone refreshed every 15 s

  var state = {
    mode: cfg.mode,
    look: cfg.look,
    ws: null,
    stream: null,
    ready: false,
    fatal: false,
    inFlight: false,
    sentAt: 0,
    pendingSent: null,
    pendingMeta: null,
    lastMeta: null,
    lastResultBlob: null,
    lastResultLook: null,
    lastPair: null,
    sent: 0,
    results: 0,
    frameErrors: 0,
    maxInFlight: 0,
    resultTimes: [],
    fps: 0,
    rtt: 0,
    noFaceSince: null,
    photo: null,
    photoBusy: false,
    reconnectDelay: 500,
    snapshot: null,
    snapshotCount: 0,
    lastError: null,
    engine: null,          // "browser" (on-device) or "server", once camera mode has started
    engineReason: null,    // why the server mode was chosen, when it was a fallback
    browser: null,         // the on-device engine (browser_mode.js), while it runs
    fitFrames: []          // browser mode: landmarks of the first frames, for size advice
  };
  window.tryon = state;

  // -- small helpers -------------------------------------------------------------------------------
  function localName(option) {
    return cfg.locale === "it" ? (option.name_it || option.name) : option.name;
  }
  function formatPrice(frame) {
    try {
      return new Intl.NumberFormat(cfg.locale === "it" ? "it-IT" : "en-GB",
        { style: "currency", currency: frame.currency || "EUR" }).format(frame.price);
    } catch (e) {
      return frame.price + " " + (frame.currency || "EUR");
    }
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function setStage(kind) { el.stage.dataset.state = kind; }

  function setMessage(text, kind, action) {
    // kind: "busy" (spinner), "error", "info"; text null hides the message
    if (text === null) {
      el.message.hidden = true;
      return;
    }
    el.message.hidden = false;
    el.message.dataset.kind = kind || "info";
    el.messageText.textContent = text;
    var old = el.message.querySelector("button");
    if (old) old.remove();
    if (action) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "tx-btn tx-btn-primary tx-btn-small";
      b.textContent = action.label;
      b.addEventListener("click", action.run);
      el.message.appendChild(b);
    }
  }

  function usePhotoAction() {
    return { label: el.tabPhoto.textContent.trim(), run: function () { setMode("photo"); } };
  }

  function updateUrl() {
    var params = new URLSearchParams({ frame: state.look.frame, size: state.look.size,
      colour: state.look.colour, lens: state.look.lens });
    if (state.mode === "photo") params.set("mode", "photo");
    history.replaceState(null, "", cfg.urls.page + "?" + params.toString());
  }

  // -- the options panel ---------------------------------------------------------------------------
  function swatchOption(name, option, checked) {
    var label = document.createElement("label");
    label.className = "tx-swatch-option";
    label.title = localName(option);
    var input = document.createElement("input");
    input.type = "radio"; input.name = name; input.value = option.id; input.checked = checked;
    var sw = document.createElement("span");
    sw.className = "tx-swatch tx-swatch-lg";
    sw.style.setProperty("--swatch", option.hex);
    sw.setAttribute("aria-hidden", "true");
    var text = document.createElement("span");
    text.className = "tx-visually-hidden";
    text.textContent = localName(option);
    label.append(input, sw, text);
    return label;
  }

  function sizeOption(size, checked) {
    var label = document.createElement("label");
    label.className = "tx-size-option";
    var input = document.createElement("input");
    input.type = "radio"; input.name = "size"; input.value = size.label; input.checked = checked;
    var span = document.createElement("span");
    span.textContent = size.label;
    label.append(input, span);
    return label;
  }

  function renderPanel() {
    var frame = byId[state.look.frame];
    if (!frame) return;
    if (el.root.dataset.frame !== frame.id) {
      el.root.dataset.frame = frame.id;
      el.frameName.textContent = frame.name;
      el.frameBrand.textContent = frame.brand + " · " + (T.shapes && T.shapes[frame.shape] || frame.shape);
      el.framePrice.textContent = formatPrice(frame);
      if (el.frameLink) { el.frameLink.textContent = frame.name; el.frameLink.href = frame.urls.detail; }
      el.result.alt = fmt(T.youWearing, { name: frame.name });
      var liveCanvas = document.getElementById("live-canvas");
      if (liveCanvas) liveCanvas.setAttribute("aria-label", el.result.alt);
      el.colours.replaceChildren.apply(el.colours, frame.colours.map(function (c) { return swatchOption("colour", c, false); }));
      el.lenses.replaceChildren.apply(el.lenses, frame.lenses.map(function (l) { return swatchOption("lens", l, false); }));
      el.sizes.replaceChildren.apply(el.sizes, frame.sizes.map(function (s) { return sizeOption(s, false); }));
    }
    ["colour", "lens", "size"].forEach(function (name) {
      el.form.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
        input.checked = input.value === state.look[name];
      });
    });
    var colour = frame.colours.find(function (c) { return c.id === state.look.colour; });
    var lens = frame.lenses.find(function (l) { return l.id === state.look.lens; });
    var size = frame.sizes.find(function (s) { return s.label === state.look.size; });
    el.colourName.textContent = colour ? "· " + localName(colour) : "";
    el.lensName.textContent = lens ? "· " + localName(lens) : "";
    el.sizeDetail.textContent = size ? [
      T.lensWidth + " " + size.lens_width, T.bridge + " " + size.bridge, T.temple + " " + size.temple_length,
      T.height + " " + size.lens_height, size.total_width + " " + T.mmWide
    ].join(" · ") : "";
    updateUrl();
  }

  function changeLook(partial) {
    var merged = Object.assign({}, state.look, partial);
    if (partial.frame && partial.frame !== state.look.frame) {
      // another frame: let the server pick what the new frame offers
      merged = { frame: partial.frame };
      var frame = byId[partial.frame];
      ["size", "colour", "lens"].forEach(function (key) {
        var ids = key === "size" ? frame.sizes.map(function (s) { return s.label; })
          : (key === "colour" ? frame.colours : frame.lenses).map(function (o) { return o.id; });
        merged[key] = ids.indexOf(state.look[key]) >= 0 ? state.look[key] : frame["default_" + key];
      });
    }
    state.look = merged;
    renderPanel();
    if (state.mode === "camera" && state.browser) {
      var engine = state.browser;
      engine.setLook(merged).then(function (look) {
        if (state.browser !== engine) return;
        state.look = look;
        renderPanel();
        postFit();   // the verdict for the new frame or size, from the same measurement
      }).catch(function (err) { state.lastError = "look"; setSaveStatus(String(err && err.message || err)); });
    } else if (state.mode === "camera") {
      if (state.ws && state.ws.readyState === WebSocket.OPEN) {
        state.ws.send(JSON.stringify(merged));
      }
    } else if (state.photo) {
      runPhoto();
    }
  }

  function stepFrame(delta) {
    var i = frames.findIndex(function (f) { return f.id === state.look.frame; });
    var next = frames[(i + delta + frames.length) % frames.length];
    if (next && next.id !== state.look.frame) changeLook({ frame: next.id });
  }

  el.form.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.name) {
      var partial = {};
      partial[t.name] = t.value;
      changeLook(partial);
    }
  });
  el.next.addEventListener("click", function () { stepFrame(1); });
  el.prev.addEventListener("click", function () { stepFrame(-1); });

  // -- showing results --------------------------------------------------------------------------------
  function fitStage(width, height) {
    // the stage takes the picture's proportions (landscape webcam, portrait phone camera, any photo)
    if (width && height && el.stage.dataset.aspect !== width + "/" + height) {
      el.stage.dataset.aspect = width + "/" + height;
      el.stage.style.aspectRatio = width + " / " + height;
    }
  }

  function showResult(blob, meta) {
    var url = URL.createObjectURL(blob);
    var old = el.result.dataset.url;
    el.result.onload = function () {
      if (old) URL.revokeObjectURL(old);
      fitStage(el.result.naturalWidth, el.result.naturalHeight);
    };
    el.result.src = url;
    el.result.dataset.url = url;
    el.result.hidden = false;
    state.lastResultBlob = blob;
    state.lastResultLook = Object.assign({}, state.look);
    state.lastMeta = meta;
    el.snapshot.disabled = false;
    el.save.disabled = false;
    var now = performance.now();
    if (meta && !meta.face_found) {
      if (state.noFaceSince === null) state.noFaceSince = now;
      el.faceHint.textContent = state.mode === "photo" ? T.noFacePhoto : T.noFace;
      el.faceHint.hidden = state.mode === "camera" && now - state.noFaceSince < NO_FACE_HINT_MS;
    } else {
      state.noFaceSince = null;
      el.faceHint.hidden = true;
    }
    el.root.dataset.faceFound = meta && meta.face_found ? "yes" : "no";
    showFit(meta && meta.fit);
    announceStatus(meta);
  }

  // The status for screen readers (one polite live region, #live-status): no face / measuring /
  // the fit verdict, and the frame rate. It is rewritten when the kind of status changes (at most
  // once per LIVE_MIN_GAP_MS) and otherwise every LIVE_REFRESH_MS, never on every frame.
  var live = { kind: null, at: -Infinity };
  function liveSummary(meta) {
    if (meta && !meta.face_found) {
      if (state.mode === "camera" && state.noFaceSince !== null &&
          performance.now() - state.noFaceSince < NO_FACE_HINT_MS) return null;
      return { kind: "noface", text: state.mode === "photo" ? T.noFacePhoto : T.noFace };
    }
    var fit = meta && meta.fit;
    if (fit && state.mode === "camera") {
      var text = cfg.locale === "it" ? fit.text_it : fit.text_en;
      return { kind: fit.verdict ? "verdict:" + fit.verdict : "fit:" + fit.state, text: text };
    }
    return { kind: "face", text: fmt(T.youWearing, { name: (byId[state.look.frame] || {}).name || "" }) };
  }
  function announceStatus(meta) {
    var summary = liveSummary(meta);
    if (!summary || !el.liveStatus) return;
    var now = performance.now();
    var due = summary.kind !== live.kind ? LIVE_MIN_GAP_MS : LIVE_REFRESH_MS;
    if (state.mode === "photo") due = 0;  // a photo gives one result, asked for by the shopper
    if (now - live.at < due) return;
    var text = summary.text;
    if (state.mode === "camera" && state.fps > 0) text += " · " + state.fps.toFixed(1) + " fps";
    live.kind = summary.kind;
    live.at = now;
    el.liveStatus.textContent = text;
  }

  // Frame-size advice from the live measurement (camera mode): "measuring… n%", then the verdict.
  function showFit(fit) {
    var saveBtn = document.getElementById("btn-save-measurements");
    if (!fit || state.mode !== "camera") { el.fitAdvice.hidden = true; saveBtn.hidden = true; return; }
    el.fitAdvice.textContent = cfg.locale === "it" ? fit.text_it : fit.text_en;
    el.fitAdvice.dataset.state = fit.state;
    el.fitAdvice.dataset.verdict = fit.verdict || "";
    el.fitAdvice.dataset.progress = String(fit.state === "ready" ? 100 : fit.progress || 0);
    if (fit.state === "ready" && !state.fitVerdictAt) state.fitVerdictAt = state.results;  // frames to a verdict
    el.fitAdvice.hidden = false;
    state.measurements = fit.measurements || null;
    saveBtn.hidden = !(cfg.signedIn && cfg.urls.measurements && state.measurements && state.measurements.length);
  }

  // Save the live measurements (PD, face width, each with its interval and method) to the profile;
  // the server refuses without the customer's consent to keep face data, and says so.
  document.getElementById("btn-save-measurements").addEventListener("click", async function () {
    var status = document.getElementById("measurements-status");
    var records = state.measurements || [];
    this.disabled = true;
    try {
      for (var i = 0; i < records.length; i++) {
        var res = await fetch(cfg.urls.measurements, {
          method: "POST", credentials: "same-origin", body: JSON.stringify(records[i]),
          headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json", "Accept": "application/json" }
        });
        if (!res.ok) {
          var data = await res.json().catch(function () { return {}; });
          status.textContent = data.message || T.saveFailed;
          el.root.dataset.measurementsSaved = "error";
          return;
        }
      }
      status.textContent = T.measurementsSaved;
      el.root.dataset.measurementsSaved = String(records.length);
    } catch (err) {
      status.textContent = T.saveFailed;
    } finally {
      this.disabled = false;
    }
  });

  function updateStats(meta) {
    var now = performance.now();
    state.resultTimes.push(now);
    while (state.resultTimes.length > 1 && now - state.resultTimes[0] > 2000) state.resultTimes.shift();
    var n = state.resultTimes.length;
    state.fps = n > 1 ? (n - 1) * 1000 / (now - state.resultTimes[0]) : 0;
    el.hudFps.textContent = state.fps.toFixed(1) + " fps";
    el.hudRtt.textContent = Math.round(state.rtt) + " ms";
    el.statFps.textContent = state.fps.toFixed(1) + " fps";
    el.statRtt.textContent = Math.round(state.rtt) + " ms";
    el.statServer.textContent = meta && meta.timings_ms ? Math.round(meta.timings_ms.server) + " ms" : "–";
    el.statCount.textContent = String(state.results);
    el.root.dataset.fps = state.fps.toFixed(1);
    el.root.dataset.rtt = String(Math.round(state.rtt));
  }

  // -- camera mode ------------------------------------------------------------------------------------
  async function startCamera() {
    state.fatal = false;
    el.dropzone.hidden = true;
    el.changePhoto.hidden = true;
    el.result.classList.add("tx-mirror");
    setStage("starting");
    setMessage(T.askCamera, "busy");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStage("error");
      setMessage(T.cameraInsecure, "error", usePhotoAction());
      return;
    }
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" }, audio: false
      });
    } catch (err) {
      var name = err && err.name;
      var text = name === "NotAllowedError" || name === "SecurityError" ? T.cameraDenied
        : name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError" ? T.cameraMissing
          : name === "NotReadableError" || name === "TrackStartError" ? T.cameraBusy : T.cameraFailed;
      state.lastError = name || "camera";
      setStage("error");
      setMessage(text, "error", usePhotoAction());
      return;
    }
    if (state.mode !== "camera") { stopCamera(); return; }
    el.video.srcObject = state.stream;
    try { await el.video.play(); } catch (e) { /* autoplay of a muted inline video is allowed */ }
    if (forcedEngine !== "server" && cfg.browser && cfg.browser.enabled) startBrowser();
    else useServer(null);
  }

  // -- browser mode (on-device) -----------------------------------------------------------------------
  function showEngineNote(text) {
    el.engineNote.textContent = text;
    el.engineNote.hidden = false;
  }

  function useServer(reason, text) {
    state.engine = "server";
    state.engineReason = reason;
    el.root.dataset.engine = "server";
    if (reason) el.root.dataset.fallback = reason;
    showEngineNote(text || T.onServer);
    connect();
  }

  function serverAction() {
    return { label: T.useServer, run: function () { setMessage(T.connecting, "busy"); useServer("chosen", T.onServer); } };
  }

  async function startBrowser() {
    setMessage(T.loadingEngine, "busy");
    state.engine = "browser";
    el.root.dataset.engine = "browser";
    var mod;
    try {
      mod = await import(cfg.browser.moduleUrl);
    } catch (err) {
      state.lastError = "module";
      if (state.mode === "camera" && state.stream) useServer("unsupported", T.fallbackUnsupported);
      return;
    }
    var missing = mod.support();
    if (missing) {
      state.lastError = missing;
      useServer("unsupported", T.fallbackUnsupported);
      return;
    }
    try {
      var engine = await mod.start({
        cfg: cfg, video: el.video, stage: el.stage, look: state.look,
        label: fmt(T.youWearing, { name: (byId[state.look.frame] || {}).name || "" }),
        onFrame: onBrowserFrame, onResize: fitStage,
        onError: function (err) { state.lastError = String(err && err.message || err); }
      });
      if (state.mode !== "camera" || !state.stream || state.engine !== "browser") { engine.stop(); return; }
      state.browser = engine;
      window.tryon.engineState = engine.state;
      state.look = engine.state.look || state.look;
      renderPanel();
      el.result.hidden = true;
      showEngineNote(T.onDevice);
      setStage("live");
      if (!engine.state.frames) setMessage(T.loadingFrame, "busy");
    } catch (err) {
      state.lastError = (err && err.code) || "engine";
      state.engineError = String(err && err.message || err);
      if (state.mode !== "camera" || !state.stream) return;
      if (err && (err.code === "model_hash" || err.code === "model_missing")) {
        // said plainly, and the shopper chooses the way on (the server checks its own copy)
        el.root.dataset.engine = "error";
        setStage("error");
        setMessage(err.code === "model_hash" ? T.modelHash : T.modelMissing, "error", serverAction());
        return;
      }
      useServer("failed", T.fallbackFailed);
    }
  }

  // Size advice on the device: the pixel positions of the 478 landmarks of the first FIT_FRAMES frames
  // with a face (int16, 1/8 px; about 1.9 KB a frame, no picture) go to the server's measurement once.
  var FIT_FRAMES = 16;
  var FIT_LANDMARKS = 478;
  function collectFit(st) {
    if (!st.faceFound || !st.landmarks || state.fitFrames.length >= FIT_FRAMES) return;
    var a = new Int16Array(FIT_LANDMARKS * 2);
    for (var i = 0; i < FIT_LANDMARKS; i++) {
      a[2 * i] = Math.round(st.landmarks[i].x * st.width * 8);
      a[2 * i + 1] = Math.round(st.landmarks[i].y * st.height * 8);
    }
    state.fitFrames.push(a);
    state.fitSize = [st.width, st.height];
    var p = Math.min(99, Math.round(100 * state.fitFrames.length / FIT_FRAMES));
    var text = fmt(T.measuring, { p: p });
    state.fitStatus = { state: "measuring", progress: p, text_en: text, text_it: text };
    showFit(state.fitStatus);
    if (state.fitFrames.length === FIT_FRAMES) postFit();
  }

  async function postFit() {
    if (!cfg.browser.fitUrl || state.fitFrames.length < FIT_FRAMES) return;
    var params = new URLSearchParams(state.look);
    params.set("width", String(state.fitSize[0]));
    params.set("height", String(state.fitSize[1]));
    try {
      var res = await fetch(cfg.browser.fitUrl + "?" + params, {
        method: "POST", credentials: "same-origin", body: new Blob(state.fitFrames),
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/octet-stream", "Accept": "application/json" }
      });
      var data = await res.json().catch(function () { return {}; });
      if (res.ok && state.browser) { state.fitStatus = data; showFit(data); }
      else if (!res.ok) state.lastError = data.error || "fit";
    } catch (err) {
      state.lastError = "fit";
    }
  }

  function onBrowserFrame(st) {
    var now = performance.now();
    collectFit(st);
    state.results = st.frames;
    state.fps = st.fps;
    state.rtt = st.trackMs + st.renderMs;
    if (!state.browserShown && state.browser) {
      state.browserShown = true;
      setMessage(null);
      el.snapshot.disabled = false;
      el.save.disabled = false;
    }
    if (!st.faceFound) {
      if (state.noFaceSince === null) state.noFaceSince = now;
      el.faceHint.textContent = T.noFace;
      el.faceHint.hidden = now - state.noFaceSince < NO_FACE_HINT_MS;
    } else {
      state.noFaceSince = null;
      el.faceHint.hidden = true;
    }
    el.root.dataset.faceFound = st.faceFound ? "yes" : "no";
    // the same per-frame summary as a server result's JSON (state.lastMeta), for the status lines
    state.lastMeta = { face_found: st.faceFound, fit: state.fitStatus || null, engine: "browser" };
    el.hudFps.textContent = st.fps.toFixed(1) + " fps";
    el.hudRtt.textContent = Math.round(state.rtt) + " ms";
    el.statFps.textContent = st.fps.toFixed(1) + " fps";
    el.statRtt.textContent = Math.round(state.rtt) + " ms";
    el.statServer.textContent = "0 ms";
    el.statCount.textContent = String(st.frames);
    el.root.dataset.fps = st.fps.toFixed(1);
    el.root.dataset.rtt = String(Math.round(state.rtt));
    announceStatus(state.lastMeta);
  }

  function stopCamera() {
    if (state.browser) {
      state.browser.stop();
      state.browser = null;
    }
    state.browserShown = false;
    state.fitFrames = [];
    state.fitStatus = null;
    state.engine = null;
    if (state.ws) {
      var ws = state.ws;
      state.ws = null;
      ws.onclose = null;
      ws.close();
    }
    if (state.stream) {
      state.stream.getTracks().forEach(function (t) { t.stop(); });
      state.stream = null;
    }
    el.video.srcObject = null;
    state.ready = false;
    state.inFlight = false;
  }

  function connect() {
    setMessage(T.connecting, "busy");
    var params = new URLSearchParams(state.look);
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + cfg.urls.ws + "?" + params;
    var ws = new WebSocket(url);
    ws.binaryType = "blob";
    state.ws = ws;
    ws.onmessage = function (ev) {
      if (typeof ev.data === "string") onText(JSON.parse(ev.data));
      else onBinary(ev.data);
    };
    ws.onclose = function () {
      if (state.ws !== ws) return;
      state.ws = null;
      state.ready = false;
      state.inFlight = false;
      if (state.fatal || state.mode !== "camera") return;
      setMessage(T.connectionLost, "busy");
      if (state.reconnectDelay > 8000) {
        setMessage(T.connectionFailed, "error", usePhotoAction());
        return;
      }
      setTimeout(function () { if (state.mode === "camera" && !state.ws) connect(); }, state.reconnectDelay);
      state.reconnectDelay *= 2;
    };
  }

  function onText(msg) {
    if (msg.type === "ready") {
      state.ready = true;
      state.reconnectDelay = 500;
      state.look = msg.look;
      renderPanel();
      setMessage(T.loadingFrame, "busy");
      setStage("live");
      sendFrame();
    } else if (msg.type === "look") {
      state.look = msg.look;
      renderPanel();
    } else if (msg.type === "result") {
      state.pendingMeta = msg;
    } else if (msg.type === "error") {
      state.lastError = msg.error;
      if (msg.fatal) {
        state.fatal = true;
        setStage("error");
        var text = msg.error === "busy" ? T.busy : msg.error === "idle" ? T.idle : T.engineFailed;
        setMessage(text + (msg.error === "busy" || msg.error === "idle" ? "" : " (" + msg.message + ")"), "error",
          usePhotoAction());
        return;
      }
      if (msg.look) { state.look = msg.look; renderPanel(); }
      if (msg.seq !== undefined) {
        state.frameErrors += 1;
        state.inFlight = false;
        setTimeout(sendFrame, 100);
      }
    }
  }

  function onBinary(blob) {
    var now = performance.now();
    state.rtt = now - state.sentAt;
    state.inFlight = false;
    state.results += 1;
    var meta = state.pendingMeta;
    state.pendingMeta = null;
    state.lastPair = { sent: state.pendingSent, result: blob, meta: meta };
    showResult(blob, meta);
    if (state.results === 1) setMessage(null);
    updateStats(meta);
    requestAnimationFrame(sendFrame);
  }

  function sendFrame() {
    var ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.ready || state.inFlight || state.mode !== "camera") return;
    if (document.hidden) return; // resumed by visibilitychange
    var v = el.video;
    if (v.readyState < 2 || !v.videoWidth) { setTimeout(sendFrame, 50); return; }
    var scale = Math.min(1, MAX_SEND_WIDTH / v.videoWidth);
    var w = Math.round(v.videoWidth * scale), h = Math.round(v.videoHeight * scale);
    var c = el.capture;
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    c.getContext("2d").drawImage(v, 0, 0, w, h);
    state.inFlight = true;
    c.toBlob(function (blob) {
      if (!blob || state.ws !== ws || ws.readyState !== WebSocket.OPEN) { state.inFlight = false; return; }
      state.pendingSent = blob;
      state.sentAt = performance.now();
      ws.send(blob);
      state.sent += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.sent - state.results - state.frameErrors);
    }, "image/jpeg", 0.8);
  }

  document.addEventListener("visibilitychange", function () {
    if (state.browser) {
      // on-device tracking pauses with the tab and starts again (filters reset) when it is shown
      if (document.hidden) { state.browser.pause(); el.root.dataset.paused = "yes"; setMessage(T.paused, "info"); }
      else { state.browser.resume(); el.root.dataset.paused = "no"; setMessage(null); }
      return;
    }
    if (document.hidden) return;
    if (state.mode === "camera" && !state.ws && state.stream && state.lastError === "idle") {
      // the server closed the socket while the tab was in the background: start again quietly
      state.fatal = false;
      state.lastError = null;
      connect();
    } else {
      sendFrame();
    }
  });

  // -- photo mode -----------------------------------------------------------------------------------
  function startPhoto() {
    el.result.classList.remove("tx-mirror");
    el.faceHint.hidden = true;
    if (state.photo) {
      el.changePhoto.hidden = false;
      runPhoto();
    } else {
      el.result.hidden = true;
      el.stage.style.aspectRatio = "";
      el.stage.dataset.aspect = "";
      el.dropzone.hidden = false;
      el.snapshot.disabled = true;
      el.save.disabled = true;
      setStage("photo");
      setMessage(null);
    }
  }

  async function preparePhoto(file) {
    // Scale big phone photos down in the browser (faster upload, same result); anything the browser
    // cannot decode goes to the server as it is, which explains what is wrong with it.
    try {
      var bitmap = await createImageBitmap(file);
      var side = Math.max(bitmap.width, bitmap.height);
      var ok = ["image/jpeg", "image/png", "image/webp"].indexOf(file.type) >= 0;
      if (side <= MAX_PHOTO_SIDE && ok) { bitmap.close(); return file; }
      var scale = Math.min(1, MAX_PHOTO_SIDE / side);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      return await new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.92); }) || file;
    } catch (e) {
      return file;
    }
  }

  async function handlePhoto(file) {
    if (!file) return;
    state.photo = await preparePhoto(file);
    el.dropzone.hidden = true;
    el.changePhoto.hidden = false;
    runPhoto();
  }

  function base64ToBlob(b64, type) {
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type: type });
  }

  async function runPhoto() {
    if (!state.photo || state.mode !== "photo") return;
    if (state.photoBusy) { state.photoAgain = true; return; }
    state.photoBusy = true;
    setStage("processing");
    setMessage(T.processing, "busy");
    var params = new URLSearchParams(state.look);
    params.set("format", "json");
    var started = performance.now();
    try {
      var type = state.photo.type || "application/octet-stream";
      var res = await fetch(cfg.urls.api + "?" + params, {
        method: "POST", body: state.photo, headers: { "Content-Type": type, "Accept": "application/json" }
      });
      var data = await res.json().catch(function () { return {}; });
      if (!res.ok) {
        state.lastError = data.error || String(res.status);
        var text = res.status === 413 ? T.uploadTooLarge : T.uploadFailed;
        setStage("error");
        setMessage(text + (data.message ? " " + data.message : ""), "error",
          { label: el.changePhoto.textContent.trim(), run: choosePhoto });
        return;
      }
      state.rtt = performance.now() - started;
      state.results += 1;
      state.look = data.look;
      renderPanel();
      setMessage(null);
      setStage("photo-result");
      showResult(base64ToBlob(data.image, data.content_type || "image/jpeg"), data);
      updateStats(data);
    } catch (err) {
      state.lastError = "network";
      setStage("error");
      setMessage(T.uploadFailed, "error");
    } finally {
      state.photoBusy = false;
      if (state.photoAgain) { state.photoAgain = false; runPhoto(); }
    }
  }

  function choosePhoto() { el.photoInput.click(); }

  el.photoInput.addEventListener("change", function () {
    if (el.photoInput.files && el.photoInput.files[0]) handlePhoto(el.photoInput.files[0]);
    el.photoInput.value = "";
  });
  el.changePhoto.addEventListener("click", choosePhoto);
  el.stage.addEventListener("dragover", function (ev) {
    if (state.mode === "photo") { ev.preventDefault(); el.stage.classList.add("tx-dragging"); }
  });
  el.stage.addEventListener("dragleave", function () { el.stage.classList.remove("tx-dragging"); });
  el.stage.addEventListener("drop", function (ev) {
    el.stage.classList.remove("tx-dragging");
    if (state.mode !== "photo") return;
    ev.preventDefault();
    var file = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (file) handlePhoto(file);
  });

  // -- snapshots and favourites -----------------------------------------------------------------------
  el.snapshot.addEventListener("click", function () {
    if (state.browser) {
      // on-device: the still exists only now, because the shopper asked for it
      var look = Object.assign({}, state.look);
      state.browser.snapshot().then(function (blob) {
        if (!blob) return;
        state.lastResultBlob = blob;
        state.lastResultLook = look;
        addSnapshot();
      });
      return;
    }
    addSnapshot();
  });

  function addSnapshot() {
    if (!state.lastResultBlob) return;
    state.snapshotCount += 1;
    var blob = state.lastResultBlob;
    state.snapshot = { blob: blob, look: Object.assign({}, state.lastResultLook) };
    var url = URL.createObjectURL(blob);
    var li = document.createElement("li");
    li.className = "tx-snapshot";
    var img = document.createElement("img");
    img.src = url;
    img.alt = T.snapshotAlt + " " + state.snapshotCount;
    var frame = byId[state.snapshot.look.frame];
    var caption = document.createElement("span");
    caption.className = "tx-snapshot-caption";
    caption.textContent = frame ? frame.name : "";
    var a = document.createElement("a");
    a.href = url;
    a.download = "tryon-" + state.snapshot.look.frame + "-" + state.snapshotCount + ".jpg";
    a.textContent = T.download;
    a.className = "tx-snapshot-download";
    li.append(img, caption, a);
    el.snapshots.prepend(li);
    el.snapshotsWrap.hidden = false;
    el.stage.classList.remove("tx-flash");
    void el.stage.offsetWidth; // restart the flash animation
    el.stage.classList.add("tx-flash");
  }

  function sameLook(a, b) {
    return a && b && a.frame === b.frame && a.size === b.size && a.colour === b.colour && a.lens === b.lens;
  }

  function setSaveStatus(text, link) {
    el.saveStatus.replaceChildren();
    el.saveStatus.append(document.createTextNode(text + " "));
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.label;
      el.saveStatus.append(a);
    }
  }

  el.save.addEventListener("click", async function () {
    var look = Object.assign({}, state.look);
    var fd = new FormData();
    fd.append("frame_id", look.frame);
    fd.append("size", look.size);
    fd.append("colour", look.colour);
    fd.append("lens", look.lens);
    var snap = state.snapshot && sameLook(state.snapshot.look, look) ? state.snapshot.blob
      : (sameLook(state.lastResultLook, look) ? state.lastResultBlob : null);
    if (snap) fd.append("snapshot", snap, "snapshot.jpg");
    el.save.disabled = true;
    try {
      var res = await fetch(cfg.urls.favourites, {
        method: "POST", body: fd, credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
      });
      var data = await res.json().catch(function () { return {}; });
      if (res.status === 401 || res.status === 403 && !cfg.signedIn) {
        setSaveStatus(T.signInToSave + ".", cfg.urls.login ? { href: cfg.urls.login, label: "→" } : null);
        el.root.dataset.saved = "login";
      } else if (!res.ok) {
        setSaveStatus(T.saveFailed + (data.message ? " " + data.message : ""));
        el.root.dataset.saved = "error";
      } else {
        var compare = document.getElementById("link-compare");
        setSaveStatus(data.message || T.saved, compare ? { href: compare.href, label: T.savedCompare } : null);
        el.root.dataset.saved = String((Number(el.root.dataset.savedCount) || 0) + 1);
        el.root.dataset.savedCount = el.root.dataset.saved;
      }
    } catch (err) {
      setSaveStatus(T.saveFailed);
    } finally {
      el.save.disabled = false;
    }
  });

  // -- modes ---------------------------------------------------------------------------------------------
  function setMode(mode) {
    if (mode !== "camera" && mode !== "photo") return;
    var changed = mode !== state.mode;
    state.mode = mode;
    el.root.dataset.mode = mode;
    el.tabCamera.setAttribute("aria-selected", String(mode === "camera"));
    el.tabPhoto.setAttribute("aria-selected", String(mode === "photo"));
    updateUrl();
    if (mode === "camera") {
      if (changed || !state.stream) { stopCamera(); state.resultTimes = []; startCamera(); }
    } else {
      stopCamera();
      state.resultTimes = [];
      startPhoto();
    }
  }
  el.tabCamera.addEventListener("click", function () { setMode("camera"); });
  el.tabPhoto.addEventListener("click", function () { setMode("photo"); });
  window.addEventListener("pagehide", stopCamera);

  renderPanel();
  if (state.mode === "photo") startPhoto(); else startCamera();
})();
