// conv3x3.c - direct 3x3 convolution kernels (see include/nn/conv3x3.h).
//
// Layout: activations CHW; one task = one output row for all output channels, followed by
// the epilogue on that row while it is still in cache; the input row two tasks ahead is
// prefetched. Inside a task, for each block of output channels (8, or 4 for the folded
// kernel; 3 blocks at once for rows of one vector) and each block of up to 3 x 16 pixels,
// the accumulators stay in AVX-512 registers for the whole reduction over (cin, taps):
// input vectors are loaded from the row (shifted by the tap; masked loads supply the zero
// padding at the row ends; rows outside the image read a zero row with stride 0) and
// multiplied by weights broadcast from the packed layout, which is contiguous in the
// order the loop reads it.
#include "nn/conv3x3.h"

#ifndef _OPENMP  // NO_OMP=1 builds: the loops run serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C3_X86 1
#define C3_TARGET __attribute__((target("avx512f")))
#define C3_INLINE static inline __attribute__((always_inline, target("avx512f")))
#endif

#define NCO_P 8    // output channels per block, plain kernel
#define NCO_U 4    // output channels per block, folded (upsampling) kernel
#define C3_MAXW 4096

// A zero row read for taps above/below the image (and as the masked-load base).
static const float c3_zeros[C3_MAXW + 64];

int hy_c3_available(void) {
#ifdef C3_X86
    static int cached = -1;
    if (cached < 0) {
        const char *e = getenv("HY_CONV3X3");
        __builtin_cpu_init();
        cached = (e && e[0] == '0') ? 0 : (__builtin_cpu_supports("avx512f") ? 1 : 0);
    }
    return cached;
#else
    return 0;
#endif
}

int hy_c3_supported(int cin, int cout, int h, int w, int up) {
    (void)up;
    return hy_c3_available() && cin >= 1 && h >= 1 && w >= 1 && w <= C3_MAXW && cout >= 8 && cout % NCO_P == 0;
}

size_t hy_c3_packed_floats(int cin, int cout, int up) { return (size_t)cout * cin * (up ? 16 : 9); }

// Folding along one axis: output parity p, source offset a (0/1) -> the 3x3 taps k it sums:
// p = 0: a = 0 <- {0}, a = 1 <- {1, 2};  p = 1: a = 0 <- {0, 1}, a = 1 <- {2}.
static const int FOLD_LO[2][2] = {{0, 1}, {0, 2}}, FOLD_HI[2][2] = {{0, 2}, {1, 2}};  // k in [lo, hi]

void hy_c3_pack(float *dst, const float *W, int cin, int cout, int up) {
    if (!up) {
        // [cob][ci][tap 9][NCO_P], each block written in order (blocks in parallel: the page
        // faults of a fresh destination are a large part of the cost)
#pragma omp parallel for schedule(dynamic, 1)
        for (int co0 = 0; co0 < cout; co0 += NCO_P) {
            float *d = dst + (size_t)co0 * cin * 9;
            for (int ci = 0; ci < cin; ci++)
                for (int t = 0; t < 9; t++)
                    for (int j = 0; j < NCO_P; j++) *d++ = W[((size_t)(co0 + j) * cin + ci) * 9 + t];
        }
        return;
    }
    // [cob][ci][py][a][px][b][NCO_U]; output (2y+py, 2x+px) reads source (y+py-1+a, x+px-1+b)
#pragma omp parallel for schedule(dynamic, 4)
    for (int co = 0; co < cout; co++)
        for (int ci = 0; ci < cin; ci++) {
            const float *w9 = W + ((size_t)co * cin + ci) * 9;
            double rows[2][2][3];  // [py][a][kx]: the folded rows, summed in double
            for (int py = 0; py < 2; py++)
                for (int a = 0; a < 2; a++)
                    for (int kx = 0; kx < 3; kx++) {
                        double t = 0;
                        for (int ky = FOLD_LO[py][a]; ky <= FOLD_HI[py][a]; ky++) t += w9[ky * 3 + kx];
                        rows[py][a][kx] = t;
                    }
            float *d = dst + ((size_t)(co / NCO_U) * cin + ci) * 16 * NCO_U + co % NCO_U;
            for (int py = 0; py < 2; py++)
                for (int a = 0; a < 2; a++)
                    for (int px = 0; px < 2; px++)
                        for (int b = 0; b < 2; b++) {
                            double t = 0;
                            for (int kx = FOLD_LO[px][b]; kx <= FOLD_HI[px][b]; kx++) t += rows[py][a][kx];
                            d[(((py * 2 + a) * 2 + px) * 2 + b) * NCO_U] = (float)t;  // rounded once
                        }
        }
}

