// conv3x3_avx2.c - the AVX2+FMA kernels of the direct 3x3 convolution (see conv3x3_isa.h and
// include/nn/conv3x3.h). Every function carries target("avx2,fma"); the file is compiled with
// the baseline flags and only entered when hy_isa() is HY_ISA_AVX2.
//
// The same scheme as conv3x3_avx512.c with 8-float vectors and 16 registers instead of 32:
// a kernel call keeps NCH output channels x NPV vectors of 8 pixels in registers for the whole
// reduction over (cin, taps), at most 12 accumulators plus 2 input vectors and a broadcast
// weight: plain 3x3 6 channels x 2 vectors (16 pixels), folded upsample 3 channels x 2 output
// parities x 2 vectors. Measured in isolation (one core, data in cache, % of the FMA peak):
// plain 6x2 91 %, 4x3 80 %; folded 3x2 95 %, 2x3 65 % (12 accumulators and 3 input vectors
// leave the compiler no free register: it reloads inputs for every FMA). Chunks of 6 or 3
// channels straddle the packed blocks (8 and 4 channels), so each channel's weights are read
// through their own pointer (the shared layout is kept: packing does not depend on the ISA);
// channel counts that are not multiples of 6 / 3 end with chunks of 4 / 2.
// Each output element is summed in the same order as by the AVX-512 kernels (bias, then over
// ci, the row taps, the column taps, one FMA each), so both give bit-identical results.
// Row ends: masked loads (vmaskmovps reads nothing in masked-off lanes) and masked stores.
#include "conv3x3_isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

#define C3_TARGET __attribute__((target("avx2,fma")))
#define C3_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define NCO_P C3_NCO_P
#define NCO_U C3_NCO_U

// first n lanes set: loadu(RAMP + 8 - n), 0 <= n <= 8
static const int32_t RAMP[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

C3_INLINE __m256i first_lanes(int n) {
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(RAMP + 8 - n));
}

C3_INLINE __m256 lrelu8(__m256 v, __m256 slope) {
    const __m256 pos = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
    return _mm256_blendv_ps(_mm256_mul_ps(v, slope), v, pos);
}

// Input vector v (8 columns from x0 + 8v) of a block for column shift dx (0: x-1, 1: x, 2: x+1)
// from the row p (at column x0). EDGE says how the block meets the row ends:
//   0  interior: plain loads;
//   2  at an end (left: x0 == 0, right: x0 + 8 NPV == w) with every vector full: plain loads,
//      except that column -1 / w is padding: the vector is loaded unshifted and its lanes moved
//      by one with a zero brought in (vmaskmovps, the alternative, is slow on AMD: these
//      blocks are all the work of the 16- and 32-wide layers);
//   1  a partial last vector (w not a multiple of 8): masked loads (masked-off lanes read as 0
//      and are never touched in memory).
C3_INLINE __m256 ld_in(const float *p, int v, int dx, const __m256i m[3][2], int left, int right, const int NPV,
                       const int EDGE) {
    if (EDGE == 1) return _mm256_maskload_ps(p + 8 * v + dx - 1, m[dx][v]);
    if (EDGE == 2 && dx == 0 && v == 0 && left) {  // lanes 0..7 <- 0, x0 .. x0 + 6
        const __m256 x = _mm256_permutevar8x32_ps(_mm256_loadu_ps(p), _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
        return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_setr_epi32(0, -1, -1, -1, -1, -1, -1, -1)));
    }
    if (EDGE == 2 && dx == 2 && v == NPV - 1 && right) {  // lanes <- x + 1 .. x + 7, 0
        const __m256 x = _mm256_permutevar8x32_ps(_mm256_loadu_ps(p + 8 * v), _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7));
        return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0)));
    }
    return _mm256_loadu_ps(p + 8 * v + dx - 1);
}
#define LD(v, dx) ld_in(p, v, dx, (const __m256i(*)[2])m, left, right, NPV, EDGE)

