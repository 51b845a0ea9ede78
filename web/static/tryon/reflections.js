/*
 * What the glasses reflect in browser mode, as the core draws it (tryon/render/shaders/tryon_mesh.frag):
 *
 * - CameraEnvironment: the environment taken from the camera frame (placement.js environmentMap, a port
 *   of tryon/lighting.py environment_map) as a small 2D texture, 8 bits a channel times a scale, looked
 *   up along the reflected view direction as the core does (x and y of the reflection in camera space
 *   map to the map's width and height). patch(material) makes a three.js MeshStandardMaterial (the
 *   frame's, from the GLB) reflect it instead of a prefiltered cube map: a PMREM of a 256-texel cube
 *   costs far too much to redo a few times a second on a software rasteriser, and the map is already
 *   blurred. Dielectrics (acetate) take a third of it, metals all of it (the core's env_weight).
 * - lensMaterial: a lens as the core draws it: an absorbing filter (its grey part as the blend's alpha,
 *   the colour its tint adds from a typical skin behind it) under a Fresnel sheen (Schlick, F0 = the
 *   lens's reflectance from the placement JSON: 8% uncoated, 1% anti-reflective, mirrors more) that
 *   reflects the same environment. Premultiplied: rgb = (a(1 - F) body + sheen) / a', a' = 1 - (1 - a)(1 - F).
 *
 * The camera is at the origin looking down -z with no rotation, so three's view space is the core's
 * camera space.
 */
import * as THREE from "three";

var LUMA = [0.2126, 0.7152, 0.0722];

export class CameraEnvironment {
  /** spec: /api/placement.json; the map has spec.lighting.environment_size cells. */
  constructor(spec) {
    this.width = spec.lighting.environment_size[0];
    this.height = spec.lighting.environment_size[1];
    this.pixels = new Uint8Array(this.width * this.height * 4);
    this.texture = new THREE.DataTexture(this.pixels, this.width, this.height, THREE.RGBAFormat);
    this.texture.magFilter = THREE.LinearFilter;
    this.texture.minFilter = THREE.LinearFilter;
    this.texture.wrapS = this.texture.wrapT = THREE.ClampToEdgeWrapping;
    this.texture.generateMipmaps = false;
    // shared by every material that reflects it: one upload per update
    this.uniforms = { tryonEnvironment: { value: this.texture }, tryonEnvironmentScale: { value: 1 } };
  }

  /**
   * env: {width, height, data} linear RGB, row 0 at the top (environmentMap), or null: the uniform
   * environment ambient / ambient_share (tryon.lighting.Lighting.environment_or_uniform).
   */
  update(env, ambient, ambientShare) {
    var w = this.width, h = this.height, px = this.pixels, scale = 1e-6, i, x, y, c;
    if (env) {
      for (i = 0; i < env.data.length; i++) scale = Math.max(scale, env.data[i]);
    } else {
      scale = Math.max(ambient[0], ambient[1], ambient[2], 1e-6) / ambientShare;
    }
    for (y = 0; y < h; y++) {
      var row = h - 1 - y;   // texture row 0 is the bottom (t = 0), the map's row 0 its top
      for (x = 0; x < w; x++) {
        for (c = 0; c < 3; c++) {
          var v = env ? env.data[(row * w + x) * 3 + c] : ambient[c] / ambientShare;
          px[(y * w + x) * 4 + c] = Math.min(255, Math.max(0, Math.round(v * 255 / scale)));
        }
        px[(y * w + x) * 4 + 3] = 255;
      }
    }
    this.uniforms.tryonEnvironmentScale.value = scale;
    this.texture.needsUpdate = true;
  }

  /** Make a MeshStandardMaterial reflect this environment (the core's environment term). */
  patch(material) {
    var uniforms = this.uniforms;
    material.onBeforeCompile = function (shader) {
      shader.uniforms.tryonEnvironment = uniforms.tryonEnvironment;
      shader.uniforms.tryonEnvironmentScale = uniforms.tryonEnvironmentScale;
      shader.fragmentShader = shader.fragmentShader
        .replace("#include <lights_pars_begin>", "#include <lights_pars_begin>\n" + ENVIRONMENT_GLSL)
        .replace("#include <lights_fragment_maps>", "#include <lights_fragment_maps>\n" + [
          "#if defined( RE_IndirectSpecular )",
          "\tradiance += mix( 0.35, 1.0, metalnessFactor ) * tryonEnvironmentAt( reflect( - geometryViewDir, geometryNormal ) );",
          "#endif"
        ].join("\n"));
    };
    material.customProgramCacheKey = function () { return "tryon-camera-environment"; };
    material.envMap = null;
    material.needsUpdate = true;
  }

  dispose() { this.texture.dispose(); }
}