#ifdef C3_X86

C3_INLINE __m512 lrelu16(__m512 v, __m512 slope) {
    __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(pos, _mm512_mul_ps(v, slope), v);
}

// Loads 16 floats; in the edge blocks (EDGE: first or last block of the row) with a mask whose
// zero lanes read as 0 (padding) and are never touched in memory; interior blocks load plainly.
#define LD(mask, ptr) (EDGE ? _mm512_maskz_loadu_ps((mask), (ptr)) : _mm512_loadu_ps(ptr))

// Plain 3x3: output row (pointer o at channel co0, this row, column 0), NB blocks of NCO_P
// channels (their packed weights wstride floats apart), columns [x0, x0 + 16 NPV).
// rows[3]/rs[3]: input rows y-1, y, y+1 of channel 0 and their per-channel strides (0 for
// the zero row). NB x NCO_P x NPV <= 24 accumulators stay in registers.
C3_INLINE void k_plain(float *o, size_t ohw, const float *const rows[3], const size_t rs[3], const float *wp,
                       size_t wstride, const float *bias, int cin, int x0, int w, int lrelu, float slope,
                       const int NPV, const int NB, const int EDGE) {
    enum { NCH = 3 * NCO_P };
    __m512 acc[NCH][3];
    #pragma GCC unroll 24
    for (int j = 0; j < NB * NCO_P; j++) {
        __m512 bj = _mm512_set1_ps(bias ? bias[j] : 0.0f);
        #pragma GCC unroll 8
        for (int v = 0; v < NPV; v++) acc[j][v] = bj;
    }
    // masks: mL drops column -1 (first vector); for the last vector, mS keeps the columns
    // < w, mR the columns whose right neighbour is < w (rem = columns from its start to w)
    const int rem = w - x0 - 16 * (NPV - 1);
    const __mmask16 mL = x0 == 0 ? 0xFFFE : 0xFFFF;
    const __mmask16 mS = rem >= 16 ? 0xFFFF : (__mmask16)((1u << rem) - 1);
    const __mmask16 mR = rem - 1 >= 16 ? 0xFFFF : (__mmask16)((1u << (rem - 1)) - 1);
    const float *p0 = rows[0] + x0, *p1 = rows[1] + x0, *p2 = rows[2] + x0;
    for (int ci = 0; ci < cin; ci++) {
        const float *pr[3] = {p0, p1, p2};
#pragma GCC unroll 3
        for (int dy = 0; dy < 3; dy++) {
            const float *p = pr[dy];
            __m512 X[3];
            // dx = 0: column x - 1
            #pragma GCC unroll 8
            for (int v = 0; v < NPV; v++)
                X[v] = LD((v == 0 ? mL : 0xFFFF) & (v == NPV - 1 ? mS : 0xFFFF), p + 16 * v - 1);
            #pragma GCC unroll 24
            for (int j = 0; j < NB * NCO_P; j++) {
                __m512 wj = _mm512_set1_ps(wp[(j / NCO_P) * wstride + (dy * 3 + 0) * NCO_P + j % NCO_P]);
                #pragma GCC unroll 8
                for (int v = 0; v < NPV; v++) acc[j][v] = _mm512_fmadd_ps(wj, X[v], acc[j][v]);
            }
            #pragma GCC unroll 8
            for (int v = 0; v < NPV; v++) X[v] = LD(v == NPV - 1 ? mS : 0xFFFF, p + 16 * v);
            #pragma GCC unroll 24
            for (int j = 0; j < NB * NCO_P; j++) {
                __m512 wj = _mm512_set1_ps(wp[(j / NCO_P) * wstride + (dy * 3 + 1) * NCO_P + j % NCO_P]);
                #pragma GCC unroll 8
                for (int v = 0; v < NPV; v++) acc[j][v] = _mm512_fmadd_ps(wj, X[v], acc[j][v]);
            }
            #pragma GCC unroll 8
            for (int v = 0; v < NPV; v++)
                X[v] = LD(v == NPV - 1 ? mR : 0xFFFF, p + 16 * v + 1);
            #pragma GCC unroll 24
            for (int j = 0; j < NB * NCO_P; j++) {
                __m512 wj = _mm512_set1_ps(wp[(j / NCO_P) * wstride + (dy * 3 + 2) * NCO_P + j % NCO_P]);
                #pragma GCC unroll 8
                for (int v = 0; v < NPV; v++) acc[j][v] = _mm512_fmadd_ps(wj, X[v], acc[j][v]);
            }
        }
        p0 += rs[0], p1 += rs[1], p2 += rs[2];
        wp += 9 * NCO_P;
    }
    const __m512 sl = _mm512_set1_ps(slope);
    #pragma GCC unroll 24
    for (int j = 0; j < NB * NCO_P; j++)
        #pragma GCC unroll 8
        for (int v = 0; v < NPV; v++) {
            __m512 r = lrelu ? lrelu16(acc[j][v], sl) : acc[j][v];
            if (EDGE) _mm512_mask_storeu_ps(o + (size_t)j * ohw + x0 + 16 * v, v == NPV - 1 ? mS : 0xFFFF, r);
            else _mm512_storeu_ps(o + (size_t)j * ohw + x0 + 16 * v, r);
        }
}

