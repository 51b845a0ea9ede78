/*
 * The core's contact shadow (tryon/compose.py contact_shadow) in browser mode: the skin just under the
 * opaque parts (rims, bridge, pads) is darkened by up to spec.contact_shadow.strength.
 *
 * As in the core: the opaque parts' mask (coverage >= caster_alpha / 255, so clear lenses and faded
 * temple tips cast nothing), shifted down by 1% of the glasses' width in pixels and softened by two box
 * filters of 1/35 of it (here one separable tent filter, the same thing), multiplies the camera picture
 * before the glasses are drawn over it. The mask is drawn at half the canvas's resolution, with the
 * head occluder, into a render target; the tent filter runs on it in two passes; a quad then
 * multiplies the picture (blending dst * src) right after the background. The filter passes and the
 * quad cover only the glasses' box on the canvas and the shadow's reach around it (on a software
 * rasteriser every pixel of a full-screen pass counts).
 */
import * as THREE from "three";

var SCALE = 0.5;      // the mask's resolution relative to the canvas
var MAX_TAPS = 64;    // the tent filter's longest half-width (mask pixels)

// a unit quad drawn over `region` (u0, v0, u1, v1: texture coordinates, v up)
var REGION_VERTEX = [
  "uniform vec4 region;",
  "varying vec2 vUv;",
  "void main() {",
  "\tvUv = mix( region.xy, region.zw, position.xy );",
  "\tgl_Position = vec4( vUv * 2.0 - 1.0, 0.0, 1.0 );",
  "}"
].join("\n");

// one direction of the tent filter (box * box): weights (k - |i|) / k^2, |i| < k
var TENT_FRAGMENT = [
  "uniform sampler2D source;",
  "uniform vec2 texel;",
  "uniform float halfWidth;",
  "uniform vec2 shift;",
  "varying vec2 vUv;",
  "void main() {",
  "\tfloat sum = 0.0;",
  "\tint n = int( halfWidth ) - 1;   // a bound from a uniform (GLSL ES 3.0): only the taps that weigh",
  "\tfor ( int i = - n; i <= n; i ++ ) {",
  "\t\tsum += ( halfWidth - abs( float( i ) ) ) * texture2D( source, vUv + shift + texel * float( i ) ).r;",
  "\t}",
  "\tgl_FragColor = vec4( vec3( sum / ( halfWidth * halfWidth ) ), 1.0 );",
  "}"
].join("\n");

var APPLY_FRAGMENT = [
  "uniform sampler2D shadow;",
  "uniform float strength;",
  "varying vec2 vUv;",
  "void main() {",
  "\tgl_FragColor = vec4( vec3( 1.0 - strength * texture2D( shadow, vUv ).r ), 1.0 );",
  "}"
].join("\n");

// the caster mask: white where an opaque part is drawn (vertex alpha = the temples' fade)
var CASTER_VERTEX = [
  "attribute vec4 color;",
  "uniform bool faded;",
  "varying float vAlpha;",
  "void main() {",
  "\tvAlpha = faded ? color.a : 1.0;",
  "\tgl_Position = projectionMatrix * modelViewMatrix * vec4( position, 1.0 );",
  "}"
].join("\n");

var CASTER_FRAGMENT = [
  "uniform float threshold;",
  "varying float vAlpha;",
  "void main() {",
  "\tif ( vAlpha < threshold ) discard;",
  "\tgl_FragColor = vec4( 1.0 );",
  "}"
].join("\n");

function regionQuad(material) {
  var geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.Float32BufferAttribute([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0], 3));
  geometry.setIndex([0, 1, 2, 0, 2, 3]);
  var mesh = new THREE.Mesh(geometry, material);
  mesh.frustumCulled = false;
  return mesh;
}

function target(w, h) {
  return new THREE.WebGLRenderTarget(w, h, {
    depthBuffer: true, minFilter: THREE.LinearFilter, magFilter: THREE.LinearFilter, generateMipmaps: false
  });
}

export class ContactShadow {
  constructor(spec) {
    this.strength = spec.contact_shadow.strength;
    this.threshold = spec.contact_shadow.caster_alpha / 255;
    this.targets = null;
    this.passScene = new THREE.Scene();
    this.passCamera = new THREE.Camera();
    this.tent = new THREE.ShaderMaterial({
      uniforms: { source: { value: null }, texel: { value: new THREE.Vector2() }, halfWidth: { value: 1 },
        shift: { value: new THREE.Vector2() }, region: { value: new THREE.Vector4(0, 0, 1, 1) } },
      vertexShader: REGION_VERTEX, fragmentShader: TENT_FRAGMENT, depthTest: false, depthWrite: false
    });
    this.passQuad = regionQuad(this.tent);
    this.passScene.add(this.passQuad);
    this.casterMaterials = {
      solid: this._caster(false), faded: this._caster(true)
    };
    // drawn in the main scene right after the background: multiplies the camera picture
    this.apply = new THREE.ShaderMaterial({
      uniforms: { shadow: { value: null }, strength: { value: this.strength },
        region: { value: new THREE.Vector4(0, 0, 1, 1) } },
      vertexShader: REGION_VERTEX, fragmentShader: APPLY_FRAGMENT, depthTest: false, depthWrite: false,
      blending: THREE.CustomBlending, blendEquation: THREE.AddEquation, blendSrc: THREE.ZeroFactor,
      blendDst: THREE.SrcColorFactor
    });
    this.mesh = regionQuad(this.apply);
    this.mesh.name = "contact-shadow";
    this.mesh.renderOrder = -2;   // before the occluder (-1) and the glasses
    this.mesh.visible = false;
  }

