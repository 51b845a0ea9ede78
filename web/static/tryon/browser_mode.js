/*
 * The on-device try-on (browser mode): MediaPipe's Face Landmarker (tasks-vision, WASM) tracks the
 * face and three.js draws the frame over the camera picture, all in this tab; no camera frame leaves
 * the device.
 *
 * One source of truth with the Python core: the frame arrives as glTF (/api/frames/<id>/model.glb),
 * and every placement number (frame space -> canonical face, eye centring, PD, One Euro parameters,
 * temple fade, light-estimate constants, head occluder) as JSON (/api/placement.json and
 * /api/frames/<id>/placement.json). Tracking runs in requestVideoFrameCallback, once per new camera
 * frame, so the page's own events are never blocked for longer than one frame's work.
 *
 * The glasses are lit as the core lights them: the light estimated from the face, an environment taken
 * from the camera frame itself that metals and lenses reflect, lenses that filter the skin behind them
 * under a Fresnel sheen the anti-reflective option cuts (reflections.js), temples that fade out, and a
 * soft contact shadow under the rims (contact_shadow.js).
 *
 * start(options) resolves to an engine, or rejects with an Error whose `code` says what went wrong:
 * "unsupported" (no WebGL2 / WebAssembly), "model_missing", "model_hash", "engine" (anything else).
 */
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { PoseSmoother } from "./one_euro.js";
import { CameraEnvironment, lensMaterial } from "./reflections.js";
import { ContactShadow } from "./contact_shadow.js";
import {
  anchorsPx, estimateLighting, EyeFitHold, eyeFit, intrinsics, matrixFromRows, modelMatrix, neutralLighting, project
} from "./placement.js";

var LIGHT_EVERY_FRAMES = 3;   // the light estimate reads pixels back: every 3rd frame is plenty
var FPS_WINDOW = 30;          // frames in the page's frame-rate figure

function failure(code, message) {
  var err = new Error(message);
  err.code = code;
  return err;
}

/** Whether this browser can run the on-device mode; else the reason ("webgl2" or "wasm"). */
export function support() {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") return "wasm";
  try {
    var c = document.createElement("canvas");
    if (typeof WebGL2RenderingContext === "undefined" || !c.getContext("webgl2")) return "webgl2";
  } catch (e) {
    return "webgl2";
  }
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return "rvfc";
  return null;
}

async function fetchOk(url, what) {
  var res;
  try { res = await fetch(url, { credentials: "same-origin" }); } catch (e) {
    throw failure(what === "model" ? "model_missing" : "engine", url + ": " + e.message);
  }
  if (!res.ok) throw failure(what === "model" ? "model_missing" : "engine", url + ": HTTP " + res.status);
  return res;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer)).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
}

/** The face model's bytes, checked against the SHA-256 the server put in the page config. */
async function loadFaceModel(browserCfg) {
  var buf = await (await fetchOk(browserCfg.faceModelUrl, "model")).arrayBuffer();
  if (!crypto.subtle) throw failure("model_hash", "Web Crypto is unavailable: cannot check the model file");
  var digest = hex(await crypto.subtle.digest("SHA-256", buf));
  if (digest !== browserCfg.faceModelSha256) {
    throw failure("model_hash", "face model SHA-256 " + digest + " is not " + browserCfg.faceModelSha256);
  }
  return new Uint8Array(buf);
}

/** Whether WebGL runs on a software rasteriser (SwiftShader, llvmpipe): then the CPU delegate is faster. */
function softwareGL() {
  try {
    var gl = document.createElement("canvas").getContext("webgl2");
    var info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    var name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    return /swiftshader|llvmpipe|software/i.test(name);
  } catch (e) {
    return false;
  }
}

