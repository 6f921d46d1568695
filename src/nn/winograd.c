// winograd.c - 3x3 convolutions on (C, N, H, W) batches by minimal filtering (see
// include/nn/winograd.h): F(2x2, 3x3) for stride 1, and for stride 2 its polyphase form with 25
// products per 2x2 outputs.
//
// The tiles are taken a block of tile rows at a time (WINO_BLOCK_FLOATS bounds the block's
// transformed input V (16, cin, tb) and products M (16, cout, tb), so that they pass between the
// transforms and the 16 products in the core's L2 cache). Every loop of the transforms runs along
// the tiles of a row or the columns of an image row, contiguous in memory, for the compiler to
// vectorise (this file is built with -O3: see the Makefile).
//
// Matrices (Lavin & Gray 2016, F(2x2, 3x3)):
//   B' = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input tile d 4x4: V = B' d B)
//   G  = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]      (kernel g 3x3: U = G g G')
//   A' = [1 1 1 0; 0 1 -1 -1]                     (product m 4x4: Y = A' m A, 2x2)
//
// Stride 2 (pad 0): two outputs along an axis read 5 inputs d0..d4, y0 = g0 d0 + g1 d1 + g2 d2,
// y1 = g0 d2 + g1 d3 + g2 d4. The even inputs (d0, d2, d4) meet the taps (g0, g2) as a stride-1
// 2-tap correlation, done by F(2, 2) (points 0, -1, infinity: 3 products), and the odd inputs
// (d1, d3) meet g1 directly (2 products): 5 instead of 6 per axis, 25 instead of 36 in 2-D.
//   B5' = [1 0 1 0 0; 0 0 1 0 0; 0 0 1 0 1; 0 1 0 0 0; 0 0 0 1 0]   (V = B5' d B5, d 5x5)
//   G5  = [1 0 0; -1 0 1; 0 0 1; 0 1 0; 0 1 0]                      (U = G5 g G5')
//   A5' = [1 1 0 1 0; 0 -1 1 0 1]                                   (Y = A5' m A5)
// Only additions and copies: rounding as the direct sum's, plus a few terms. Tiles step 4 input
// columns and rows.
#include "nn/winograd.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

// Block sizes of 32K-512K floats with at least 32-128 tiles were measured on the full FaceNet (batch
// 1, AVX2): all within the noise (29-32 ms a forward); these are the middle of that range.
#define WINO_BLOCK_FLOATS 131072  // 512 KB: V and M of one block (an L2 cache of Zen 3)
#define WINO_MIN_TILES 64         // but at least this many tiles per product (its N)