  _caster(faded) {
    return new THREE.ShaderMaterial({
      uniforms: { threshold: { value: this.threshold }, faded: { value: faded } },
      vertexShader: CASTER_VERTEX, fragmentShader: CASTER_FRAGMENT, side: THREE.DoubleSide
    });
  }

  _ensureTargets(width, height) {
    var w = Math.max(1, Math.round(width * SCALE)), h = Math.max(1, Math.round(height * SCALE));
    if (this.targets && this.targets[0].width === w && this.targets[0].height === h) return;
    if (this.targets) this.targets.forEach(function (t) { t.dispose(); });
    this.targets = [target(w, h), target(w, h)];
    this.apply.uniforms.shadow.value = this.targets[0].texture;
  }

  /**
   * Draw the mask and filter it, before the frame's main render.
   * renderer, scene, camera: the try-on's; glasses: its glasses group; box: [x0, y0, x1, y1], the
   * glasses' box on the canvas in pixels (y down), whose width is the core's tile width.
   */
  update(renderer, scene, camera, glasses, box) {
    var size = renderer.getDrawingBufferSize(new THREE.Vector2());
    var W = size.x, H = size.y;
    var widthPx = Math.max(1, Math.min(box[2], W) - Math.max(box[0], 0));
    this._ensureTargets(size.x, size.y);
    var mask = this.targets[0], work = this.targets[1];
    // 1. the casters: opaque parts only, hidden where the head occludes them
    var swapped = [], hidden = [], materials = this.casterMaterials;
    glasses.traverse(function (o) {
      if (!o.isMesh) return;
      if (o.material.isShaderMaterial && o.material.name === "lens") { o.visible = false; hidden.push(o); return; }
      swapped.push([o, o.material]);
      o.material = o.geometry.attributes.color ? materials.faded : materials.solid;
    });
    var background = scene.background, shadowVisible = this.mesh.visible;
    scene.background = null;
    this.mesh.visible = false;
    var clear = renderer.getClearColor(new THREE.Color()), clearAlpha = renderer.getClearAlpha();
    renderer.setClearColor(0x000000, 1);
    renderer.setRenderTarget(mask);
    renderer.render(scene, camera);
    swapped.forEach(function (pair) { pair[0].material = pair[1]; });
    hidden.forEach(function (o) { o.visible = true; });
    scene.background = background;
    this.mesh.visible = shadowVisible;
    // 2. shifted down and softened: the tent filter across, then down (mask pixels)
    var k = Math.max(2, Math.min(MAX_TAPS, Math.round(widthPx * SCALE / 35)));
    var shift = Math.max(1, widthPx * SCALE / 100);
    // where the shadow can fall (canvas pixels), and, for the first pass, what the second one reads
    var reach = (k + 1) / SCALE, down = shift / SCALE;
    var toRegion = function (x0, y0, x1, y1, target) {
      target.set(Math.max(x0 / W, 0), Math.max(1 - y1 / H, 0), Math.min(x1 / W, 1), Math.min(1 - y0 / H, 1));
    };
    var u = this.tent.uniforms;
    var applyRegion = this.apply.uniforms.region.value;
    toRegion(box[0] - reach, box[1] - reach, box[2] + reach, box[3] + reach + down, applyRegion);
    toRegion(box[0] - reach, box[1] - 2 * reach - down, box[2] + reach, box[3] + 2 * reach + 2 * down, u.region.value);
    u.halfWidth.value = k;
    u.source.value = mask.texture;
    u.texel.value.set(1 / mask.width, 0);
    u.shift.value.set(0, 0);
    renderer.setRenderTarget(work);
    renderer.render(this.passScene, this.passCamera);
    u.source.value = work.texture;
    u.texel.value.set(0, 1 / mask.height);
    u.shift.value.set(0, shift / mask.height);   // texture v grows upwards: read from above, fall below
    u.region.value.copy(applyRegion);
    renderer.setRenderTarget(mask);
    renderer.render(this.passScene, this.passCamera);
    renderer.setRenderTarget(null);
    renderer.setClearColor(clear, clearAlpha);
    this.mesh.visible = true;
  }

  hide() { this.mesh.visible = false; }

  dispose() {
    if (this.targets) this.targets.forEach(function (t) { t.dispose(); });
    this.tent.dispose();
    this.apply.dispose();
    this.casterMaterials.solid.dispose();
    this.casterMaterials.faded.dispose();
  }
}