// Folded upsample+3x3 for output row 2y+py: rows[2] = source rows y+py-1, y+py (channel 0),
// source columns [x0, x0 + 16 NPV) -> output columns [2 x0, 2 x0 + 32 NPV), NCO_U channels.
C3_INLINE void k_up(float *o, size_t ohw, const float *const rows[2], const size_t rs[2], const float *wp,
                    size_t wstride, const float *bias, int cin, int x0, int w, int lrelu, float slope, const int NPV,
                    const int NB, const int EDGE) {
    enum { NCH = 3 * NCO_U };
    __m512 acc[2][NCH][3];  // [px][channel][vector]
    #pragma GCC unroll 12
    for (int j = 0; j < NB * NCO_U; j++) {
        __m512 bj = _mm512_set1_ps(bias ? bias[j] : 0.0f);
        #pragma GCC unroll 8
        for (int v = 0; v < NPV; v++) acc[0][j][v] = acc[1][j][v] = bj;
    }
    // masks: mL drops column -1 (first vector); for the last vector, mS keeps the columns
    // < w, mR the columns whose right neighbour is < w (rem = columns from its start to w)
    const int rem = w - x0 - 16 * (NPV - 1);
    const __mmask16 mL = x0 == 0 ? 0xFFFE : 0xFFFF;
    const __mmask16 mS = rem >= 16 ? 0xFFFF : (__mmask16)((1u << rem) - 1);
    const __mmask16 mR = rem - 1 >= 16 ? 0xFFFF : (__mmask16)((1u << (rem - 1)) - 1);
    const float *p0 = rows[0] + x0, *p1 = rows[1] + x0;
    for (int ci = 0; ci < cin; ci++) {
        const float *pr[2] = {p0, p1};
#pragma GCC unroll 2
        for (int a = 0; a < 2; a++) {
            const float *p = pr[a];
            const float *wa = wp + a * 4 * NCO_U;  // taps (a, px, b) = a*4 + px*2 + b
#define WU(tap, j) wa[((j) / NCO_U) * wstride + (tap) * NCO_U + (j) % NCO_U]
            __m512 X[3];
            // source column x - 1: px = 0, b = 0
            #pragma GCC unroll 8
            for (int v = 0; v < NPV; v++)
                X[v] = LD((v == 0 ? mL : 0xFFFF) & (v == NPV - 1 ? mS : 0xFFFF), p + 16 * v - 1);
            #pragma GCC unroll 12
            for (int j = 0; j < NB * NCO_U; j++) {
                __m512 wj = _mm512_set1_ps(WU(0, j));
                #pragma GCC unroll 8
                for (int v = 0; v < NPV; v++) acc[0][j][v] = _mm512_fmadd_ps(wj, X[v], acc[0][j][v]);
            }
            // column x: (px 0, b 1) and (px 1, b 0)
            #pragma GCC unroll 8
            for (int v = 0; v < NPV; v++) X[v] = LD(v == NPV - 1 ? mS : 0xFFFF, p + 16 * v);
            #pragma GCC unroll 12
            for (int j = 0; j < NB * NCO_U; j++) {
                __m512 w01 = _mm512_set1_ps(WU(1, j)), w10 = _mm512_set1_ps(WU(2, j));
                #pragma GCC unroll 8
                for (int v = 0; v < NPV; v++) {
                    acc[0][j][v] = _mm512_fmadd_ps(w01, X[v], acc[0][j][v]);
                    acc[1][j][v] = _mm512_fmadd_ps(w10, X[v], acc[1][j][v]);
                }
            }
            // column x + 1: px = 1, b = 1
            #pragma GCC unroll 8
            for (int v = 0; v < NPV; v++)
                X[v] = LD(v == NPV - 1 ? mR : 0xFFFF, p + 16 * v + 1);
            #pragma GCC unroll 12
            for (int j = 0; j < NB * NCO_U; j++) {
                __m512 wj = _mm512_set1_ps(WU(3, j));
                #pragma GCC unroll 8
                for (int v = 0; v < NPV; v++) acc[1][j][v] = _mm512_fmadd_ps(wj, X[v], acc[1][j][v]);
            }
        }
#undef WU
        p0 += rs[0], p1 += rs[1];
        wp += 16 * NCO_U;
    }
    const __m512 sl = _mm512_set1_ps(slope);
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    #pragma GCC unroll 12
    for (int j = 0; j < NB * NCO_U; j++)
        #pragma GCC unroll 8
        for (int v = 0; v < NPV; v++) {
            __m512 e = acc[0][j][v], d = acc[1][j][v];
            if (lrelu) e = lrelu16(e, sl), d = lrelu16(d, sl);
            float *dst = o + (size_t)j * ohw + 2 * (x0 + 16 * v);
            __mmask16 mlo = 0xFFFF, mhi = 0xFFFF;  // output columns 2x, 2x+1 for x < w
            if (v == NPV - 1 && rem < 16) {
                mlo = rem >= 8 ? 0xFFFF : (__mmask16)((1u << (2 * rem)) - 1);
                mhi = rem > 8 ? (__mmask16)((1u << (2 * (rem - 8))) - 1) : 0;
            }
            if (EDGE) {
                _mm512_mask_storeu_ps(dst, mlo, _mm512_permutex2var_ps(e, lo, d));
                _mm512_mask_storeu_ps(dst + 16, mhi, _mm512_permutex2var_ps(e, hi, d));
            } else {
                _mm512_storeu_ps(dst, _mm512_permutex2var_ps(e, lo, d));
                _mm512_storeu_ps(dst + 16, _mm512_permutex2var_ps(e, hi, d));
            }
        }
}

