#version 330 core
// Fast approximate anti-aliasing of a rendered tile (after FXAA 3.11, "quality" variant, by T. Lottes,
// NVIDIA 2011; written here from the published algorithm), in two passes over the tile.
//
// The tile is premultiplied RGBA on a transparent background, so the edge signal is mostly coverage:
// a black rim over nothing has luma 0 on both sides and only its alpha changes. Each pixel:
//  1. local contrast of the signal over the pixel and its 4 neighbours; below the threshold it is kept.
//     With EDGE_MASK defined (the first pass) that is all: the pixel is copied and its depth says
//     whether it is on an edge (0) or not (1), so the second pass, depth-tested, shades edge pixels
//     only (llvmpipe skips a whole block of pixels that fail an early depth test, where a branch in
//     the shader would still cost every pixel the whole shader);
//  2. the edge's direction (horizontal or vertical) from the 3 x 3 neighbourhood's second differences,
//     and its side (the neighbour across the steeper gradient);
//  3. a search along the edge, half a pixel towards that side (the mean of the pixel and its neighbour
//     across), in both directions, for the edge's ends (where that mean leaves the edge's mean by a
//     quarter of the gradient);
//  4. the pixel's blend across the edge from its position between the two ends (0 at the middle of
//     a stair step, 0.5 at its end), only where the nearer end turns the way the pixel lies;
// then the pixel is mixed with its neighbour across the edge by that blend, all four premultiplied
// channels by the same weight. FXAA's sub-pixel term (the centre against its 3 x 3 mean, for features
// thinner than a pixel) is left out: on the rims it moved the edge pixels away from 4x MSAA's coverage
// (mean edge error 0.73 of no anti-aliasing's with it at 0.75, 0.65 without; benchmarks/NOTES.md).
//
// The tile lies in the texture's bottom-left corner; fetches are clamped to it. Texels are read with
// texelFetch (no filtering), which llvmpipe does several times faster than filtered lookups.

uniform sampler2D tile;
uniform ivec2 tile_last;  // the tile's last texel: (width - 1, height - 1)

out vec4 frag_color;

const float EDGE_THRESHOLD_MIN = 0.0312;
const float EDGE_THRESHOLD_MAX = 0.125;
const int SEARCH_STEPS = 10;  // along the edge: 5 steps of 1 texel, 3 of 2, then 4 and 8 (up to 24)

vec4 colour_at(ivec2 p) {
    return texelFetch(tile, clamp(p, ivec2(0), tile_last), 0);
}

// The edge signal: coverage, plus a quarter of the premultiplied colour's luma for edges inside the
// drawn glasses (a rim over a lens).
float signal(vec4 c) {
    return 0.75 * c.a + 0.25 * dot(c.rgb, vec3(0.299, 0.587, 0.114));
}

float signal_at(ivec2 p) {
    return signal(colour_at(p));
}

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 centre_colour = colour_at(p);
    float centre = signal(centre_colour);
    float down = signal_at(p + ivec2(0, -1));
    float up = signal_at(p + ivec2(0, 1));
    float left = signal_at(p + ivec2(-1, 0));
    float right = signal_at(p + ivec2(1, 0));

    float lo = min(centre, min(min(down, up), min(left, right)));
    float hi = max(centre, max(max(down, up), max(left, right)));
    float range = hi - lo;
    bool flat_here = range < max(EDGE_THRESHOLD_MIN, hi * EDGE_THRESHOLD_MAX);
#ifdef EDGE_MASK
    frag_color = centre_colour;
    gl_FragDepth = flat_here ? 1.0 : 0.0;
    return;
#endif
    if (flat_here) {
        frag_color = centre_colour;
        return;
    }

    float down_left = signal_at(p + ivec2(-1, -1));
    float up_right = signal_at(p + ivec2(1, 1));
    float up_left = signal_at(p + ivec2(-1, 1));
    float down_right = signal_at(p + ivec2(1, -1));

    float horizontal = abs(-2.0 * left + down_left + up_left) + 2.0 * abs(-2.0 * centre + down + up)
        + abs(-2.0 * right + down_right + up_right);
    float vertical = abs(-2.0 * up + up_left + up_right) + 2.0 * abs(-2.0 * centre + left + right)
        + abs(-2.0 * down + down_left + down_right);
    bool is_horizontal = horizontal >= vertical;

    float side1 = is_horizontal ? down : left;
    float side2 = is_horizontal ? up : right;
    float gradient1 = side1 - centre;
    float gradient2 = side2 - centre;
    bool side1_steeper = abs(gradient1) >= abs(gradient2);
    float gradient_scaled = 0.25 * max(abs(gradient1), abs(gradient2));

    ivec2 across = is_horizontal ? ivec2(0, 1) : ivec2(1, 0);
    float local_mean;
    if (side1_steeper) {
        across = -across;
        local_mean = 0.5 * (side1 + centre);
    } else {
        local_mean = 0.5 * (side2 + centre);
    }
    ivec2 along = is_horizontal ? ivec2(1, 0) : ivec2(0, 1);

    int distance1 = 1;
    int distance2 = 1;
    ivec2 q1 = p - along;
    ivec2 q2 = p + along;
    float end1 = 0.5 * (signal_at(q1) + signal_at(q1 + across)) - local_mean;
    float end2 = 0.5 * (signal_at(q2) + signal_at(q2 + across)) - local_mean;
    bool reached1 = abs(end1) >= gradient_scaled;
    bool reached2 = abs(end2) >= gradient_scaled;
    for (int i = 1; i < SEARCH_STEPS && !(reached1 && reached2); i++) {
        int step_size = i < 5 ? 1 : (i < 8 ? 2 : (i < 9 ? 4 : 8));
        if (!reached1) {
            distance1 += step_size;
            q1 = p - distance1 * along;
            end1 = 0.5 * (signal_at(q1) + signal_at(q1 + across)) - local_mean;
            reached1 = abs(end1) >= gradient_scaled;
        }
        if (!reached2) {
            distance2 += step_size;
            q2 = p + distance2 * along;
            end2 = 0.5 * (signal_at(q2) + signal_at(q2 + across)) - local_mean;
            reached2 = abs(end2) >= gradient_scaled;
        }
    }

    bool nearer1 = distance1 < distance2;
    float nearest = float(min(distance1, distance2));
    float edge_length = float(distance1 + distance2);
    bool centre_below = centre < local_mean;
    bool turns_right_way = ((nearer1 ? end1 : end2) < 0.0) != centre_below;
    float edge_blend = turns_right_way ? 0.5 - nearest / edge_length : 0.0;
    frag_color = mix(centre_colour, colour_at(p + across), edge_blend);
}
