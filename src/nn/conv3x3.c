// conv3x3.c - direct 3x3 convolutions (see include/nn/conv3x3.h): what every ISA shares.
//
// Layout: activations CHW; one task = one output row for all output channels, followed by
// the epilogue on that row while it is still in cache; the input row two tasks ahead is
// prefetched. The row kernels themselves (register-blocked over pixels and output channels)
// are in conv3x3_avx512.c and conv3x3_avx2.c; this file packs the weights (one layout for
// both), picks the kernel table of the current ISA (hy_isa()) and runs the rows on threads.
#include "nn/conv3x3.h"

#ifndef _OPENMP  // NO_OMP=1 builds: the loops run serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv3x3_isa.h"
#include "nn/cpu.h"

#define NCO_P C3_NCO_P
#define NCO_U C3_NCO_U

const float hy_c3_zero_row[C3_MAXW + 64];

// The kernel table of the current ISA, or NULL (generic: no direct kernel).
static const c3_kernels *kernels(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (hy_isa()) {
    case HY_ISA_AVX512: return &hy_c3_kernels_avx512;
    case HY_ISA_AVX2: return &hy_c3_kernels_avx2;
    }
#endif
    return NULL;
}

int hy_c3_available(void) {
    const char *e = getenv("HY_CONV3X3");  // read at every call (callers ask once per layer)
    return !(e && e[0] == '0') && kernels() != NULL;
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

static void prefetch_row(const float *row, size_t stride, int nch, int w) {
    for (int c = 0; c < nch; c++)
        for (int x = 0; x < w; x += 16) __builtin_prefetch(row + (size_t)c * stride + x, 0, 2);
}

// One output row Y of the folded upsample+conv of in (cin planes istride apart, h, w).
static void row_up(const c3_kernels *k, float *orow, size_t ostride, const float *in, size_t istride, int h, int w,
                   int Y, const float *packed, const float *b, int cin, int cout, int lrelu, float slope) {
    const int y = Y >> 1, py = Y & 1;
    const float *rows[2];
    size_t rs[2];
    for (int a = 0; a < 2; a++) {
        const int sy = y + py - 1 + a, ok = sy >= 0 && sy < h;
        rows[a] = ok ? in + (size_t)sy * w : hy_c3_zero_row;
        rs[a] = ok ? istride : 0;
    }
    k->row_up(orow, ostride, rows, rs, w, py, packed, b, cin, cout, lrelu, slope);
}

// One output row of the plain conv from its three input rows (NULL: outside the image) whose
// channel planes are rstride apart.
static void row_plain(const c3_kernels *k, float *orow, size_t ostride, const float *const in_rows[3],
                      size_t rstride, int w, const float *packed, const float *b, int cin, int cout, int lrelu,
                      float slope) {
    const float *rows[3];
    size_t rs[3];
    for (int a = 0; a < 3; a++) {
        rows[a] = in_rows[a] ? in_rows[a] : hy_c3_zero_row;
        rs[a] = in_rows[a] ? rstride : 0;
    }
    k->row_plain(orow, ostride, rows, rs, w, packed, b, cin, cout, lrelu, slope);
}

void hy_c3_conv_strided(float *out, size_t ostride, const float *in, size_t istride, const float *packed,
                     const float *b, int cin, int cout, int h, int w, int up, const c3_epilogue *ep) {
    const c3_kernels *k = kernels();
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
            row_up(k, orow, ostride, in, istride, h, w, Y, packed, b, cin, cout, lrelu, slope);
        } else {
            const float *rows[3];
            for (int a = 0; a < 3; a++) {
                int sy = Y - 1 + a;
                rows[a] = sy >= 0 && sy < h ? in + (size_t)sy * w : NULL;
            }
            row_plain(k, orow, ostride, rows, istride, w, packed, b, cin, cout, lrelu, slope);
        }
        if (ep && (ep->pn || ep->rgb_out)) k->row_epilogue(orow, ostride, cout, W, (size_t)H * W, (size_t)Y * W, ep);
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
    const c3_kernels *k = kernels();
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
                    row_up(k, o, rst, in, istride, h, w, next, pk0, b0, cin, cmid, ep0.lrelu, ep0.slope);
                    if (ep0.pn) k->row_epilogue(o, rst, cmid, W, 0, 0, &ep0);
                }
                const float *rows[3];
                for (int a = 0; a < 3; a++) {
                    int sy = Y - 1 + a;
                    rows[a] = sy >= 0 && sy < H ? ring + (size_t)(sy % 3) * W : NULL;
                }
                row_plain(k, row1, r1st, rows, rst, W, pk1, b1, cmid, cmid, ep->lrelu, ep->slope);
                k->row_epilogue(row1, r1st, cmid, W, ohw, (size_t)Y * W, ep);
            }
        }
        free(ring);
    }
    return failed ? -1 : 0;
}

