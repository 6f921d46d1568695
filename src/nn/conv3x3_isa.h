// conv3x3_isa.h - the per-ISA kernels behind include/nn/conv3x3.h (internal to src/nn).
//
// src/nn/conv3x3.c holds what every ISA shares (weight packing, the row loops, the fused last
// stage, threads); each src/nn/conv3x3_<isa>.c fills one c3_kernels table with functions
// compiled for that ISA (target attributes), and conv3x3.c picks the table of hy_isa().
// The packed weight layout is the same for every ISA (blocks of C3_NCO_P output channels for
// the plain kernel, C3_NCO_U for the folded one); narrower kernels use part of a block.
#ifndef HY_CONV3X3_ISA_H
#define HY_CONV3X3_ISA_H

#include <stddef.h>

#include "nn/conv3x3.h"

#define C3_NCO_P 8    // output channels per packed block, plain 3x3: [cob][ci][tap 9][8]
#define C3_NCO_U 4    // output channels per packed block, folded: [cob][ci][py][a][px][b][4]
#define C3_MAXW 4096  // widest row (source width when folded)

// A zero row (C3_MAXW + 64 floats) read, with channel stride 0, for rows outside the image.
extern const float hy_c3_zero_row[];

typedef struct {
    // One output row of the plain 3x3 conv + bias (+ LReLU): rows[3] are input rows y-1, y, y+1
    // of channel 0 (hy_c3_zero_row outside the image), rs[3] their channel strides (0 for the
    // zero row); output channel c at orow + c*ostride, w columns.
    void (*row_plain)(float *orow, size_t ostride, const float *const rows[3], const size_t rs[3], int w,
                      const float *packed, const float *b, int cin, int cout, int lrelu, float slope);
    // One output row 2y+py of the folded upsample + conv: rows[2] are source rows y+py-1, y+py
    // (as above), w source columns -> 2w output columns.
    void (*row_up)(float *orow, size_t ostride, const float *const rows[2], const size_t rs[2], int w, int py,
                   const float *packed, const float *b, int cin, int cout, int lrelu, float slope);
    // Pixel norm (bit-identical to hy_pixel_norm) and the optional toRGB on one output row of W
    // columns: channel c at x + c*ohw; rgb row q goes to ep->rgb_out + q*rgb_hw + row_off.
    void (*row_epilogue)(float *x, size_t ohw, int cout, int W, size_t rgb_hw, size_t row_off,
                         const c3_epilogue *ep);
} c3_kernels;

#if defined(__x86_64__) && defined(__GNUC__)
extern const c3_kernels hy_c3_kernels_avx512, hy_c3_kernels_avx2;
#endif

#endif