// Instantiations: (NPV, NB) = (3, 1) and (2, 1) interior or edge, (1, 3) and (1, 1) edge.
C3_TARGET static void k_plain_n(float *o, size_t ohw, const float *const rows[3], const size_t rs[3], const float *wp,
                                size_t wstride, const float *bias, int cin, int x0, int w, int lrelu, float slope,
                                int npv, int nb) {
    int inner = x0 > 0 && x0 + 16 * npv < w;
    if (npv == 3 && inner) k_plain(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 3, 1, 0);
    else if (npv == 3) k_plain(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 3, 1, 1);
    else if (npv == 2 && inner) k_plain(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 2, 1, 0);
    else if (npv == 2) k_plain(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 2, 1, 1);
    else if (nb == 3) k_plain(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 1, 3, 1);
    else k_plain(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 1, 1, 1);
}

C3_TARGET static void k_up_n(float *o, size_t ohw, const float *const rows[2], const size_t rs[2], const float *wp,
                             size_t wstride, const float *bias, int cin, int x0, int w, int lrelu, float slope, int npv,
                             int nb) {
    int inner = x0 > 0 && x0 + 16 * npv < w;
    if (npv == 3 && inner) k_up(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 3, 1, 0);
    else if (npv == 3) k_up(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 3, 1, 1);
    else if (npv == 2 && inner) k_up(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 2, 1, 0);
    else if (npv == 2) k_up(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 2, 1, 1);
    else if (nb == 3) k_up(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 1, 3, 1);
    else k_up(o, ohw, rows, rs, wp, wstride, bias, cin, x0, w, lrelu, slope, 1, 1, 1);
}

