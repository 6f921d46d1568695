// conv3x3_avx512.c - the AVX-512F kernels of the direct 3x3 convolution (see conv3x3_isa.h
// and include/nn/conv3x3.h). Every function carries target("avx512f"); the file is compiled
// with the baseline flags and only entered when hy_isa() is HY_ISA_AVX512.
//
// Inside a row, for each block of output channels (8, or 4 for the folded kernel; 3 blocks at
// once for rows of one vector) and each block of up to 3 x 16 pixels, the accumulators stay in
// registers for the whole reduction over (cin, taps): input vectors are loaded from the row
// (shifted by the tap; masked loads supply the zero padding at the row ends; rows outside the
// image read a zero row with stride 0) and multiplied by weights broadcast from the packed
// layout, which is contiguous in the order the loop reads it.
#include "conv3x3_isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define C3_TARGET __attribute__((target("avx512f")))
#define C3_INLINE static inline __attribute__((always_inline, target("avx512f")))
#define NCO_P C3_NCO_P
#define NCO_U C3_NCO_U

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
// Long (about 90 lines) and kept whole on purpose: a register-blocked micro-kernel whose
// accumulators must stay in zmm registers across the whole cin loop and the store epilogue;
// helpers would have to take them by pointer (through memory unless every one is inlined).
// The AVX2 kernel (conv3x3_avx2.c) must sum in the same order (bit-identical results), which
// is easiest to check with each kernel read as one piece: bias, ci, row taps, column taps.
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

// Vectors (of 16 columns) in the pixel block starting at column x0 of a row of width w: 3,
// except that a row end of 4 vectors is split 2 + 2 (a lone vector has only 8 accumulators,
// too few to hide the FMA latency); a row of one vector uses 3 channel blocks instead.
static int x_block(int w, int x0) {
    int nvec = (w - x0 + 15) / 16;
    return nvec == 4 ? 2 : nvec < 3 ? nvec : 3;
}

static void row_up(float *orow, size_t ostride, const float *const rows[2], const size_t rs[2], int w, int py,
                   const float *packed, const float *b, int cin, int cout, int lrelu, float slope) {
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

static void row_plain(float *orow, size_t ostride, const float *const rows[3], const size_t rs[3], int w,
                      const float *packed, const float *b, int cin, int cout, int lrelu, float slope) {
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

const c3_kernels hy_c3_kernels_avx512 = {row_plain, row_up, row_epilogue};

#else
typedef int hy_c3_avx512_unused;  // not x86-64: nothing to compile
#endif
