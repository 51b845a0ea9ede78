#version 330 core
// A light physically-based shader for the live view (replaces pyrender's mesh.frag there).
//
// pyrender's shader evaluates the full Cook-Torrance BRDF (GGX, Smith, Schlick) for every light type,
// which on a software rasteriser costs more than the rest of the frame. Glasses are lit here by one
// directional key light and the ambient light estimated from the room: the same material model
// (glTF metallic-roughness base colour, metallic, roughness), with the specular lobe as a normalised
// Blinn-Phong whose exponent matches the GGX roughness, Schlick's Fresnel, and sRGB decoding of
// textures approximated by squaring. Uniform and varying names are pyrender's.
//
// Surfaces reflect an environment taken from the camera frame (tryon/lighting.py environment_map: a
// small blurred radiance map, mirrored, bound as environment_map, 8 bits a channel times
// environment_scale), looked up along the reflected view
// direction (x and y of the reflection vector in camera space map to the map's width and height),
// weighted by Schlick's Fresnel with roughness, so metals show their own colour at the room's
// brightness and a bright window shows on them. Without an estimate it is a 1 x 1 map of the uniform
// environment ambient_light / AMBIENT_SHARE.
//
// Lenses (the only parts with a base colour texture: their opacity gradient) are a tinted absorbing
// layer behind a reflecting surface: Schlick's Fresnel with F0 = lens_reflectance (8% for the two
// surfaces uncoated, 1% with an anti-reflective coating, more for mirrors) gives a sheen that grows towards grazing angles.
// The reflection adds light and hides a share F of what lies behind: with premultiplied blending the
// output is rgb = (a (1 - F) body + reflection) / a', alpha a' = 1 - (1 - a)(1 - F). The reflection is
// added in display space as it is (an approximation good for mid-tone skin behind the lens). Specular aliasing (single bright pixels on thin
// curved rims) is filtered by widening the roughness with the normal's screen-space variance
// (Kaplanyan & Hoffman 2016, "Stable specular highlights").

struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
#ifdef DIRECTIONAL_LIGHT_SHADOWS
    sampler2D shadow_map;
    mat4 light_matrix;
#endif
};

struct Material {
    vec3 emissive_factor;
#ifdef USE_METALLIC_MATERIAL
    vec4 base_color_factor;
    float metallic_factor;
    float roughness_factor;
#endif
#ifdef USE_GLOSSY_MATERIAL
    vec4 diffuse_factor;
    vec3 specular_factor;
    float glossiness_factor;
#endif
#ifdef HAS_BASE_COLOR_TEX
    sampler2D base_color_texture;
#endif
#ifdef HAS_DIFFUSE_TEX
    sampler2D diffuse_texture;
#endif
};

uniform Material material;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;
uniform sampler2D environment_map;
uniform float environment_scale;
uniform float lens_reflectance;

in vec3 frag_position;
#ifdef NORMAL_LOC
in vec3 frag_normal;
#endif
#ifdef TEXCOORD_0_LOC
in vec2 uv_0;
#endif
#ifdef COLOR_0_LOC
in vec4 color_multiplier;
#endif

out vec4 frag_color;

const float PI = 3.141592653589793;
const float AMBIENT_SHARE = 0.6;
const float MIN_KEY_ROUGHNESS = 0.45;
// The reflected environment map already holds the room's bright regions, the key light's among them:
// its own lobe is kept at this share, so a highlight on a rim darkened by a dark region of the room
// does not stand out as a single bright pixel.
const float KEY_SPECULAR = 0.5;
// What lies behind a lens: skin of luminance albedo SKIN_LUMINANCE_ALBEDO and chromaticity
// SKIN_CHROMATICITY (tryon/lighting.py; scaled to luminance 1 here; tests/test_lens_body.py checks
// they agree).
const float LENS_BEHIND_ALBEDO = 0.33;
const vec3 SKIN_CHROMATICITY = vec3(1.713, 0.825, 0.635);