async function createLandmarker(vision, fileset, model, mode) {
  var errors = [];
  var order = softwareGL() ? ["CPU", "GPU"] : ["GPU", "CPU"];
  for (var delegate of order) {
    try {
      var lm = await vision.FaceLandmarker.createFromOptions(fileset, {
        baseOptions: { modelAssetBuffer: model, delegate: delegate },
        runningMode: mode,
        numFaces: 1,
        outputFacialTransformationMatrixes: true
      });
      return { landmarker: lm, delegate: delegate };
    } catch (e) {
      errors.push(delegate + ": " + (e && e.message || e));
    }
  }
  throw failure("engine", "the Face Landmarker could not start (" + errors.join("; ") + ")");
}

/** The facial transformation matrix as a three Matrix4 (MediaPipe gives it column-major). */
function poseMatrix(m) {
  return new THREE.Matrix4().fromArray(m.data);
}

function bboxOf(landmarks, w, h) {
  var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (var i = 0; i < landmarks.length; i++) {
    var x = landmarks[i].x * w, y = landmarks[i].y * h;
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  x0 = Math.max(Math.floor(x0), 0); y0 = Math.max(Math.floor(y0), 0);
  x1 = Math.min(Math.ceil(x1), w); y1 = Math.min(Math.ceil(y1), h);
  return [x0, y0, Math.max(x1 - x0, 0), Math.max(y1 - y0, 0)];
}

function occluderMesh(spec) {
  var g = new THREE.BufferGeometry();
  g.setAttribute("position", new THREE.Float32BufferAttribute([].concat.apply([], spec.occluder.vertices), 3));
  g.setIndex([].concat.apply([], spec.occluder.faces));
  var mat = new THREE.MeshBasicMaterial({ colorWrite: false, side: THREE.DoubleSide });
  var mesh = new THREE.Mesh(g, mat);
  mesh.name = "head-occluder";
  mesh.renderOrder = -1;   // drawn first: fills the depth buffer only
  mesh.matrixAutoUpdate = false;
  mesh.frustumCulled = false;
  return mesh;
}

/** Per-vertex coverage: temples fade out along frame-space depth (tryon.render.materials.temple_fade). */
function templeFade(spec, zMm) {
  var s = spec.temple_fade.start_mm, e = spec.temple_fade.end_mm;
  var t = Math.min(1, Math.max(0, (zMm - e) / (s - e)));
  return t * t * (3 - 2 * t);
}

function prepareGlasses(spec, frame, gltf, environment, ambient) {
  var roles = (gltf.scene.userData && gltf.scene.userData.roles) || {};
  var lens = frame.lens;
  var lensYs = [];
  gltf.scene.traverse(function (o) {
    if (o.isMesh && roles[o.name] === "lens") {
      var p = o.geometry.attributes.position;
      for (var i = 0; i < p.count; i++) lensYs.push(p.getY(i));
    }
  });
  var yMin = Math.min.apply(null, lensYs), ySpan = Math.max(Math.max.apply(null, lensYs) - yMin, 1e-9);
  gltf.scene.traverse(function (o) {
    if (!o.isMesh) return;
    var p = o.geometry.attributes.position;
    var colours = new Float32Array(p.count * 4);
    var opacity = new Float32Array(p.count);
    var faded = false;
    for (var i = 0; i < p.count; i++) {
      var a;
      if (roles[o.name] === "lens") {
        var v = (p.getY(i) - yMin) / ySpan;   // 0 at the lenses' bottom edge, 1 at the top
        a = lens.opacity_bottom + (lens.opacity_top - lens.opacity_bottom) * v;
      } else {
        a = templeFade(spec, p.getZ(i) * 1000.0);
        if (a < 1) faded = true;
      }
      colours.set([1, 1, 1, a], i * 4);
      opacity[i] = a;
    }
    o.frustumCulled = false;
    if (roles[o.name] === "lens") {
      o.geometry.setAttribute("lensOpacity", new THREE.BufferAttribute(opacity, 1));
      o.material.dispose();
      o.material = lensMaterial(spec, lens, environment, ambient);
      o.renderOrder = 2;   // transparent lenses last
      return;
    }
    o.material = o.material.clone();   // the loader shares one material between parts
    if (faded) {
      o.geometry.setAttribute("color", new THREE.BufferAttribute(colours, 4));
      o.material.vertexColors = true;
      o.material.transparent = true;
    }
    o.renderOrder = 1;
    o.material.side = THREE.DoubleSide;
    environment.patch(o.material);   // sets needsUpdate
  });
  var group = new THREE.Group();
  group.add(gltf.scene);
  group.matrixAutoUpdate = false;
  return group;
}

/**
 * Start the on-device try-on.
 * options: { cfg (page config), video (playing <video>), stage (element that gets the canvas),
 *            look {frame, size, colour, lens}, onFrame(info), onStatus(code) }
 */
export async function start(options) {
  var reason = support();
  if (reason) throw failure("unsupported", reason);
  var bcfg = options.cfg.browser;
  var vendor = bcfg.vendorUrl;
  var results = await Promise.all([
    import(vendor + "@mediapipe/tasks-vision/vision_bundle.mjs"),
    loadFaceModel(bcfg),
    fetchOk(bcfg.placementUrl, "spec").then(function (r) { return r.json(); })
  ]);
  var vision = results[0], model = results[1], spec = results[2];
  if (spec.version !== 1) throw failure("engine", "placement spec version " + spec.version + " is not 1");
  var fileset = await vision.FilesetResolver.forVisionTasks(vendor + "@mediapipe/tasks-vision/wasm");
  var made = await createLandmarker(vision, fileset, model, "VIDEO");
  var engine = new Engine(options, spec, vision, fileset, model, made);
  await engine.setLook(options.look);
  engine.run();
  return engine;
}

class Engine {
  constructor(options, spec, vision, fileset, model, made) {
    this.options = options;
    this.spec = spec;
    this.vision = vision;
    this.fileset = fileset;
    this.model = model;
    this.landmarker = made.landmarker;
    this.video = options.video;
    this.canvas = document.createElement("canvas");
    this.canvas.id = "live-canvas";
    this.canvas.className = "tx-result tx-mirror tx-live-canvas";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", options.label || "");
    options.stage.insertBefore(this.canvas, options.stage.firstChild);
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: true });
    this.renderer.outputColorSpace = THREE.SRGBColorSpace;
    this.scene = new THREE.Scene();
    this.background = null;   // made once the camera's size is known
    // what metals and lenses reflect: the camera frame, as the core takes it (reflections.js)
    this.environment = new CameraEnvironment(spec);
    this.ambientUniform = { value: new THREE.Vector3() };
    this.reflections = options.reflections !== false;   // false: a uniform room (benchmarks' control)
    this.shadow = new ContactShadow(spec);
    this.contactShadow = options.contactShadow !== false;   // false: none (benchmarks' control)
    this.scene.add(this.shadow.mesh);
    this.ambient = new THREE.AmbientLight(0xffffff, 1);
    this.key = new THREE.DirectionalLight(0xffffff, 1);
    this.scene.add(this.ambient, this.key, this.key.target);
    this.occluder = occluderMesh(spec);
    this.scene.add(this.occluder);
    this.glasses = null;
    this.camera = new THREE.PerspectiveCamera(spec.camera.vertical_fov_deg, 4 / 3, spec.camera.z_near_cm,
      spec.camera.z_far_cm);
    this.smoother = new PoseSmoother(spec.one_euro);
    this.fitHold = new EyeFitHold(spec.eye_fit.fit_frames);
    this.lightCanvas = document.createElement("canvas");
    this.lightCtx = this.lightCanvas.getContext("2d", { willReadFrequently: true });
    this.lighting = neutralLighting(spec);
    this.applyLighting();
    this.lastTs = -1;
    this.running = false;
    this.paused = false;
    this.captureWaiters = [];
    this.frameTimes = [];
    this.state = {
      delegate: made.delegate, frames: 0, faces: 0, fps: 0, trackMs: 0, renderMs: 0, anchors: null,
      faceFound: false, width: 0, height: 0, look: null, landmarks: null, lighting: this.lighting,
      // running sums since the start, for benchmarks (differences over a window give means)
      totals: { frames: 0, trackMs: 0, renderMs: 0, lightMs: 0, lightUpdates: 0 }
    };
  }

  async setLook(look) {
    var q = new URLSearchParams({ size: look.size || "", colour: look.colour || "", lens: look.lens || "" });
    var base = this.options.cfg.browser.frameUrl + encodeURIComponent(look.frame);
    var loaded = await Promise.all([
      fetchOk(base + "/placement.json?" + q, "frame").then(function (r) { return r.json(); }),
      new GLTFLoader().loadAsync(base + "/model.glb?" + q)
    ]);
    var frame = loaded[0];
    var glasses = prepareGlasses(this.spec, frame, loaded[1], this.environment, this.ambientUniform);
    if (this.glasses) {
      this.scene.remove(this.glasses);
      this.glasses.traverse(function (o) { if (o.isMesh) { o.geometry.dispose(); o.material.dispose(); } });
    }
    this.frame = frame;
    this.glasses = glasses;
    this.glasses.visible = false;
    this.scene.add(glasses);
    this.state.look = frame.look;
    return frame.look;
  }

  applyLighting() {
    var l = this.lighting;
    var amax = Math.max(l.ambient[0], l.ambient[1], l.ambient[2], 1e-6);
    this.ambient.color.setRGB(l.ambient[0] / amax, l.ambient[1] / amax, l.ambient[2] / amax, THREE.LinearSRGBColorSpace);
    this.ambient.intensity = amax * Math.PI;
    this.key.color.setRGB(l.keyColor[0], l.keyColor[1], l.keyColor[2], THREE.LinearSRGBColorSpace);
    this.key.intensity = l.keyIntensity;
    // the light travels along keyDirection: it sits on the opposite side of the target
    this.key.position.set(-l.keyDirection[0] * 100, -l.keyDirection[1] * 100, -l.keyDirection[2] * 100);
    this.key.target.position.set(0, 0, 0);
    this.ambientUniform.value.set(l.ambient[0], l.ambient[1], l.ambient[2]);
    this.environment.update(this.reflections ? l.environment : null, l.ambient, this.spec.lighting.ambient_share);
  }

  /** The glasses' box on the canvas, [x0, y0, x1, y1] pixels (y down): their 3D bounds projected. */
  screenBox(k) {
    this.glasses.updateMatrixWorld(true);
    var box = new THREE.Box3().setFromObject(this.glasses);
    var out = [Infinity, Infinity, -Infinity, -Infinity];
    for (var i = 0; i < 8; i++) {
      var p = new THREE.Vector3(i & 1 ? box.max.x : box.min.x, i & 2 ? box.max.y : box.min.y, i & 4 ? box.max.z : box.min.z);
      var uv = project(p, k);
      out = [Math.min(out[0], uv[0]), Math.min(out[1], uv[1]), Math.max(out[2], uv[0]), Math.max(out[3], uv[1])];
    }
    return out;
  }

  run() {
    if (this.running) return;
    this.running = true;
    var self = this;
    var tick = function (now, meta) {
      if (!self.running) return;
      self.handle = self.video.requestVideoFrameCallback(tick);
      if (self.paused) return;
      try {
        self.step(now, meta);
      } catch (e) {
        self.state.error = String(e && e.message || e);
        if (self.options.onError) self.options.onError(e);
      }
    };
    this.handle = this.video.requestVideoFrameCallback(tick);
  }

  pause() { this.paused = true; }

  resume() {
    this.paused = false;
    this.smoother.reset();   // a jump in time: start the filter again
    this.frameTimes = [];
  }

  step(now) {
    var v = this.video, w = v.videoWidth, h = v.videoHeight;
    if (!w || !h) return;
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.renderer.setSize(w, h, false);
      this.camera.aspect = w / h;
      this.camera.updateProjectionMatrix();
      this.lightCanvas.width = w;
      this.lightCanvas.height = h;
      if (this.background) this.background.dispose();
      // one copy of the camera frame per step: tracked, lit and drawn from the very same picture
      this.background = new THREE.CanvasTexture(this.lightCanvas);
      this.background.colorSpace = THREE.SRGBColorSpace;
      this.background.minFilter = THREE.LinearFilter;
      this.background.magFilter = THREE.LinearFilter;
      this.background.generateMipmaps = false;
      this.scene.background = this.background;
      this.state.width = w;
      this.state.height = h;
      if (this.options.onResize) this.options.onResize(w, h);
    }
    var ts = Math.max(now, this.lastTs + 1);
    this.lastTs = ts;
    var t0 = performance.now();
    this.lightCtx.drawImage(v, 0, 0, w, h);
    var tCopy = performance.now();
    var result = this.landmarker.detectForVideo(this.lightCanvas, ts);
    var t1 = performance.now();
    var found = result.faceLandmarks && result.faceLandmarks.length > 0;
    var k = intrinsics(this.spec, w, h);
    if (found) {
      var lm = result.faceLandmarks[0];
      var raw = poseMatrix(result.facialTransformationMatrixes[0]);
      var pose = this.smoother.filter(raw, ts);
      var fit = this.fitHold.held;
      if (!fit) {
        var ir = this.spec.eye_fit.iris_landmarks;
        var iris = [[lm[ir.right].x * w, lm[ir.right].y * h], [lm[ir.left].x * w, lm[ir.left].y * h]];
        fit = this.fitHold.add(eyeFit(this.spec, iris, raw, k, this.frame.lens_plane_z_cm));
      }
      // drawn set back along the view, as the core draws it: setback · pose
      this.occluder.matrix.makeTranslation(0, 0, -this.spec.occluder.setback_cm).multiply(pose);
      this.glasses.matrix.copy(modelMatrix(this.spec, pose, fit)).multiply(new THREE.Matrix4().makeScale(1000, 1000, 1000));
      this.glasses.visible = true;
      this.occluder.visible = true;
      if (this.state.frames % LIGHT_EVERY_FRAMES === 0) {
        var tLight = performance.now();
        var bbox = bboxOf(lm, w, h);
        var image = this.lightCtx.getImageData(0, 0, w, h);
        this.lighting = estimateLighting(this.spec, image, bbox, this.reflections);
        this.state.lighting = this.lighting;
        this.applyLighting();
        this.state.lightMs = performance.now() - tLight;
        this.state.totals.lightMs += this.state.lightMs;
        this.state.totals.lightUpdates += 1;
      }
      if (this.contactShadow) {
        this.shadow.update(this.renderer, this.scene, this.camera, this.glasses, this.screenBox(k));
      } else {
        this.shadow.hide();
      }
      this.state.anchors = anchorsPx(this.spec, this.frame, pose, fit, k);
      this.state.fit = fit;
      this.state.faces += 1;
      this.state.landmarks = lm;
    } else {
      this.smoother.reset();
      this.fitHold.reset();
      this.glasses.visible = false;
      this.occluder.visible = false;
      this.shadow.hide();
      this.state.anchors = null;
    }
    this.background.needsUpdate = true;
    this.renderer.render(this.scene, this.camera);
    var t2 = performance.now();
    this.state.faceFound = found;
    this.state.frames += 1;
    this.state.trackMs = t1 - t0;
    this.state.copyMs = tCopy - t0;
    this.state.renderMs = t2 - t1;
    this.state.totals.frames += 1;
    this.state.totals.trackMs += this.state.trackMs;
    this.state.totals.renderMs += this.state.renderMs;
    this.frameTimes.push(t2);
    if (this.frameTimes.length > FPS_WINDOW) this.frameTimes.shift();
    var n = this.frameTimes.length;
    this.state.fps = n > 1 ? (n - 1) * 1000 / (this.frameTimes[n - 1] - this.frameTimes[0]) : 0;
    var waiters = this.captureWaiters;
    if (waiters.length) {
      this.captureWaiters = [];
      var self = this;
      waiters.forEach(function (fn) { fn(self); });
    }
    if (this.options.onFrame) this.options.onFrame(this.state);
  }

  /** Calls fn(engine) right after the next rendered frame, while its picture is in the canvas. */
  afterNextFrame(fn) {
    var self = this;
    return new Promise(function (resolve, reject) {
      self.captureWaiters.push(function (e) {
        try { resolve(fn(e)); } catch (err) { reject(err); }
      });
    });
  }

  /** The current picture (camera + glasses) as a JPEG Blob; nothing is uploaded. */
  snapshot() {
    var self = this;
    return this.afterNextFrame(function () {
      var c = document.createElement("canvas");
      c.width = self.canvas.width; c.height = self.canvas.height;
      c.getContext("2d").drawImage(self.canvas, 0, 0);
      return new Promise(function (resolve) { c.toBlob(resolve, "image/jpeg", 0.9); });
    }).then(function (p) { return p; });
  }

  /** Test mode: the composited picture and the raw camera frame it was drawn on, as PNG data URLs. */
  capturePair() {
    var self = this;
    return this.afterNextFrame(function () {
      var raw = document.createElement("canvas");
      raw.width = self.canvas.width; raw.height = self.canvas.height;
      raw.getContext("2d").drawImage(self.lightCanvas, 0, 0);
      return { composite: self.canvas.toDataURL("image/png"), raw: raw.toDataURL("image/png"),
        anchors: self.state.anchors, frames: self.state.frames };
    });
  }

  /**
   * Test mode: the anchors for one still (IMAGE mode, no smoothing, the eye fit of that picture alone),
   * computed by the same placement code as the live view. url: an image URL.
   */
  async anchorsForImage(url) {
    if (!this.stillLandmarker) {
      this.stillLandmarker = (await createLandmarker(this.vision, this.fileset, this.model, "IMAGE")).landmarker;
    }
    var img = new Image();
    img.src = url;
    await img.decode();
    var w = img.naturalWidth, h = img.naturalHeight;
    var result = this.stillLandmarker.detect(img);
    if (!result.faceLandmarks || !result.faceLandmarks.length) return { faces: [] };
    var lm = result.faceLandmarks[0];
    var pose = poseMatrix(result.facialTransformationMatrixes[0]);
    var k = intrinsics(this.spec, w, h);
    var ir = this.spec.eye_fit.iris_landmarks;
    var iris = [[lm[ir.right].x * w, lm[ir.right].y * h], [lm[ir.left].x * w, lm[ir.left].y * h]];
    var fit = eyeFit(this.spec, iris, pose, k, this.frame.lens_plane_z_cm);
    return { faces: [{ anchors_px: anchorsPx(this.spec, this.frame, pose, fit, k), matrix: pose.toArray() }],
      width: w, height: h };
  }

  stop() {
    this.running = false;
    if (this.handle !== undefined && this.video.cancelVideoFrameCallback) this.video.cancelVideoFrameCallback(this.handle);
    try { this.landmarker.close(); } catch (e) { /* already closed */ }
    if (this.stillLandmarker) { try { this.stillLandmarker.close(); } catch (e) { /* closed */ } }
    this.environment.dispose();
    this.shadow.dispose();
    this.renderer.dispose();
    this.renderer.forceContextLoss();
    if (this.canvas.parentNode) this.canvas.parentNode.removeChild(this.canvas);
  }
}

export { matrixFromRows };