// Pixel norm (same operations, in the same order, as hy_pixel_norm() in ops.c, so results are
// bit-identical) and the optional toRGB on one output row: x = out + c*ohw (W floats each).
// x: the row of channel 0, channel c at x + c*ohw; the rgb row q is at
// rgb_out + q*rgb_hw + row_off.
C3_TARGET static void row_epilogue(float *x, size_t ohw, int cout, int W, size_t rgb_hw, size_t row_off,
                                   const c3_epilogue *ep) {
    const __m512 cf = _mm512_set1_ps((float)cout), eps = _mm512_set1_ps(ep->eps), one = _mm512_set1_ps(1.0f);
    for (int k = 0; k < W; k += 16) {
        const __mmask16 m = W - k >= 16 ? 0xFFFF : (__mmask16)((1u << (W - k)) - 1);
        if (ep->pn) {
            __m512 s = _mm512_setzero_ps();
            for (int c = 0; c < cout; c++) {
                __m512 v = _mm512_maskz_loadu_ps(m, x + (size_t)c * ohw + k);
                s = _mm512_add_ps(s, _mm512_mul_ps(v, v));
            }
            __m512 sc = _mm512_div_ps(one, _mm512_sqrt_ps(_mm512_add_ps(_mm512_div_ps(s, cf), eps)));
            for (int c = 0; c < cout; c++) {
                float *p = x + (size_t)c * ohw + k;
                _mm512_mask_storeu_ps(p, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p), sc));
            }
        }
        if (ep->rgb_out) {
            for (int q = 0; q < 3; q++) {
                __m512 s = _mm512_setzero_ps();
                for (int c = 0; c < cout; c++)
                    s = _mm512_fmadd_ps(_mm512_set1_ps(ep->rgb_w[q * cout + c]),
                                        _mm512_maskz_loadu_ps(m, x + (size_t)c * ohw + k), s);
                s = _mm512_add_ps(s, _mm512_set1_ps(ep->rgb_b ? ep->rgb_b[q] : 0.0f));
                _mm512_mask_storeu_ps(ep->rgb_out + (size_t)q * rgb_hw + row_off + k, m, s);
            }
        }
    }
}

static void prefetch_row(const float *row, size_t stride, int nch, int w) {
    for (int c = 0; c < nch; c++)
        for (int x = 0; x < w; x += 16) __builtin_prefetch(row + (size_t)c * stride + x, 0, 2);
}

// Vectors (of 16 columns) in the pixel block starting at column x0 of a row of width w: 3,
// except that a row end of 4 vectors is split 2 + 2 (a lone vector has only 8 accumulators,
// too few to hide the FMA latency); a row of one vector uses 3 channel blocks instead.
static int x_block(int w, int x0) {
    int nvec = (w - x0 + 15) / 16;
    return nvec == 4 ? 2 : nvec < 3 ? nvec : 3;
}