// Lane masks of the NPV vectors starting at column x0 of a row of width w, for the three
// column shifts: m[0] column x-1 (drops column -1 and columns >= w), m[1] column x (< w),
// m[2] column x+1 (< w).
#define C3_MASKS(NPV)                                                                     \
    __m256i m[3][2];                                                                      \
    {                                                                                     \
        const int rem = w - x0 - 8 * ((NPV) - 1);                                         \
        const __m256i all = _mm256_set1_epi32(-1), mS = first_lanes(rem), mR = first_lanes(rem - 1); \
        const __m256i mL = x0 == 0 ? _mm256_setr_epi32(0, -1, -1, -1, -1, -1, -1, -1) : all; \
        for (int v = 0; v < (NPV); v++) {                                                 \
            const __m256i last = v == (NPV) - 1 ? mS : all;                               \
            m[0][v] = _mm256_and_si256(v == 0 ? mL : all, last);                          \
            m[1][v] = last;                                                               \
            m[2][v] = v == (NPV) - 1 ? mR : all;                                          \
        }                                                                                 \
    }

// Plain 3x3 on NCH output channels (channel j's weight for tap t of input channel ci at
// wj[j][ci*9*NCO_P + t*NCO_P]) and columns [x0, x0 + 8 NPV) of the output row o (channel j at
// o + j*ohw).
C3_INLINE void k_plain(float *o, size_t ohw, const float *const rows[3], const size_t rs[3],
                       const float *const wj[], const float *bias, int cin, int x0, int w, int lrelu, float slope,
                       const int NPV, const int NCH, const int EDGE) {
    __m256 acc[6][2];
    const float *W[6];
    #pragma GCC unroll 6
    for (int j = 0; j < NCH; j++) {
        W[j] = wj[j];
        __m256 bj = _mm256_set1_ps(bias ? bias[j] : 0.0f);
        #pragma GCC unroll 2
        for (int v = 0; v < NPV; v++) acc[j][v] = bj;
    }
    C3_MASKS(NPV)
    const int left = x0 == 0, right = x0 + 8 * NPV >= w;
    const float *p0 = rows[0] + x0, *p1 = rows[1] + x0, *p2 = rows[2] + x0;
    for (size_t off = 0, end = (size_t)cin * 9 * NCO_P; off < end; off += 9 * NCO_P) {
        const float *pr[3] = {p0, p1, p2};
#pragma GCC unroll 3
        for (int dy = 0; dy < 3; dy++) {
            const float *p = pr[dy];
#pragma GCC unroll 3
            for (int dx = 0; dx < 3; dx++) {
                __m256 X[2];
                #pragma GCC unroll 2
                for (int v = 0; v < NPV; v++) X[v] = LD(v, dx);
                #pragma GCC unroll 6
                for (int j = 0; j < NCH; j++) {
                    const __m256 wv = _mm256_broadcast_ss(W[j] + off + (dy * 3 + dx) * NCO_P);
                    #pragma GCC unroll 2
                    for (int v = 0; v < NPV; v++) acc[j][v] = _mm256_fmadd_ps(wv, X[v], acc[j][v]);
                }
            }
        }
        p0 += rs[0], p1 += rs[1], p2 += rs[2];
    }
    const __m256 sl = _mm256_set1_ps(slope);
    #pragma GCC unroll 6
    for (int j = 0; j < NCH; j++)
        #pragma GCC unroll 2
        for (int v = 0; v < NPV; v++) {
            const __m256 r = lrelu ? lrelu8(acc[j][v], sl) : acc[j][v];
            float *dst = o + (size_t)j * ohw + x0 + 8 * v;
            if (EDGE == 1) _mm256_maskstore_ps(dst, m[1][v], r);
            else _mm256_storeu_ps(dst, r);
        }
}