var ENVIRONMENT_GLSL = [
  "uniform sampler2D tryonEnvironment;",
  "uniform float tryonEnvironmentScale;",
  "vec3 tryonEnvironmentAt( const in vec3 r ) {",
  "\treturn tryonEnvironmentScale * texture2D( tryonEnvironment, vec2( 0.5 + 0.5 * r.x, 0.5 + 0.5 * r.y ) ).rgb;",
  "}"
].join("\n");

var LENS_VERTEX = [
  "attribute float lensOpacity;",
  "varying float vOpacity;",
  "varying vec3 vViewPosition;",
  "varying vec3 vNormal;",
  "void main() {",
  "\tvOpacity = lensOpacity;",
  "\tvec4 mv = modelViewMatrix * vec4( position, 1.0 );",
  "\tvViewPosition = mv.xyz;",
  "\tvNormal = normalMatrix * normal;",
  "\tgl_Position = projectionMatrix * mv;",
  "}"
].join("\n");

// tryon/render/shaders/tryon_mesh.frag, the lens branch
var LENS_FRAGMENT = ENVIRONMENT_GLSL + "\n" + [
  "uniform vec3 tint;",
  "uniform float metallic;",
  "uniform float lensReflectance;",
  "uniform vec3 ambientLight;",
  "uniform float ambientShare;",
  "uniform float skinAlbedo;",
  "uniform vec3 skinChromaticity;",
  "varying float vOpacity;",
  "varying vec3 vViewPosition;",
  "varying vec3 vNormal;",
  "void main() {",
  "\tvec3 v = normalize( - vViewPosition );",
  "\tvec3 n = normalize( vNormal );",
  "\tif ( dot( n, v ) < 0.0 ) n = - n;",
  "\tfloat fv = 1.0 - max( dot( n, v ), 0.0 );",
  "\tfloat fv2 = fv * fv;",
  "\tfloat f = lensReflectance + ( 1.0 - lensReflectance ) * ( fv2 * fv2 * fv ) * min( lensReflectance / 0.04, 1.0 );",
  "\tvec3 environment = tryonEnvironmentAt( reflect( - v, n ) );",
  "\tvec3 sheen = f * environment * mix( vec3( 1.0 ), tint / max( max( tint.r, tint.g ), max( tint.b, 1e-3 ) ), metallic );",
  "\tfloat bodyShare = metallic > 0.5 ? 1.0 - metallic : 1.0;",
  "\tvec3 passed = pow( bodyShare * tint, vec3( 1.0 / 2.2 ) );",
  "\tfloat passedFloor = min( passed.r, min( passed.g, passed.b ) );",
  "\tvec3 behind = pow( ( ambientLight / ambientShare ) * skinAlbedo * skinChromaticity, vec3( 1.0 / 2.2 ) );",
  "\tfloat absorbed = vOpacity * ( 1.0 - passedFloor );",
  "\tfloat covered = 1.0 - ( 1.0 - absorbed ) * ( 1.0 - f );",
  "\tvec3 premultiplied = ( 1.0 - f ) * vOpacity * ( passed - passedFloor ) * behind + sheen;",
  "\tcovered = max( covered, max( premultiplied.r, max( premultiplied.g, premultiplied.b ) ) );",
  "\tgl_FragColor = clamp( vec4( premultiplied / max( covered, 1e-4 ), covered ), 0.0, 1.0 );",
  "}"
].join("\n");

/**
 * The lens material: lens is the frame JSON's lens ({tint (linear), mirror, reflectance}), environment
 * a CameraEnvironment, ambient an {value: [r, g, b]} uniform the light estimate updates. The geometry
 * needs a per-vertex `lensOpacity` attribute (the gradient).
 */
export function lensMaterial(spec, lens, environment, ambient) {
  var chroma = spec.lighting.skin_chromaticity;
  var luma = chroma[0] * LUMA[0] + chroma[1] * LUMA[1] + chroma[2] * LUMA[2];
  return new THREE.ShaderMaterial({
    name: "lens",
    uniforms: {
      tryonEnvironment: environment.uniforms.tryonEnvironment,
      tryonEnvironmentScale: environment.uniforms.tryonEnvironmentScale,
      tint: { value: new THREE.Vector3(lens.tint[0], lens.tint[1], lens.tint[2]) },
      metallic: { value: lens.mirror ? 0.9 : 0.1 },
      lensReflectance: { value: lens.reflectance },
      ambientLight: ambient,
      ambientShare: { value: spec.lighting.ambient_share },
      skinAlbedo: { value: spec.lighting.skin_luminance_albedo },
      skinChromaticity: { value: new THREE.Vector3(chroma[0] / luma, chroma[1] / luma, chroma[2] / luma) }
    },
    vertexShader: LENS_VERTEX,
    fragmentShader: LENS_FRAGMENT,
    transparent: true,
    depthWrite: false,
    // one surface: the reflectance is both surfaces' (8% uncoated) and the lens is a closed slab, whose
    // back sheet (facing the eye) would add it a second time
    side: THREE.FrontSide
  });
}
