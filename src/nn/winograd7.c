// winograd7.c - F(2, 7) convolutions, 1x7 and 7x1 with "same" padding, on (C, N, H, W) batches
// (see include/nn/winograd7.h).
//
// A "tile row" is the set of tiles one block of the loops takes together: for 1x7 one image row
// (ceil(w / 2) tiles along it), for 7x1 one pair of image rows (w tiles, one per column). Tile
// rows are taken a block at a time as in winograd.c (W7_BLOCK_FLOATS bounds the block's V (8,
// cin, tb) and M (8, cout, tb)), and every transform loop runs along contiguous memory: for 1x7
// the padded input row is split into its even and odd columns first, so that the 8 inputs of
// tile t are even[t..t+3] and odd[t..t+3]. Built with -O3 like winograd.c (see the Makefile).
//
// Matrices (Cook-Toom with points 0, 1, -1, 2, -2, 1/2, -1/2, infinity; derived with exact
// fractions and checked against the direct sum):
//   B' = [-1  0    21/4  0     -21/4  0     1  0;      G = [ -1    0     0    0     0    0     0;
//          0  1    1     -17/4 -17/4  1     1  0;           -2/9 -2/9  -2/9 -2/9  -2/9 -2/9  -2/9;
//          0 -1    1     17/4  -17/4 -1     1  0;           -2/9  2/9  -2/9  2/9  -2/9  2/9  -2/9;
//          0  1/2  1/4   -5/2  -5/4   2     1  0;           1/90 1/45  2/45 4/45  8/45 16/45 32/45;
//          0 -1/2  1/4   5/2   -5/4  -2     1  0;           1/90 -1/45 2/45 -4/45 8/45 -16/45 32/45;
//          0  2    4     -5/2  -5     1/2   1  0;           32/45 16/45 8/45 4/45 2/45 1/45 1/90;
//          0 -2    4     5/2   -5    -1/2   1  0;           32/45 -16/45 8/45 -4/45 2/45 -1/45 1/90;
//          0 -1    0     21/4   0    -21/4  0  1]           0     0     0    0     0    0     1]
//   A' = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 1]
// y[i] = sum_k g[k] d[i + k] (i = 0, 1) = (A' ((G g) .* (B' d)))[i].
#include "nn/winograd7.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

#define W7_BLOCK_FLOATS 131072  // V and M of one block: 512 KB (winograd.c's budget)
#define W7_MIN_TILES 64         // but at least this many tiles per product (its N)

int hy_wino7_init(hy_wino7 *wg, const float *w, int cout, int cin, int vertical, hy_arena *ar) {
    memset(wg, 0, sizeof *wg);
    if (cout < 1 || cin < 1) return hy_err(HY_EARG, "winograd F(2,7): bad conv (cout %d, cin %d)", cout, cin);
    wg->cin = cin, wg->cout = cout, wg->vertical = vertical != 0;
    const size_t cc = (size_t)cout * cin;
    wg->u_in_arena = (wg->u = hy_arena_alloc(ar, sizeof(float) * 8 * cc)) != NULL;
    if (!wg->u && !(wg->u = hy_malloc(sizeof(float) * 8 * cc))) return HY_ENOMEM;
    static const double G[8][7] = {
        {-1, 0, 0, 0, 0, 0, 0},
        {-2. / 9, -2. / 9, -2. / 9, -2. / 9, -2. / 9, -2. / 9, -2. / 9},
        {-2. / 9, 2. / 9, -2. / 9, 2. / 9, -2. / 9, 2. / 9, -2. / 9},
        {1. / 90, 1. / 45, 2. / 45, 4. / 45, 8. / 45, 16. / 45, 32. / 45},
        {1. / 90, -1. / 45, 2. / 45, -4. / 45, 8. / 45, -16. / 45, 32. / 45},
        {32. / 45, 16. / 45, 8. / 45, 4. / 45, 2. / 45, 1. / 45, 1. / 90},
        {32. / 45, -16. / 45, 8. / 45, -4. / 45, 2. / 45, -1. / 45, 1. / 90},
        {0, 0, 0, 0, 0, 0, 1}};
    for (size_t kc = 0; kc < cc; kc++) {
        const float *g = w + kc * 7;
        for (int x = 0; x < 8; x++) {
            double s = 0;
            for (int k = 0; k < 7; k++) s += G[x][k] * g[k];
            wg->u[(size_t)x * cc + kc] = (float)s;
        }
    }
    for (int x = 0; x < 8; x++)
        if (hy_sgemm_pack_in(&wg->ga[x], ar, cout, cin, 1.0f, wg->u + (size_t)x * cc, cin)) {
            hy_wino7_free(wg);
            return HY_ENOMEM;
        }
    return HY_OK;
}