// Folded upsample + 3x3 for one output row parity: NCH output channels (channel j's weight
// for input channel ci and tap (a, px, b) at wj[j][ci*16*NCO_U + a*4*NCO_U + (px*2 + b)*NCO_U],
// wj already offset to the row parity), source columns [x0, x0 + 8 NPV) -> output columns
// [2 x0, 2 x0 + 16 NPV).
C3_INLINE void k_up(float *o, size_t ohw, const float *const rows[2], const size_t rs[2], const float *const wj[],
                    const float *bias, int cin, int x0, int w, int lrelu, float slope, const int NPV, const int NCH,
                    const int EDGE) {
    __m256 acc[2][3][2];  // [px][channel][vector]
    const float *W[3];
    #pragma GCC unroll 3
    for (int j = 0; j < NCH; j++) {
        W[j] = wj[j];
        __m256 bj = _mm256_set1_ps(bias ? bias[j] : 0.0f);
        #pragma GCC unroll 2
        for (int v = 0; v < NPV; v++) acc[0][j][v] = acc[1][j][v] = bj;
    }
    C3_MASKS(NPV)
    const int left = x0 == 0, right = x0 + 8 * NPV >= w;
    const float *p0 = rows[0] + x0, *p1 = rows[1] + x0;
    for (size_t off = 0, end = (size_t)cin * 16 * NCO_U; off < end; off += 16 * NCO_U) {
        const float *pr[2] = {p0, p1};
#pragma GCC unroll 2
        for (int a = 0; a < 2; a++) {
            const float *p = pr[a];
            const size_t wa = off + a * 4 * NCO_U;  // + tap (px, b) = px*2 + b
            __m256 X[2];
            // source column x - 1: px = 0, b = 0
            #pragma GCC unroll 2
            for (int v = 0; v < NPV; v++) X[v] = LD(v, 0);
            #pragma GCC unroll 3
            for (int j = 0; j < NCH; j++) {
                const __m256 wv = _mm256_broadcast_ss(W[j] + wa + 0 * NCO_U);
                #pragma GCC unroll 2
                for (int v = 0; v < NPV; v++) acc[0][j][v] = _mm256_fmadd_ps(wv, X[v], acc[0][j][v]);
            }
            // column x: (px 0, b 1) and (px 1, b 0)
            #pragma GCC unroll 2
            for (int v = 0; v < NPV; v++) X[v] = LD(v, 1);
            #pragma GCC unroll 3
            for (int j = 0; j < NCH; j++) {
                const __m256 w01 = _mm256_broadcast_ss(W[j] + wa + 1 * NCO_U);
                #pragma GCC unroll 2
                for (int v = 0; v < NPV; v++) acc[0][j][v] = _mm256_fmadd_ps(w01, X[v], acc[0][j][v]);
                const __m256 w10 = _mm256_broadcast_ss(W[j] + wa + 2 * NCO_U);
                #pragma GCC unroll 2
                for (int v = 0; v < NPV; v++) acc[1][j][v] = _mm256_fmadd_ps(w10, X[v], acc[1][j][v]);
            }
            // column x + 1: px = 1, b = 1
            #pragma GCC unroll 2
            for (int v = 0; v < NPV; v++) X[v] = LD(v, 2);
            #pragma GCC unroll 3
            for (int j = 0; j < NCH; j++) {
                const __m256 wv = _mm256_broadcast_ss(W[j] + wa + 3 * NCO_U);
                #pragma GCC unroll 2
                for (int v = 0; v < NPV; v++) acc[1][j][v] = _mm256_fmadd_ps(wv, X[v], acc[1][j][v]);
            }
        }
        p0 += rs[0], p1 += rs[1];
    }
    const __m256 sl = _mm256_set1_ps(slope);
    const int rem = w - x0 - 8 * (NPV - 1);  // source columns in the last vector
    #pragma GCC unroll 3
    for (int j = 0; j < NCH; j++)
        #pragma GCC unroll 2
        for (int v = 0; v < NPV; v++) {
            __m256 e = acc[0][j][v], d = acc[1][j][v];
            if (lrelu) e = lrelu8(e, sl), d = lrelu8(d, sl);
            // interleave: output columns 2x (e) and 2x + 1 (d)
            const __m256 lo = _mm256_unpacklo_ps(e, d), hi = _mm256_unpackhi_ps(e, d);
            const __m256 o0 = _mm256_permute2f128_ps(lo, hi, 0x20), o1 = _mm256_permute2f128_ps(lo, hi, 0x31);
            float *dst = o + (size_t)j * ohw + 2 * (x0 + 8 * v);
            if (EDGE == 1 && v == NPV - 1 && rem < 8) {
                _mm256_maskstore_ps(dst, first_lanes(2 * rem), o0);
                _mm256_maskstore_ps(dst + 8, first_lanes(2 * rem - 8), o1);
            } else {
                _mm256_storeu_ps(dst, o0);
                _mm256_storeu_ps(dst + 8, o1);
            }
        }
}

