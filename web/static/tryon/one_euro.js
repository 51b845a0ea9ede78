/*
 * One Euro smoothing of a head pose, as the core does it (tryon/pose.py, Casiez et al., CHI 2012).
 *
 * The parameters are not written here: they arrive in /api/placement.json ("one_euro"), read from
 * tryon.pose.SmoothingOptions. The position is filtered as the direction from the camera (x/-z, y/-z,
 * in cm at 1 m) and as log-depth (100·ln(-z)); the rotation on unit quaternions by slerp, its speed the
 * angular velocity (rad/s).
 */
import { Matrix4, Quaternion, Vector3 } from "three";

function alpha(cutoffHz, dt) {
  var tau = 1.0 / (2.0 * Math.PI * cutoffHz);
  return 1.0 / (1.0 + tau / dt);
}

/** One Euro filter of an n-vector (array of numbers); speed is the vector's norm. */
export class OneEuroFilter {
  constructor(params) { this.params = params; this.reset(); }
  reset() { this.x = null; this.dx = null; }
  filter(x, dt) {
    if (this.x === null || dt <= 0) {
      this.x = x.slice();
      this.dx = x.map(function () { return 0; });
      return x.slice();
    }
    var p = this.params, self = this;
    var ad = alpha(p.d_cutoff, dt);
    this.dx = this.dx.map(function (v, i) { return v + ad * ((x[i] - self.x[i]) / dt - v); });
    var speed = Math.hypot.apply(null, this.dx);
    var a = alpha(p.min_cutoff + p.beta * speed, dt);
    this.x = this.x.map(function (v, i) { return v + a * (x[i] - v); });
    return this.x.slice();
  }
}

/** One Euro filter on unit quaternions: slerp from the filtered state towards the measurement. */
export class RotationOneEuroFilter {
  constructor(params) { this.params = params; this.reset(); }
  reset() { this.q = null; this.speed = 0; }
  filter(q, dt) {
    if (this.q === null || dt <= 0) {
      this.q = q.clone();
      this.speed = 0;
      return this.q.clone();
    }
    var p = this.params;
    var angle = this.q.angleTo(q);  // the rotation from the state to the measurement, radians
    this.speed += alpha(p.d_cutoff, dt) * (angle / dt - this.speed);
    this.q.slerp(q, alpha(p.min_cutoff + p.beta * this.speed, dt));
    return this.q.clone();
  }
}

/** Smooths a stream of (4x4) head poses; reset() when the face is lost. */
export class PoseSmoother {
  constructor(oneEuro) {
    this.position = new OneEuroFilter(oneEuro.position);
    this.depth = new OneEuroFilter(oneEuro.depth);
    this.rotation = new RotationOneEuroFilter(oneEuro.rotation);
    this.lastMs = null;
  }
  reset() {
    this.position.reset(); this.depth.reset(); this.rotation.reset();
    this.lastMs = null;
  }
  /** matrix: three Matrix4 (canonical face cm -> camera cm); returns the smoothed Matrix4. */
  filter(matrix, timestampMs) {
    var dt = this.lastMs === null ? 0 : (timestampMs - this.lastMs) / 1000.0;
    this.lastMs = timestampMs;
    var t = new Vector3(), q = new Quaternion(), s = new Vector3();
    matrix.decompose(t, q, s);  // the rotation without the scale MediaPipe's fit may leave
    var depth = Math.max(-t.z, 1e-3);
    var dir = this.position.filter([t.x / depth * 100.0, t.y / depth * 100.0], dt);
    depth = Math.exp(this.depth.filter([100.0 * Math.log(depth)], dt)[0] / 100.0);
    var rot = this.rotation.filter(q, dt);
    var out = new Matrix4().makeRotationFromQuaternion(rot);
    out.setPosition(dir[0] / 100.0 * depth, dir[1] / 100.0 * depth, -depth);
    return out;
  }
}