// One output row Y of the folded upsample+conv (input (cin, h, w), output row of width 2w,
// channel c at orow + c*ostride), bias and optional LReLU applied.
static void row_up(float *orow, size_t ostride, const float *in, size_t istride, int h, int w, int Y,
                   const float *packed,
                   const float *b, int cin, int cout, int lrelu, float slope) {
    int y = Y >> 1, py = Y & 1;
    const float *rows[2];
    size_t rs[2];
    for (int a = 0; a < 2; a++) {
        int sy = y + py - 1 + a;
        int ok = sy >= 0 && sy < h;
        rows[a] = ok ? in + (size_t)sy * w : c3_zeros;
        rs[a] = ok ? istride : 0;
    }
    const size_t wstride = (size_t)cin * 16 * NCO_U;
    for (int x0 = 0; x0 < w;) {
        int npv = x_block(w, x0);
        for (int co = 0; co < cout;) {
            int nb = npv == 1 && cout - co >= 3 * NCO_U ? 3 : 1;
            const float *wp = packed + (size_t)co * cin * 16 + py * 8 * NCO_U;
            k_up_n(orow + (size_t)co * ostride, ostride, rows, rs, wp, wstride, b ? b + co : NULL, cin, x0, w, lrelu,
                   slope, npv, nb);
            co += nb * NCO_U;
        }
        x0 += 16 * npv;
    }
}

// One output row of the plain 3x3 conv from its three input rows (NULL: outside the image)
// whose channels are rstride apart.
static void row_plain(float *orow, size_t ostride, const float *const in_rows[3], size_t rstride, int w,
                      const float *packed, const float *b, int cin, int cout, int lrelu, float slope) {
    const float *rows[3];
    size_t rs[3];
    for (int a = 0; a < 3; a++) {
        rows[a] = in_rows[a] ? in_rows[a] : c3_zeros;
        rs[a] = in_rows[a] ? rstride : 0;
    }
    const size_t wstride = (size_t)cin * 9 * NCO_P;
    for (int x0 = 0; x0 < w;) {
        int npv = x_block(w, x0);
        for (int co = 0; co < cout;) {
            int nb = npv == 1 && cout - co >= 3 * NCO_P ? 3 : 1;
            k_plain_n(orow + (size_t)co * ostride, ostride, rows, rs, packed + (size_t)co * cin * 9, wstride,
                      b ? b + co : NULL, cin, x0, w, lrelu, slope, npv, nb);
            co += nb * NCO_P;
        }
        x0 += 16 * npv;
    }
}

void hy_c3_conv_strided(float *out, size_t ostride, const float *in, size_t istride, const float *packed,
                     const float *b, int cin, int cout, int h, int w, int up, const c3_epilogue *ep) {
    const int H = up ? 2 * h : h, W = up ? 2 * w : w;
    const int lrelu = ep && ep->lrelu;
    const float slope = ep ? ep->slope : 0.0f;
#pragma omp parallel for schedule(dynamic, 1)
    for (int Y = 0; Y < H; Y++) {
        float *orow = out + (size_t)Y * W;
        // the input row that the task two rows on will read first: fetch it into L2 now (one
        // stream per channel plane is more than the hardware prefetchers follow)
        int pre = up ? ((Y + 2) >> 1) + 1 : Y + 3;
        if (pre < h) prefetch_row(in + (size_t)pre * w, istride, cin, w);
        if (up) {
            row_up(orow, ostride, in, istride, h, w, Y, packed, b, cin, cout, lrelu, slope);
        } else {
            const float *rows[3];
            for (int a = 0; a < 3; a++) {
                int sy = Y - 1 + a;
                rows[a] = sy >= 0 && sy < h ? in + (size_t)sy * w : NULL;
            }
            row_plain(orow, ostride, rows, istride, w, packed, b, cin, cout, lrelu, slope);
        }
        if (ep && (ep->pn || ep->rgb_out)) row_epilogue(orow, ostride, cout, W, (size_t)H * W, (size_t)Y * W, ep);
    }
}

