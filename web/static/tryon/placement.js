/*
 * Placement of a frame on a tracked face, as the core does it (tryon/placement.py, tryon/pipeline.py),
 * and the core's light estimate (tryon/lighting.py), ported to the browser.
 *
 * Every number comes from the server's JSON: the core spec (/api/placement.json, see
 * tryon/placement_spec.py) and the frame's own (/api/frames/<id>/placement.json). Matrices from the
 * JSON are row-major nested lists; three's Matrix4.set takes row-major arguments.
 */
import { Matrix4, Vector3, Vector4 } from "three";

export function matrixFromRows(rows) {
  var m = new Matrix4();
  m.set.apply(m, [].concat.apply([], rows));
  return m;
}

/** Pinhole intrinsics matching MediaPipe's transformation matrix (tryon.render.camera.default_intrinsics). */
export function intrinsics(spec, width, height) {
  var f = (height / 2.0) / Math.tan((spec.camera.vertical_fov_deg * Math.PI / 180.0) / 2.0);
  return { fx: f, fy: f, cx: width / 2.0, cy: height / 2.0 };
}

/** OpenGL camera-space point (cm) -> pixel [u, v] (tryon.render.camera.project). */
export function project(p, k) {
  var z = Math.max(-p.z, 1e-6);
  return [k.cx + k.fx * p.x / z, k.cy - k.fy * p.y / z];
}

/**
 * Where this person's eyes are on the canonical face (tryon.placement.eye_fit): each iris centre is
 * cast from the camera onto the lens plane z = planeZ (face space); returns [offsetX, offsetY, pdMm].
 * irisPx: [[u, v] right (468), [u, v] left (473)]; pose: Matrix4 canonical face -> camera.
 */
export function eyeFit(spec, irisPx, pose, k, planeZ) {
  var e = pose.elements;  // column-major
  var r = function (row, col) { return e[col * 4 + row]; };
  var t = [e[12], e[13], e[14]];
  var normal = [r(0, 2), r(1, 2), r(2, 2)];
  var p0 = [r(0, 2) * planeZ + t[0], r(1, 2) * planeZ + t[1], r(2, 2) * planeZ + t[2]];
  var dot = function (a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; };
  var iris = spec.eye_fit.canonical_iris_cm;
  var points = [];
  for (var i = 0; i < 2; i++) {
    var ray = [(irisPx[i][0] - k.cx) / k.fx, -(irisPx[i][1] - k.cy) / k.fy, -1.0];
    var denom = dot(normal, ray);
    if (Math.abs(denom) < 1e-6) return [0, 0, spec.eye_fit.canonical_pd_mm];
    var s = dot(normal, p0) / denom;
    var d = [ray[0] * s - t[0], ray[1] * s - t[1], ray[2] * s - t[2]];
    // r.T @ d
    points.push([
      r(0, 0) * d[0] + r(1, 0) * d[1] + r(2, 0) * d[2],
      r(0, 1) * d[0] + r(1, 1) * d[1] + r(2, 1) * d[2],
      r(0, 2) * d[0] + r(1, 2) * d[1] + r(2, 2) * d[2]
    ]);
  }
  var lim = spec.eye_fit.max_offset_cm;
  var clamp = function (v) { return Math.min(lim, Math.max(-lim, v)); };
  var midX = (points[0][0] + points[1][0]) / 2 - (iris[0][0] + iris[1][0]) / 2;
  var midY = (points[0][1] + points[1][1]) / 2 - (iris[0][1] + iris[1][1]) / 2;
  var pd = Math.hypot(points[1][0] - points[0][0], points[1][1] - points[0][1], points[1][2] - points[0][2]) * 10.0;
  return [clamp(midX), clamp(midY), pd];
}