// Instantiations: NPV 2 or 1 (the last 8 columns of a row, or a row of one vector) x the
// chunk sizes NCH x EDGE (see ld_in): interior, full-vector end, partial last vector.
#define C3_SELECT(KERNEL, ...)                                                                        \
    do {                                                                                              \
        const int edge = x0 > 0 && x0 + 8 * npv < w ? 0 : w - x0 - 8 * (npv - 1) >= 8 ? 2 : 1;         \
        const int big = nch == NCH_BIG;                                                               \
        if (npv == 2 && edge == 0) big ? KERNEL(__VA_ARGS__, 2, NCH_BIG, 0) : KERNEL(__VA_ARGS__, 2, NCH_SMALL, 0); \
        else if (npv == 2 && edge == 2) big ? KERNEL(__VA_ARGS__, 2, NCH_BIG, 2) : KERNEL(__VA_ARGS__, 2, NCH_SMALL, 2); \
        else if (npv == 2) big ? KERNEL(__VA_ARGS__, 2, NCH_BIG, 1) : KERNEL(__VA_ARGS__, 2, NCH_SMALL, 1); \
        else if (edge == 2) big ? KERNEL(__VA_ARGS__, 1, NCH_BIG, 2) : KERNEL(__VA_ARGS__, 1, NCH_SMALL, 2); \
        else big ? KERNEL(__VA_ARGS__, 1, NCH_BIG, 1) : KERNEL(__VA_ARGS__, 1, NCH_SMALL, 1);            \
    } while (0)

C3_TARGET static void k_plain_n(float *o, size_t ohw, const float *const rows[3], const size_t rs[3],
                                const float *const wj[], const float *bias, int cin, int x0, int w, int lrelu,
                                float slope, int npv, int nch) {
    enum { NCH_BIG = 6, NCH_SMALL = 4 };
    C3_SELECT(k_plain, o, ohw, rows, rs, wj, bias, cin, x0, w, lrelu, slope);
}

C3_TARGET static void k_up_n(float *o, size_t ohw, const float *const rows[2], const size_t rs[2],
                             const float *const wj[], const float *bias, int cin, int x0, int w, int lrelu,
                             float slope, int npv, int nch) {
    enum { NCH_BIG = 3, NCH_SMALL = 2 };
    C3_SELECT(k_up, o, ohw, rows, rs, wj, bias, cin, x0, w, lrelu, slope);
}

// Size of the next chunk of output channels when `left` remain: big ones, then at the end one
// or two small ones (small = big - 2) for the remainder modulo big. cout is a multiple of 8
// (hy_c3_supported), so the small chunks always fit: plain 6/4 ends in 4 or 4 + 4, folded
// 3/2 in 2 or 2 + 2.
static int chunk(int left, int big, int small) {
    const int r = left % big, tail = r == 0 ? 0 : r == small % big ? small : 2 * small;
    return left >= big && left - big >= tail ? big : small;
}

// Columns per pixel block: 16 (two vectors), a single vector only for the last 8 columns.
static int x_block(int w, int x0) { return w - x0 > 8 ? 2 : 1; }