void hy_c3_conv(float *out, const float *in, const float *packed, const float *b, int cin, int cout, int h, int w,
             int up, const c3_epilogue *ep) {
    size_t ohw = (size_t)h * w * (up ? 4 : 1);
    hy_c3_conv_strided(out, ohw, in, (size_t)h * w, packed, b, cin, cout, h, w, up, ep);
}

int hy_c3_stage_rgb(const float *in, size_t istride, int cin, int cmid, int h, int w, const float *pk0, const float *b0,
                 const float *pk1, const float *b1, const c3_epilogue *ep) {
    const int H = 2 * h, W = 2 * w, band = 64;
    const size_t ohw = (size_t)H * W;
    const c3_epilogue ep0 = {ep->lrelu, ep->slope, ep->pn, ep->eps, NULL, NULL, NULL};
    int failed = 0;
#pragma omp parallel
    {
        // per thread: a ring of 3 conv0 rows (channel stride 3W + 16, off the power-of-two
        // strides that make all channels of a row collide in the same cache sets) and one
        // conv1 row (channel stride W + 16)
        const size_t rst = (size_t)3 * W + 16, r1st = (size_t)W + 16;
        float *ring = malloc(sizeof(float) * (size_t)cmid * (rst + r1st));
        if (!ring) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int Y0 = 0; Y0 < H; Y0 += band) {
            if (!ring) continue;
            float *row1 = ring + (size_t)cmid * rst;
            int Y1 = Y0 + band < H ? Y0 + band : H;
            // conv0 rows Y0-1 .. Y1 (those inside the image), each computed once per band
            int next = Y0 - 1 < 0 ? 0 : Y0 - 1;
            for (int Y = Y0; Y < Y1; Y++) {
                int need = Y + 1 < H ? Y + 1 : H - 1, pre = ((Y + 4) >> 1) + 1;
                if (!(Y & 1) && pre < h) prefetch_row(in + (size_t)pre * w, istride, cin, w);
                for (; next <= need; next++) {
                    float *o = ring + (size_t)(next % 3) * W;
                    row_up(o, rst, in, istride, h, w, next, pk0, b0, cin, cmid, ep0.lrelu, ep0.slope);
                    if (ep0.pn) row_epilogue(o, rst, cmid, W, 0, 0, &ep0);
                }
                const float *rows[3];
                for (int a = 0; a < 3; a++) {
                    int sy = Y - 1 + a;
                    rows[a] = sy >= 0 && sy < H ? ring + (size_t)(sy % 3) * W : NULL;
                }
                row_plain(row1, r1st, rows, rst, W, pk1, b1, cmid, cmid, ep->lrelu, ep->slope);
                row_epilogue(row1, r1st, cmid, W, ohw, (size_t)Y * W, ep);
            }
        }
        free(ring);
    }
    return failed ? -1 : 0;
}

#else  // !C3_X86: never selected (hy_c3_available() is 0); keeps the API linkable.

void hy_c3_conv(float *out, const float *in, const float *packed, const float *b, int cin, int cout, int h, int w,
             int up, const c3_epilogue *ep) {
    (void)out, (void)in, (void)packed, (void)b, (void)cin, (void)cout, (void)h, (void)w, (void)up, (void)ep;
    abort();
}

void hy_c3_conv_strided(float *out, size_t ostride, const float *in, size_t istride, const float *packed,
                     const float *b, int cin, int cout, int h, int w, int up, const c3_epilogue *ep) {
    (void)out, (void)ostride, (void)in, (void)istride, (void)packed, (void)b, (void)cin, (void)cout, (void)h, (void)w;
    (void)up, (void)ep;
    abort();
}

int hy_c3_stage_rgb(const float *in, size_t istride, int cin, int cmid, int h, int w, const float *pk0, const float *b0,
                 const float *pk1, const float *b1, const c3_epilogue *ep) {
    (void)in, (void)istride, (void)cin, (void)cmid, (void)h, (void)w, (void)pk0, (void)b0, (void)pk1, (void)b1, (void)ep;
    abort();
}

#endif