function median(values) {
  var s = values.slice().sort(function (a, b) { return a - b; });
  var n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** The eye fit of a video track: the median of the first `frames` estimates, then held. */
export class EyeFitHold {
  constructor(frames) { this.frames = Math.max(1, frames | 0); this.reset(); }
  reset() { this.samples = []; this.held = null; }
  add(estimate) {
    this.samples.push(estimate);
    var value = [0, 1, 2].map(function (i) { return median(this.samples.map(function (s) { return s[i]; })); }, this);
    if (this.samples.length >= this.frames) this.held = value;
    return value;
  }
}

/** Frame space (mm) -> camera (cm): pose · eye-fit offset · FacePlacement (pipeline.model_matrix). */
export function modelMatrix(spec, pose, fit) {
  var offset = new Matrix4().makeTranslation(fit[0], fit[1], 0);
  return pose.clone().multiply(offset).multiply(matrixFromRows(spec.placement.frame_to_face_mm));
}

/**
 * Pixel positions of the bridge and the lens optical centres (pipeline.anchors_px): the optical
 * centres at the wearer's PD and pupil height, on the lens plane. Left/right are the wearer's.
 */
export function anchorsPx(spec, frame, pose, fit, k) {
  var pupilY = (spec.eye_fit.canonical_pupil_y_cm - spec.placement.lens_center_y_cm) * 10.0;
  var pd = fit[2] || spec.eye_fit.canonical_pd_mm;
  var a = frame.anchors_mm;
  var points = {
    bridge: a.bridge,
    lens_center_left: [pd / 2.0, pupilY, a.lens_center_left[2]],
    lens_center_right: [-pd / 2.0, pupilY, a.lens_center_right[2]]
  };
  var m = modelMatrix(spec, pose, fit);
  var out = {};
  Object.keys(points).forEach(function (name) {
    var p = new Vector4(points[name][0], points[name][1], points[name][2], 1).applyMatrix4(m);
    out[name] = project(new Vector3(p.x, p.y, p.z), k);
  });
  return out;
}

// -- the light estimate (tryon/lighting.py) --------------------------------------------------------------
var LUMA = [0.2126, 0.7152, 0.0722];

function srgbToLinear(c) { return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }

function illuminantChromaticity(L, face) {
  var f = face.map(function (v) { return Math.max(v, 1e-6); });
  var mean = (f[0] + f[1] + f[2]) / 3;
  var light = f.map(function (v, i) { return Math.pow(v / mean / L.skin_chromaticity[i], L.illuminant_trust); });
  var g = Math.exp((Math.log(light[0]) + Math.log(light[1]) + Math.log(light[2])) / 3);
  light = light.map(function (v) { return Math.min(L.illuminant_clamp[1], Math.max(L.illuminant_clamp[0], v / g)); });
  var luma = light[0] * LUMA[0] + light[1] * LUMA[1] + light[2] * LUMA[2];
  return light.map(function (v) { return v / luma; });
}

/** The neutral light (Lighting.neutral). */
export function neutralLighting(spec) {
  var L = spec.lighting;
  return { ambient: [L.ambient_share, L.ambient_share, L.ambient_share], keyColor: [1, 1, 1],
    keyIntensity: L.key_share, keyDirection: [0.25, -0.35, -0.9] };
}

/**
 * The room's light from the face (estimate_lighting): image is an ImageData of the whole frame (RGBA),
 * bbox [x, y, w, h] of the face in pixels. withEnvironment (default true): also the reflected
 * environment (environmentMap); false leaves it null (then the uniform room is reflected).
 */
export function estimateLighting(spec, image, bbox, withEnvironment) {
  var L = spec.lighting;
  var x = bbox[0], y = bbox[1], w = bbox[2], h = bbox[3];
  if (w < 4 || h < 4) return neutralLighting(spec);
  var x0 = Math.max(x + Math.floor(w / 5), 0), x1 = Math.min(x + w - Math.floor(w / 5), image.width);
  var y0 = Math.max(y + Math.floor(h / 6), 0), y1 = Math.min(y + h - Math.floor(h / 6), image.height);
  var cols = Math.ceil((x1 - x0) / 4), rows = Math.ceil((y1 - y0) / 4);
  if (cols <= 0 || rows <= 0) return neutralLighting(spec);
  var sum = [0, 0, 0], n = 0, d = image.data;
  var left = 0, right = 0, top = 0, bottom = 0, nl = 0, nr = 0, nt = 0, nb = 0;
  var half = Math.floor(cols / 2), halfR = cols - half, halfRows = Math.floor(rows / 2);
  for (var j = 0; j < rows; j++) {
    var yy = y0 + j * 4;
    for (var i = 0; i < cols; i++) {
      var o = (yy * image.width + x0 + i * 4) * 4;
      var r = d[o] / 255, g = d[o + 1] / 255, b = d[o + 2] / 255;
      sum[0] += srgbToLinear(r); sum[1] += srgbToLinear(g); sum[2] += srgbToLinear(b); n++;
      var l = (r + g + b) / 3;
      if (i < half) { left += l; nl++; }
      if (i >= cols - halfR) { right += l; nr++; }
      if (j < halfRows) { top += l; nt++; }
      if (j >= rows - halfRows) { bottom += l; nb++; }
    }
  }
  var face = sum.map(function (v) { return v / n; });
  var faceLuma = face[0] * LUMA[0] + face[1] * LUMA[1] + face[2] * LUMA[2];
  var radiance = Math.min(3.0, Math.max(0.03, faceLuma / L.skin_luminance_albedo));
  var colour = illuminantChromaticity(L, face);
  left /= Math.max(nl, 1); right /= Math.max(nr, 1); top /= Math.max(nt, 1); bottom /= Math.max(nb, 1);
  var dx = Math.min(0.8, Math.max(-0.8, (right - left) / Math.max(left + right, 1e-6) * 4.0));
  var dy = Math.min(0.8, Math.max(-0.8, (top - bottom) / Math.max(top + bottom, 1e-6) * 4.0));
  var cmax = Math.max(colour[0], colour[1], colour[2]);
  return {
    ambient: colour.map(function (c) { return c * radiance * L.ambient_share; }),
    keyColor: colour.map(function (c) { return c / cmax; }),
    keyIntensity: radiance * L.key_share * cmax,
    keyDirection: [-dx, -dy - 0.2, -1.0],
    environment: withEnvironment === false ? null : environmentMap(spec, image, bbox, faceLuma, radiance, colour)
  };
}

// -- the reflected environment (tryon/lighting.py environment_map) ----------------------------------------

/** Source index ranges and weights of an area-averaging resize from n to m samples (cv2.INTER_AREA). */
function areaWeights(n, m) {
  var scale = n / m, out = [];
  for (var d = 0; d < m; d++) {
    var f0 = d * scale, f1 = f0 + scale, cell = Math.min(scale, n - f0), taps = [];
    for (var s = Math.floor(f0); s < Math.min(Math.ceil(f1), n); s++) {
      var overlap = Math.min(s + 1, f1) - Math.max(s, f0);
      if (overlap > 1e-3) taps.push([s, overlap / cell]);
    }
    out.push(taps);
  }
  return out;
}

/** (n) Gaussian kernel of cv2.GaussianBlur for a float image: size round(8 sigma + 1) | 1. */
function gaussianKernel(sigma) {
  var size = Math.round(sigma * 8 + 1) | 1, half = (size - 1) / 2, k = [], sum = 0;
  for (var i = 0; i < size; i++) { k.push(Math.exp(-(i - half) * (i - half) / (2 * sigma * sigma))); sum += k[i]; }
  return k.map(function (v) { return v / sum; });
}

/** Index i reflected into [0, n) as OpenCV's default border (BORDER_REFLECT_101: gfedcb|abcdefgh|gfedcba). */
function reflect101(i, n) {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** Separable Gaussian blur of a (h, w) Float64Array, OpenCV's border. */
function blur2d(values, w, h, sigma) {
  var k = gaussianKernel(sigma), half = (k.length - 1) / 2;
  var tmp = new Float64Array(w * h), out = new Float64Array(w * h);
  for (var y = 0; y < h; y++) {
    for (var x = 0; x < w; x++) {
      var acc = 0;
      for (var i = 0; i < k.length; i++) acc += k[i] * values[y * w + reflect101(x + i - half, w)];
      tmp[y * w + x] = acc;
    }
  }
  for (var y2 = 0; y2 < h; y2++) {
    for (var x2 = 0; x2 < w; x2++) {
      var acc2 = 0;
      for (var j = 0; j < k.length; j++) acc2 += k[j] * tmp[reflect101(y2 + j - half, h) * w + x2];
      out[y2 * w + x2] = acc2;
    }
  }
  return out;
}

/**
 * The environment the glasses reflect, from the camera frame (environment_map): the frame shrunk to
 * spec.lighting.environment_size cells (a strided view, then area averaging), the face's cells filled
 * with the median of the others, blurred, mirrored left to right, and scaled so that a region as bright
 * as the face reflects `radiance`, coloured by the illuminant.
 * image: ImageData (RGBA); bbox [x, y, w, h]; faceLuminance: the face's mean linear luminance;
 * colour: the illuminant's linear-RGB chromaticity. Returns {width, height, data}: data a Float32Array
 * of width x height linear RGB triples, row 0 at the top.
 */
export function environmentMap(spec, image, bbox, faceLuminance, radiance, colour) {
  var L = spec.lighting, ew = L.environment_size[0], eh = L.environment_size[1];
  var W = image.width, H = image.height, d = image.data;
  var step = Math.max(1, Math.floor(Math.min(W, H) / 90));
  var sw = Math.ceil(W / step), sh = Math.ceil(H / step);
  var wx = areaWeights(sw, ew), wy = areaWeights(sh, eh);
  var luma = new Float64Array(ew * eh);
  for (var cy = 0; cy < eh; cy++) {
    for (var cx = 0; cx < ew; cx++) {
      var rgb = [0, 0, 0];
      wy[cy].forEach(function (ty) {
        wx[cx].forEach(function (tx) {
          var o = (ty[0] * step * W + tx[0] * step) * 4, weight = ty[1] * tx[1];
          rgb[0] += weight * d[o]; rgb[1] += weight * d[o + 1]; rgb[2] += weight * d[o + 2];
        });
      });
      // the resize gives 8-bit cells, as cv2.resize of a uint8 picture does
      luma[cy * ew + cx] = LUMA[0] * srgbToLinear(Math.round(rgb[0]) / 255) +
        LUMA[1] * srgbToLinear(Math.round(rgb[1]) / 255) + LUMA[2] * srgbToLinear(Math.round(rgb[2]) / 255);
    }
  }
  var x0 = Math.floor(bbox[0] * ew / W), x1 = Math.ceil((bbox[0] + bbox[2]) * ew / W);
  var y0 = Math.floor(bbox[1] * eh / H), y1 = Math.ceil((bbox[1] + bbox[3]) * eh / H);
  var isFace = function (cx, cy) {
    return cx >= Math.max(x0, 0) && cx < Math.max(x1, 0) && cy >= Math.max(y0, 0) && cy < Math.max(y1, 0);
  };
  var others = [];
  for (var i = 0; i < ew * eh; i++) if (!isFace(i % ew, Math.floor(i / ew))) others.push(luma[i]);
  if (others.length) {
    var fill = median(others);
    for (var c = 0; c < ew * eh; c++) if (isFace(c % ew, Math.floor(c / ew))) luma[c] = fill;
  }
  var blurred = blur2d(luma, ew, eh, L.environment_blur);
  var out = new Float32Array(ew * eh * 3), lo = L.environment_range[0], hi = L.environment_range[1];
  var contrast = L.environment_contrast;
  for (var y = 0; y < eh; y++) {
    for (var x = 0; x < ew; x++) {
      var v = blurred[y * ew + (ew - 1 - x)];   // mirrored: what a lens reflects faces the person
      var relative = Math.min(hi, Math.max(lo, v / Math.max(faceLuminance, 1e-4)));
      var level = radiance * (1 - contrast + contrast * relative);
      for (var ch = 0; ch < 3; ch++) out[(y * ew + x) * 3 + ch] = level * colour[ch];
    }
  }
  return { width: ew, height: eh, data: out };
}
