#version 330 core
// Fast approximate anti-aliasing of a rendered tile (after FXAA 3.11, "quality" variant, by T. Lottes,
// NVIDIA 2011; written here from the published algorithm).
//
// The tile is premultiplied RGBA on a transparent background, so the edge signal is mostly coverage:
// a black rim over nothing has luma 0 on both sides and only its alpha changes. Each pixel:
//  1. local contrast of the signal over the pixel and its 4 neighbours; below the threshold it is kept;
//  2. the edge's direction (horizontal or vertical) from the 3 x 3 neighbourhood's second differences,
//     and its side (the neighbour across the steeper gradient);
//  3. a search along the edge, half a pixel towards that side, in both directions, for the edge's ends
//     (where the averaged signal leaves the edge's mean by a quarter of the gradient);
//  4. the pixel's blend across the edge from its position between the two ends (0 at the middle of
//     a stair step, 0.5 at its end), only where the nearer end turns the way the pixel lies;
// then one bilinear fetch shifted across the edge by that blend, which mixes all four premultiplied
// channels by the same weight. FXAA's sub-pixel term (the centre against its 3 x 3 mean, for features
// thinner than a pixel) is left out: on the rims it moved the edge pixels away from 4x MSAA's coverage
// (mean edge error 0.73 of no anti-aliasing's with it at 0.75, 0.65 without; benchmarks/NOTES.md).
//
// The tile lies in the texture's bottom-left corner (w x h texels); fetches are clamped to it.

uniform sampler2D tile;
uniform vec2 texel;     // 1 / texture size (texels)
uniform vec2 tile_max;  // the centre of the tile's last texel, in texture coordinates

out vec4 frag_color;

const float EDGE_THRESHOLD_MIN = 0.0312;
const float EDGE_THRESHOLD_MAX = 0.125;
const int SEARCH_STEPS = 12;
const float STEP_SIZE[12] = float[](1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.0, 2.0, 2.0, 4.0, 8.0);

vec4 fetch(vec2 uv) {
    return textureLod(tile, clamp(uv, 0.5 * texel, tile_max), 0.0);
}

// The edge signal: coverage, plus a quarter of the premultiplied colour's luma for edges inside the
// drawn glasses (a rim over a lens).
float signal(vec4 c) {
    return 0.75 * c.a + 0.25 * dot(c.rgb, vec3(0.299, 0.587, 0.114));
}

float signal_at(vec2 uv) {
    return signal(fetch(uv));
}

void main() {
    vec2 uv = gl_FragCoord.xy * texel;
    vec4 centre_colour = fetch(uv);
    float centre = signal(centre_colour);
    float down = signal_at(uv + vec2(0.0, -texel.y));
    float up = signal_at(uv + vec2(0.0, texel.y));
    float left = signal_at(uv + vec2(-texel.x, 0.0));
    float right = signal_at(uv + vec2(texel.x, 0.0));

    float lo = min(centre, min(min(down, up), min(left, right)));
    float hi = max(centre, max(max(down, up), max(left, right)));
    float range = hi - lo;
    if (range < max(EDGE_THRESHOLD_MIN, hi * EDGE_THRESHOLD_MAX)) {
        frag_color = centre_colour;
        return;
    }

    float down_left = signal_at(uv - texel);
    float up_right = signal_at(uv + texel);
    float up_left = signal_at(uv + vec2(-texel.x, texel.y));
    float down_right = signal_at(uv + vec2(texel.x, -texel.y));

    float down_up = down + up;
    float left_right = left + right;
    float left_corners = down_left + up_left;
    float down_corners = down_left + down_right;
    float right_corners = down_right + up_right;
    float up_corners = up_right + up_left;

    float horizontal = abs(-2.0 * left + left_corners) + 2.0 * abs(-2.0 * centre + down_up)
        + abs(-2.0 * right + right_corners);
    float vertical = abs(-2.0 * up + up_corners) + 2.0 * abs(-2.0 * centre + left_right)
        + abs(-2.0 * down + down_corners);
    bool is_horizontal = horizontal >= vertical;

    float side1 = is_horizontal ? down : left;
    float side2 = is_horizontal ? up : right;
    float gradient1 = side1 - centre;
    float gradient2 = side2 - centre;
    bool side1_steeper = abs(gradient1) >= abs(gradient2);
    float gradient_scaled = 0.25 * max(abs(gradient1), abs(gradient2));

    float step_across = is_horizontal ? texel.y : texel.x;
    float local_mean;
    if (side1_steeper) {
        step_across = -step_across;
        local_mean = 0.5 * (side1 + centre);
    } else {
        local_mean = 0.5 * (side2 + centre);
    }

    vec2 on_edge = uv;
    if (is_horizontal) {
        on_edge.y += 0.5 * step_across;
    } else {
        on_edge.x += 0.5 * step_across;
    }
    vec2 along = is_horizontal ? vec2(texel.x, 0.0) : vec2(0.0, texel.y);

    vec2 uv1 = on_edge - along;
    vec2 uv2 = on_edge + along;
    float end1 = signal_at(uv1) - local_mean;
    float end2 = signal_at(uv2) - local_mean;
    bool reached1 = abs(end1) >= gradient_scaled;
    bool reached2 = abs(end2) >= gradient_scaled;
    for (int i = 1; i < SEARCH_STEPS && !(reached1 && reached2); i++) {
        if (!reached1) {
            uv1 -= along * STEP_SIZE[i];
            end1 = signal_at(uv1) - local_mean;
            reached1 = abs(end1) >= gradient_scaled;
        }
        if (!reached2) {
            uv2 += along * STEP_SIZE[i];
            end2 = signal_at(uv2) - local_mean;
            reached2 = abs(end2) >= gradient_scaled;
        }
    }

    float distance1 = is_horizontal ? (uv.x - uv1.x) : (uv.y - uv1.y);
    float distance2 = is_horizontal ? (uv2.x - uv.x) : (uv2.y - uv.y);
    bool nearer1 = distance1 < distance2;
    float nearest = min(distance1, distance2);
    float edge_length = distance1 + distance2;
    bool centre_below = centre < local_mean;
    bool turns_right_way = ((nearer1 ? end1 : end2) < 0.0) != centre_below;
    float edge_blend = turns_right_way ? 0.5 - nearest / edge_length : 0.0;

    vec2 final_uv = uv;
    if (is_horizontal) {
        final_uv.y += edge_blend * step_across;
    } else {
        final_uv.x += edge_blend * step_across;
    }
    frag_color = fetch(final_uv);
}