void hy_wino7_free(hy_wino7 *wg) {
    for (int x = 0; x < 8; x++) hy_sgemm_free(&wg->ga[x]);
    if (!wg->u_in_arena) free(wg->u);
    memset(wg, 0, sizeof *wg);
}

int hy_wino7_fast(const hy_wino7 *wg) { return wg->u && hy_sgemm_a_packed_now(&wg->ga[0]); }

// Tiles per tile row, and tile rows per block.
static int row_tiles(const hy_wino7 *wg, int w) { return wg->vertical ? w : (w + 1) / 2; }

static int block_rows(const hy_wino7 *wg, int per_row) {
    int tiles = W7_BLOCK_FLOATS / (8 * (wg->cin + wg->cout));
    if (tiles < W7_MIN_TILES) tiles = W7_MIN_TILES;
    const int r = tiles / per_row;
    return r < 1 ? 1 : r;
}

size_t hy_wino7_scratch_floats(const hy_wino7 *wg, int h, int w) {
    (void)h;
    const int per = row_tiles(wg, w);
    const size_t tb = (size_t)block_rows(wg, per) * per;
    return 8 * (size_t)(wg->cin + wg->cout) * tb + 4 * (size_t)(w + 16);  // V, M, row buffers
}

// v[x][t] = (B' d_t)[x] for t < len, where d_t[j] = d[j][t].
static void transform_in(int len, const float *const d[8], float *const v[8]) {
    const float *restrict a0 = d[0], *restrict a1 = d[1], *restrict a2 = d[2], *restrict a3 = d[3];
    const float *restrict a4 = d[4], *restrict a5 = d[5], *restrict a6 = d[6], *restrict a7 = d[7];
    float *restrict o0 = v[0], *restrict o1 = v[1], *restrict o2 = v[2], *restrict o3 = v[3];
    float *restrict o4 = v[4], *restrict o5 = v[5], *restrict o6 = v[6], *restrict o7 = v[7];
    for (int t = 0; t < len; t++) {
        const float x0 = a0[t], x1 = a1[t], x2 = a2[t], x3 = a3[t], x4 = a4[t], x5 = a5[t], x6 = a6[t], x7 = a7[t];
        const float s12 = x2 + x6 - 4.25f * x4, t12 = x1 + x5 - 4.25f * x3;
        const float s34 = 0.25f * x2 - 1.25f * x4 + x6, t34 = 0.5f * x1 - 2.5f * x3 + 2.0f * x5;
        const float s56 = 4.0f * x2 - 5.0f * x4 + x6, t56 = 2.0f * x1 - 2.5f * x3 + 0.5f * x5;
        o0[t] = (x6 - x0) + 5.25f * (x2 - x4);
        o1[t] = s12 + t12, o2[t] = s12 - t12;
        o3[t] = s34 + t34, o4[t] = s34 - t34;
        o5[t] = s56 + t56, o6[t] = s56 - t56;
        o7[t] = (x7 - x1) + 5.25f * (x3 - x5);
    }
}

// y0[t], y1[t] = A' m_t + b (then ReLU) for t < len, where m_t[x] = m0[x * st + t].
static void transform_out(int len, const float *restrict m0, size_t st, float b, int relu, float *restrict y0,
                          float *restrict y1) {
#define MX(x) m0[(size_t)(x) * st + t]
    for (int t = 0; t < len; t++) {
        const float p12 = MX(1) + MX(2), q12 = MX(1) - MX(2), p34 = MX(3) + MX(4), q34 = MX(3) - MX(4);
        const float p56 = MX(5) + MX(6), q56 = MX(5) - MX(6);
        float a = MX(0) + p12 + p34 + p56 + b, c = q12 + 2.0f * q34 + 0.5f * q56 + MX(7) + b;
        if (relu) {  // max(x, 0) as x > 0 ? x : 0 (+0 for -0 and NaN), like the GEMM epilogue
            a = a > 0.0f ? a : 0.0f;
            c = c > 0.0f ? c : 0.0f;
        }
        y0[t] = a, y1[t] = c;
    }
#undef MX
}