static void row_plain(float *orow, size_t ostride, const float *const rows[3], const size_t rs[3], int w,
                      const float *packed, const float *b, int cin, int cout, int lrelu, float slope) {
    for (int x0 = 0; x0 < w;) {
        const int npv = x_block(w, x0);
        for (int co = 0, nch; co < cout; co += nch) {
            nch = chunk(cout - co, 6, 4);
            const float *wj[6];  // channel c: block c / 8, lane c % 8
            for (int j = 0; j < nch; j++)
                wj[j] = packed + (size_t)((co + j) / NCO_P) * cin * 9 * NCO_P + (co + j) % NCO_P;
            k_plain_n(orow + (size_t)co * ostride, ostride, rows, rs, wj, b ? b + co : NULL, cin, x0, w, lrelu, slope,
                      npv, nch);
        }
        x0 += 8 * npv;
    }
}

static void row_up(float *orow, size_t ostride, const float *const rows[2], const size_t rs[2], int w, int py,
                   const float *packed, const float *b, int cin, int cout, int lrelu, float slope) {
    for (int x0 = 0; x0 < w;) {
        const int npv = x_block(w, x0);
        for (int co = 0, nch; co < cout; co += nch) {
            nch = chunk(cout - co, 3, 2);
            const float *wj[3];  // channel c: block c / 4, lane c % 4, row parity py
            for (int j = 0; j < nch; j++)
                wj[j] = packed + (size_t)((co + j) / NCO_U) * cin * 16 * NCO_U + py * 8 * NCO_U + (co + j) % NCO_U;
            k_up_n(orow + (size_t)co * ostride, ostride, rows, rs, wj, b ? b + co : NULL, cin, x0, w, lrelu, slope,
                   npv, nch);
        }
        x0 += 8 * npv;
    }
}

// Pixel norm in the operations and order of hy_pixel_norm() (ops.c: sum of squares, divide by
// the channel count, add eps, sqrt, reciprocal, scale), so results are bit-identical to it, and
// the toRGB sums as FMAs in channel order (as the AVX-512 epilogue).
C3_TARGET static void row_epilogue(float *x, size_t ohw, int cout, int W, size_t rgb_hw, size_t row_off,
                                   const c3_epilogue *ep) {
    const __m256 cf = _mm256_set1_ps((float)cout), eps = _mm256_set1_ps(ep->eps), one = _mm256_set1_ps(1.0f);
    for (int k = 0; k < W; k += 8) {
        const __m256i m = first_lanes(W - k);
        if (ep->pn) {
            __m256 s = _mm256_setzero_ps();
            for (int c = 0; c < cout; c++) {
                const __m256 v = _mm256_maskload_ps(x + (size_t)c * ohw + k, m);
                s = _mm256_add_ps(s, _mm256_mul_ps(v, v));
            }
            const __m256 sc = _mm256_div_ps(one, _mm256_sqrt_ps(_mm256_add_ps(_mm256_div_ps(s, cf), eps)));
            for (int c = 0; c < cout; c++) {
                float *p = x + (size_t)c * ohw + k;
                _mm256_maskstore_ps(p, m, _mm256_mul_ps(_mm256_maskload_ps(p, m), sc));
            }
        }
        if (ep->rgb_out) {
            for (int q = 0; q < 3; q++) {
                __m256 s = _mm256_setzero_ps();
                for (int c = 0; c < cout; c++)
                    s = _mm256_fmadd_ps(_mm256_set1_ps(ep->rgb_w[q * cout + c]),
                                        _mm256_maskload_ps(x + (size_t)c * ohw + k, m), s);
                s = _mm256_add_ps(s, _mm256_set1_ps(ep->rgb_b ? ep->rgb_b[q] : 0.0f));
                _mm256_maskstore_ps(ep->rgb_out + (size_t)q * rgb_hw + row_off + k, m, s);
            }
        }
    }
}

const c3_kernels hy_c3_kernels_avx2 = {row_plain, row_up, row_epilogue};

#else
typedef int hy_c3_avx2_unused;  // not x86-64: nothing to compile
#endif
