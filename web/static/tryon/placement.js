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
 * bbox [x, y, w, h] of the face in pixels.
 */
export function estimateLighting(spec, image, bbox) {
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
    keyDirection: [-dx, -dy - 0.2, -1.0]
  };
}