// V (8, cin, tb) for tile rows [g0, g1) of in (cin, n, h, w).
static void input_tiles(float *V, size_t tb, float *rows, const float *in, const hy_wino7 *wg, int n, int h, int w,
                        int g0, int g1) {
    const int per = row_tiles(wg, w);
    const float *d[8];
    float *v[8];
    for (int c = 0; c < wg->cin; c++)
        for (int g = g0; g < g1; g++) {
            const size_t t0 = (size_t)(g - g0) * per;
            for (int x = 0; x < 8; x++) v[x] = V + ((size_t)x * wg->cin + c) * tb + t0;
            if (wg->vertical) {  // 8 input rows 2 ty - 3 .. 2 ty + 4 (zero outside the image)
                const int th = (h + 1) / 2, i = g / th, y0 = 2 * (g % th) - 3;
                const float *plane = in + ((size_t)c * n + i) * h * w;
                memset(rows, 0, sizeof(float) * w);
                for (int j = 0; j < 8; j++) d[j] = y0 + j >= 0 && y0 + j < h ? plane + (size_t)(y0 + j) * w : rows;
            } else {  // the row padded by 3 zeros each side, split into even and odd columns
                const float *row = in + ((size_t)c * n + g / h) * h * w + (size_t)(g % h) * w;
                float *pad = rows, *ev = rows + 2 * per + 8, *od = ev + per + 4;
                const int len = 2 * per + 6;  // columns -3 .. 2 per + 2
                memset(pad, 0, sizeof(float) * len);
                memcpy(pad + 3, row, sizeof(float) * w);
                for (int k = 0; k < per + 3; k++) ev[k] = pad[2 * k], od[k] = pad[2 * k + 1];
                for (int j = 0; j < 8; j++) d[j] = (j % 2 ? od : ev) + j / 2;
            }
            transform_in(per, d, v);
        }
}

// out tiles of rows [g0, g1) from M (8, cout, tb): A' m + bias, ReLU.
static void output_tiles(float *out, size_t ldo, const float *M, size_t tb, float *rows, const hy_wino7 *wg, int h,
                         int w, int g0, int g1, const float *bias, int relu) {
    const int per = row_tiles(wg, w), th = (h + 1) / 2;
    float *y0 = rows, *y1 = rows + w + 8;
    for (int k = 0; k < wg->cout; k++) {
        const float b = bias ? bias[k] : 0.0f;
        for (int g = g0; g < g1; g++) {
            const float *m = M + (size_t)k * tb + (size_t)(g - g0) * per;
            if (wg->vertical) {  // rows 2 ty and 2 ty + 1 (when the image has it)
                const int i = g / th, y = 2 * (g % th);
                float *dst = out + (size_t)k * ldo + ((size_t)i * h + y) * w;
                transform_out(per, m, (size_t)wg->cout * tb, b, relu, dst, y + 1 < h ? dst + w : y1);
            } else {  // columns 2 t and 2 t + 1 of one row
                float *dst = out + (size_t)k * ldo + (size_t)g * w;  // (g = i * h + y)
                transform_out(per, m, (size_t)wg->cout * tb, b, relu, y0, y1);
                for (int t = 0; t < w / 2; t++) dst[2 * t] = y0[t], dst[2 * t + 1] = y1[t];
                if (w % 2) dst[w - 1] = y0[per - 1];
            }
        }
    }
}

void hy_wino7_conv(float *out, size_t ldo, const float *in, const hy_wino7 *wg, int n, int h, int w,
                   const float *bias, int relu, float *scratch) {
    const int per = row_tiles(wg, w), R = block_rows(wg, per);
    const int G = wg->vertical ? n * ((h + 1) / 2) : n * h;
    const size_t tbmax = (size_t)R * per;
    float *V = scratch, *M = V + 8 * (size_t)wg->cin * tbmax, *rows = M + 8 * (size_t)wg->cout * tbmax;
    for (int g0 = 0; g0 < G; g0 += R) {
        const int g1 = g0 + R < G ? g0 + R : G;
        const size_t tb = (size_t)(g1 - g0) * per;
        input_tiles(V, tb, rows, in, wg, n, h, w, g0, g1);
        for (int x = 0; x < 8; x++)
            hy_sgemm_a_mul(&wg->ga[x], (int)tb, V + (size_t)x * wg->cin * tb, (int)tb, 0.0f,
                           M + (size_t)x * wg->cout * tb, (int)tb);
        output_tiles(out, ldo, M, tb, rows, wg, h, w, g0, g1, bias, relu);
    }
}