int hy_wino_init(hy_wino *wg, const float *w, int cout, int cin, int pad, int stride, hy_arena *ar) {
    memset(wg, 0, sizeof *wg);
    if (cout < 1 || cin < 1 || (stride == 1 && pad != 0 && pad != 1) || (stride == 2 && pad != 0) ||
        (stride != 1 && stride != 2))
        return hy_err(HY_EARG, "winograd: bad conv (cout %d, cin %d, pad %d, stride %d)", cout, cin, pad, stride);
    wg->cin = cin, wg->cout = cout, wg->pad = pad, wg->stride = stride;
    const int T = stride == 1 ? 4 : 5;  // transformed tile side
    wg->np = T * T;
    const size_t cc = (size_t)cout * cin;
    wg->u_in_arena = (wg->u = hy_arena_alloc(ar, sizeof(float) * wg->np * cc)) != NULL;
    if (!wg->u && !(wg->u = hy_malloc(sizeof(float) * wg->np * cc))) return HY_ENOMEM;
    static const double G4[5][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
    static const double G5[5][3] = {{1, 0, 0}, {-1, 0, 1}, {0, 0, 1}, {0, 1, 0}, {0, 1, 0}};
    const double(*G)[3] = stride == 1 ? G4 : G5;
    for (size_t kc = 0; kc < cc; kc++) {
        const float *g = w + kc * 9;
        double t[5][3];  // G g
        for (int a = 0; a < T; a++)
            for (int j = 0; j < 3; j++) t[a][j] = G[a][0] * g[j] + G[a][1] * g[3 + j] + G[a][2] * g[6 + j];
        for (int a = 0; a < T; a++)
            for (int b = 0; b < T; b++)
                wg->u[(size_t)(T * a + b) * cc + kc] = (float)(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
    }
    for (int x = 0; x < wg->np; x++)
        if (hy_sgemm_pack_in(&wg->ga[x], ar, cout, cin, 1.0f, wg->u + (size_t)x * cc, cin)) {
            hy_wino_free(wg);
            return HY_ENOMEM;
        }
    return HY_OK;
}

void hy_wino_free(hy_wino *wg) {
    for (int x = 0; x < HY_WINO_MAX_PRODUCTS; x++) hy_sgemm_free(&wg->ga[x]);
    if (!wg->u_in_arena) free(wg->u);
    memset(wg, 0, sizeof *wg);
}

int hy_wino_fast(const hy_wino *wg) { return wg->u && hy_sgemm_a_packed_now(&wg->ga[0]); }

// Output size along an axis of input size n.
static int out_len(const hy_wino *wg, int n) { return wg->stride == 1 ? n + 2 * wg->pad - 2 : (n - 3) / 2 + 1; }

// Tile rows per block for tiles of width tw.
static int block_rows(const hy_wino *wg, int tw) {
    int tiles = WINO_BLOCK_FLOATS / (wg->np * (wg->cin + wg->cout));
    if (tiles < WINO_MIN_TILES) tiles = WINO_MIN_TILES;
    int r = tiles / tw;
    return r < 1 ? 1 : r;
}

size_t hy_wino_scratch_floats(const hy_wino *wg, int w) {
    const int tw = (out_len(wg, w) + 1) / 2;
    const size_t tb = (size_t)block_rows(wg, tw) * tw;
    return (size_t)wg->np * (wg->cin + wg->cout) * tb + 10 * (size_t)(4 * tw + 2);  // V, M, 10 rows
}

int hy_wino_pays(int stride, int h, int w) {
    // Stride 1: 16 products per 2x2 tile against 36. Stride 2: 25 against 36, but its transformed
    // kernels are 25/9 of the weights, which a product over few tiles streams from memory for
    // little work: FaceNet's Mixed_6a (8x8 outputs, 16 tiles) went 2.05 -> 2.94 ms on AVX-512 at
    // batch 1 (3.23 -> 3.11 on AVX2), conv2d_4b (17x17, 81 tiles) 2.71 -> 2.34 ms on AVX2 and
    // even on AVX-512. So stride 2 from 64 tiles per image.
    if (stride == 1) return 1;
    const int ho = (h - 3) / 2 + 1, wo = (w - 3) / 2 + 1;
    return ho >= 1 && wo >= 1 && ((ho + 1) / 2) * ((wo + 1) / 2) >= 64;
}

// B' d along the columns of 4 input rows (u0..u3 = rows of B' d).
static void columns_bt(int W2, const float *restrict d0, const float *restrict d1, const float *restrict d2,
                       const float *restrict d3, float *restrict u0, float *restrict u1, float *restrict u2,
                       float *restrict u3) {
    for (int j = 0; j < W2; j++) {
        u0[j] = d0[j] - d2[j];
        u1[j] = d1[j] + d2[j];
        u2[j] = d2[j] - d1[j];
        u3[j] = d1[j] - d3[j];
    }
}

// V (16, cin, tb) for tile rows [g0, g1) (g = image * th + tile row) of in (cin, n, h, w).
static void input_tiles(float *V, size_t tb, float *rows, const float *in, const hy_wino *wg, int n, int h, int w,
                        int th, int tw, int g0, int g1) {
    const int W2 = 2 * tw + 2, p = wg->pad;  // a tile row reads input columns -p .. 2 tw + 1 - p
    float *d[4], *u[4];
    for (int r = 0; r < 4; r++) d[r] = rows + (size_t)r * W2, u[r] = rows + (size_t)(4 + r) * W2;
    for (int c = 0; c < wg->cin; c++)
        for (int g = g0; g < g1; g++) {
            const int i = g / th, y0 = 2 * (g % th) - p;
            const float *plane = in + ((size_t)c * n + i) * h * w;
            for (int r = 0; r < 4; r++) {  // the 4 input rows, zero outside the image
                const int y = y0 + r;
                float *dst = d[r];
                if (y < 0 || y >= h) {
                    memset(dst, 0, sizeof(float) * W2);
                    continue;
                }
                const int lo = p, hi = w + p < W2 ? w + p : W2;  // dst[j] = row[j - p] for j in [lo, hi)
                for (int j = 0; j < lo; j++) dst[j] = 0.0f;
                memcpy(dst + lo, plane + (size_t)y * w, sizeof(float) * (hi - lo));
                for (int j = hi; j < W2; j++) dst[j] = 0.0f;
            }
            columns_bt(W2, d[0], d[1], d[2], d[3], u[0], u[1], u[2], u[3]);
            const size_t t0 = (size_t)(g - g0) * tw;
            for (int a = 0; a < 4; a++) {  // (B' d) B: along the rows, one tile per 2 columns
                const float *restrict s = u[a];
                float *restrict v0 = V + ((size_t)(4 * a) * wg->cin + c) * tb + t0;
                float *restrict v1 = v0 + (size_t)wg->cin * tb, *restrict v2 = v1 + (size_t)wg->cin * tb,
                                *restrict v3 = v2 + (size_t)wg->cin * tb;
                for (int x = 0; x < tw; x++) {
                    const float e0 = s[2 * x], e1 = s[2 * x + 1], e2 = s[2 * x + 2], e3 = s[2 * x + 3];
                    v0[x] = e0 - e2;
                    v1[x] = e1 + e2;
                    v2[x] = e2 - e1;
                    v3[x] = e1 - e3;
                }
            }
        }
}

// One row of output tiles of one channel: r0, r1 (2 tw each) = the two output rows of
// A' m A + b (then ReLU) from the 16 products m_x[t] = m0[x * st + t], x = 4a + b.
static void tile_row_at(int tw, const float *restrict m0, size_t st, float b, int relu, float *restrict r0,
                        float *restrict r1) {
#define MX(x) m0[(size_t)(x) * st + t]
    for (int t = 0; t < tw; t++) {
        // A' m: s[a][0] = m[a][0] + m[a][1] + m[a][2], s[a][1] = m[a][1] - m[a][2] - m[a][3]
        const float s00 = MX(0) + MX(1) + MX(2), s01 = MX(1) - MX(2) - MX(3);
        const float s10 = MX(4) + MX(5) + MX(6), s11 = MX(5) - MX(6) - MX(7);
        const float s20 = MX(8) + MX(9) + MX(10), s21 = MX(9) - MX(10) - MX(11);
        const float s30 = MX(12) + MX(13) + MX(14), s31 = MX(13) - MX(14) - MX(15);
        float y00 = s00 + s10 + s20 + b, y01 = s01 + s11 + s21 + b;
        float y10 = s10 - s20 - s30 + b, y11 = s11 - s21 - s31 + b;
        if (relu) {  // max(x, 0) as x > 0 ? x : 0 (+0 for -0 and NaN), like the GEMM epilogue
            y00 = y00 > 0.0f ? y00 : 0.0f, y01 = y01 > 0.0f ? y01 : 0.0f;
            y10 = y10 > 0.0f ? y10 : 0.0f, y11 = y11 > 0.0f ? y11 : 0.0f;
        }
        r0[2 * t] = y00, r0[2 * t + 1] = y01, r1[2 * t] = y10, r1[2 * t + 1] = y11;
    }
#undef MX
}

// Stride 2: V (25, cin, tb) for tile rows [g0, g1) of in (cin, n, h, w); tile (ty, tx) reads the
// 5x5 inputs from row 4 ty and column 4 tx (zero past the image: partial last tiles).
static void input_tiles_s2(float *V, size_t tb, float *rows, const float *in, const hy_wino *wg, int n, int h,
                           int w, int th, int tw, int g0, int g1) {
    const int W5 = 4 * tw + 1, cw = w < W5 ? w : W5;
    float *d[5], *u[5];
    for (int r = 0; r < 5; r++) d[r] = rows + (size_t)r * W5, u[r] = rows + (size_t)(5 + r) * W5;
    for (int c = 0; c < wg->cin; c++)
        for (int g = g0; g < g1; g++) {
            const int i = g / th, y0 = 4 * (g % th);
            const float *plane = in + ((size_t)c * n + i) * h * w;
            for (int r = 0; r < 5; r++) {  // the 5 input rows, zero past the image
                float *dst = d[r];
                if (y0 + r >= h) {
                    memset(dst, 0, sizeof(float) * W5);
                    continue;
                }
                memcpy(dst, plane + (size_t)(y0 + r) * w, sizeof(float) * cw);
                for (int j = cw; j < W5; j++) dst[j] = 0.0f;
            }
            for (int j = 0; j < W5; j++) {  // B5' d along the columns
                u[0][j] = d[0][j] + d[2][j];
                u[1][j] = d[2][j];
                u[2][j] = d[2][j] + d[4][j];
                u[3][j] = d[1][j];
                u[4][j] = d[3][j];
            }
            const size_t t0 = (size_t)(g - g0) * tw, st = (size_t)wg->cin * tb;
            for (int a = 0; a < 5; a++) {  // (B5' d) B5 along the rows, one tile per 4 columns
                const float *restrict e = u[a];
                float *restrict v0 = V + ((size_t)(5 * a) * wg->cin + c) * tb + t0;
                for (int x = 0; x < tw; x++) {
                    const float e0 = e[4 * x], e1 = e[4 * x + 1], e2 = e[4 * x + 2], e3 = e[4 * x + 3],
                                e4 = e[4 * x + 4];
                    v0[x] = e0 + e2;
                    v0[st + x] = e2;
                    v0[2 * st + x] = e2 + e4;
                    v0[3 * st + x] = e1;
                    v0[4 * st + x] = e3;
                }
            }
        }
}

// Stride 2: one row of output tiles of one channel (see tile_row_at) from the 25 products.
static void tile_row_s2(int tw, const float *restrict m0, size_t st, float b, int relu, float *restrict r0,
                        float *restrict r1) {
#define MX(a, c) m0[(size_t)(5 * (a) + (c)) * st + t]
    for (int t = 0; t < tw; t++) {
        float s0[5], s1[5];  // A5' along the second index: s[a][0], s[a][1]
        for (int a = 0; a < 5; a++) {
            s0[a] = MX(a, 0) + MX(a, 1) + MX(a, 3);
            s1[a] = MX(a, 2) - MX(a, 1) + MX(a, 4);
        }
        float y00 = s0[0] + s0[1] + s0[3] + b, y01 = s1[0] + s1[1] + s1[3] + b;
        float y10 = s0[2] - s0[1] + s0[4] + b, y11 = s1[2] - s1[1] + s1[4] + b;
        if (relu) {
            y00 = y00 > 0.0f ? y00 : 0.0f, y01 = y01 > 0.0f ? y01 : 0.0f;
            y10 = y10 > 0.0f ? y10 : 0.0f, y11 = y11 > 0.0f ? y11 : 0.0f;
        }
        r0[2 * t] = y00, r0[2 * t + 1] = y01, r1[2 * t] = y10, r1[2 * t + 1] = y11;
    }
#undef MX
}

// out tiles of rows [g0, g1) from M (16 or 25, cout, tb): Y = A' m A + bias, ReLU.
static void output_tiles(float *out, size_t ldo, const float *M, size_t tb, float *rows, const hy_wino *wg, int ho,
                         int wo, int th, int tw, int g0, int g1, const float *bias, int relu) {
    const int cout = wg->cout;
    float *restrict r0 = rows, *restrict r1 = rows + 2 * tw + 2;
    for (int k = 0; k < cout; k++) {
        const float b = bias ? bias[k] : 0.0f;
        for (int g = g0; g < g1; g++) {
            const int i = g / th, y = 2 * (g % th);
            const float *m = M + (size_t)k * tb + (size_t)(g - g0) * tw;
            if (wg->stride == 1) tile_row_at(tw, m, (size_t)cout * tb, b, relu, r0, r1);
            else tile_row_s2(tw, m, (size_t)cout * tb, b, relu, r0, r1);
            float *dst = out + (size_t)k * ldo + ((size_t)i * ho + y) * wo;
            memcpy(dst, r0, sizeof(float) * wo);
            if (y + 1 < ho) memcpy(dst + wo, r1, sizeof(float) * wo);
        }
    }
}

void hy_wino_conv(float *out, size_t ldo, const float *in, const hy_wino *wg, int n, int h, int w, const float *bias,
                  int relu, float *scratch) {
    const int ho = out_len(wg, h), wo = out_len(wg, w);
    const int th = (ho + 1) / 2, tw = (wo + 1) / 2, R = block_rows(wg, tw);
    const size_t tbmax = (size_t)R * tw;
    float *V = scratch, *M = V + (size_t)wg->np * wg->cin * tbmax, *rows = M + (size_t)wg->np * wg->cout * tbmax;
    const int G = n * th;
    for (int g0 = 0; g0 < G; g0 += R) {
        const int g1 = g0 + R < G ? g0 + R : G;
        const size_t tb = (size_t)(g1 - g0) * tw;
        if (wg->stride == 1) input_tiles(V, tb, rows, in, wg, n, h, w, th, tw, g0, g1);
        else input_tiles_s2(V, tb, rows, in, wg, n, h, w, th, tw, g0, g1);
        for (int x = 0; x < wg->np; x++)
            hy_sgemm_a_mul(&wg->ga[x], (int)tb, V + (size_t)x * wg->cin * tb, (int)tb, 0.0f,
                           M + (size_t)x * wg->cout * tb, (int)tb);
        output_tiles(out, ldo, M, tb, rows, wg, ho, wo, th, tw, g0, g1, bias, relu);
    }
}