void main()
{
#ifdef USE_METALLIC_MATERIAL
    vec4 base_color = material.base_color_factor;
    float metallic = clamp(material.metallic_factor, 0.0, 1.0);
    float roughness = clamp(material.roughness_factor, 0.04, 1.0);
#ifdef HAS_BASE_COLOR_TEX
    vec4 tex = texture(material.base_color_texture, uv_0);
    base_color *= vec4(tex.rgb * tex.rgb, tex.a);
#endif
#else
    vec4 base_color = material.diffuse_factor;
    float metallic = 0.0;
    float roughness = clamp(1.0 - material.glossiness_factor, 0.04, 1.0);
#ifdef HAS_DIFFUSE_TEX
    vec4 tex = texture(material.diffuse_texture, uv_0);
    base_color *= vec4(tex.rgb * tex.rgb, tex.a);
#endif
#endif
#ifdef COLOR_0_LOC
    base_color *= color_multiplier;
#endif

    vec3 v = normalize(cam_pos - frag_position);
#ifdef NORMAL_LOC
    vec3 n = normalize(frag_normal);
#else
    vec3 n = v;
#endif
    if (dot(n, v) < 0.0) {
        n = -n;  // double-sided surfaces (lenses) face the viewer
    }

    // Specular anti-aliasing: roughness^2 grows with the normal's variation over the pixel.
    vec3 dndx = dFdx(n);
    vec3 dndy = dFdy(n);
    float variance = 0.25 * (dot(dndx, dndx) + dot(dndy, dndy));
    float a2 = roughness * roughness;
    roughness = sqrt(clamp(a2 + min(2.0 * variance, 0.5), 0.0, 1.0));
    // A rim is a few pixels wide: a mirror-sharp highlight on it is a single-pixel sparkle whatever
    // the filtering, so the key light's lobe is never sharper than roughness MIN_KEY_ROUGHNESS.
    float key_roughness = max(roughness, MIN_KEY_ROUGHNESS);

    vec3 c_diff = base_color.rgb * (1.0 - metallic) * 0.96;
    vec3 f0 = mix(vec3(0.04), base_color.rgb, metallic);
    float a = key_roughness * key_roughness;
    float shininess = max(2.0 / (a * a) - 2.0, 1.0);
    float norm = (shininess + 8.0) / (8.0 * PI);

    float nv = max(dot(n, v), 0.0);
    float fv = 1.0 - nv;
    float fv2 = fv * fv;
    // Rough surfaces lose the grazing-angle brightening (Fagerholm/Lagarde fit), kept low for thin rims.
    vec3 f_env = f0 + (max(vec3(0.5 * (1.0 - roughness) * (1.0 - roughness)), f0) - f0) * (fv2 * fv2 * fv);
    // A real room is bright in few directions: a glossy dielectric (acetate) mostly mirrors the dim
    // rest of it, so it takes a third of the mean environment; metals reflect all of it.
    float env_weight = mix(0.35, 1.0, metallic);
    vec3 r = reflect(-v, n);
    vec3 environment = environment_scale * texture(environment_map, vec2(0.5 + 0.5 * r.x, 0.5 + 0.5 * r.y)).rgb;
#ifdef HAS_BASE_COLOR_TEX
    // Lens: an absorbing filter and, on top, the surface's reflection (below). A lens scatters no
    // light: its body only passes the face behind it through the tint (linear transmission
    // 1 - opacity (1 - tint) per channel), it is never a card lit by the room (that laid a milky haze
    // over a clear lens). Mirror lenses (metallic) are mostly their coating.
    float f_lens = lens_reflectance + (1.0 - lens_reflectance) * (fv2 * fv2 * fv) * min(lens_reflectance / 0.04, 1.0);
    vec3 sheen = f_lens * environment * mix(vec3(1.0), base_color.rgb / max(max(base_color.r, base_color.g), max(base_color.b, 1e-3)), metallic);
    float body_share = metallic > 0.5 ? 1.0 - metallic : 1.0;
    vec3 color = vec3(0.0);
#else
    vec3 color = c_diff * ambient_light + f_env * environment * env_weight;
#endif
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = normalize(-directional_lights[i].direction);
        vec3 h = normalize(l + v);
        float nl = max(dot(n, l), 0.0);
        float nh = max(dot(n, h), 0.0);
        float vh = max(dot(v, h), 0.0);
        float fw = 1.0 - vh;
        float fw2 = fw * fw;
        vec3 F = f0 + (1.0 - f0) * (fw2 * fw2 * fw);
        vec3 radiance = directional_lights[i].intensity * directional_lights[i].color;
#ifndef HAS_BASE_COLOR_TEX
        color += nl * radiance * (c_diff / PI);
        // Lenses take no key-light lobe: their reflection of the room, key light included, is the
        // environment's (a lobe wide enough for thin rims would cover a whole flat lens).
        color += KEY_SPECULAR * nl * radiance * F * norm * pow(nh, shininess);
#endif
    }
    color += material.emissive_factor;

    vec3 srgb = pow(color, vec3(1.0 / 2.2));
#ifdef HAS_BASE_COLOR_TEX
    // The filter in display space, split in two: its grey part (the least the tint passes) scales
    // what lies behind exactly, as the blend's alpha; only the colour the tint adds on top of it needs
    // the face behind, estimated as a typical skin under the room's light. A clear lens (tint near
    // white) thus leaves the skin as it is, but for its reflection.
    float opacity = base_color.a;
    vec3 tint = pow(body_share * base_color.rgb, vec3(1.0 / 2.2));
    float tint_floor = min(tint.r, min(tint.g, tint.b));
    vec3 behind = pow((ambient_light / AMBIENT_SHARE) * LENS_BEHIND_ALBEDO * SKIN_CHROMATICITY, vec3(1.0 / 2.2));
    float absorbed = opacity * (1.0 - tint_floor);
    float covered = 1.0 - (1.0 - absorbed) * (1.0 - f_lens);
    vec3 premultiplied = (1.0 - f_lens) * opacity * (tint - tint_floor) * behind + sheen;
    covered = max(covered, max(premultiplied.r, max(premultiplied.g, premultiplied.b)));
    frag_color = clamp(vec4(premultiplied / max(covered, 1e-4), covered), 0.0, 1.0);
    return;
#endif
#ifdef COLOR_0_LOC
    // Per-vertex alpha is the temples' fade-out (tryon/render/materials.py): opaque parts are drawn
    // without blending, so the colour is premultiplied here for the compositor.
    srgb *= color_multiplier.a;
#endif
    frag_color = clamp(vec4(srgb, base_color.a), 0.0, 1.0);
}
