// pggan.h - the PGGAN (Karras et al. 2018) generator, canonical form (spec pggan.md §1).
//
// Weight file (kind "pggan"), written by convert/pggan.py:
//   config: resolution (int, power of two 4..1024), latent_size (int),
//           channels (ints, C(r) for r = 4, 8, ..., resolution), source_format (str)
//   tensors: dense.weight [16*C4, latent], dense.bias [16*C4] (per unit, o = 16c + 4y + x),
//            4x4.conv.weight [C4,C4,3,3], 4x4.conv.bias [C4],
//            {r}x{r}.conv0.weight [C(r),C(r/2),3,3], .conv0.bias, .conv1.weight [C(r),C(r),3,3],
//            .conv1.bias for r = 8..resolution,
//            torgb.weight [3,C(R),1,1], torgb.bias [3]
// Equalized-LR constants are already folded in. Output is linear (no tanh), NCHW (3,R,R).
#ifndef HY_PGGAN_H
#define HY_PGGAN_H

#include "base/wfile.h"

#define PGGAN_MAX_STAGES 9  // 4 .. 1024

typedef struct {
    const float *w0, *b0, *w1, *b1;  // conv0 (dense at 4x4), conv1 (conv at 4x4)
} pggan_stage;

typedef struct {
    wfile wf;  // owns the weights
    uint32_t file_crc;  // CRC-32 of the whole weight file, kept after wf is released (caches, sweep setups)
    int resolution, latent, nstages;
    int ch[PGGAN_MAX_STAGES];  // C(r) per stage
    pggan_stage st[PGGAN_MAX_STAGES];
    const float *rgb_w, *rgb_b;
    // activations and scratch, allocated once at load
    float *buf_a, *buf_b, *buf_c, *scratch;
    size_t act_floats, scratch_floats;
    // Direct-conv path (src/nn/conv3x3.c), chosen at load per layer: weights repacked once
    // (conv0 folded with the 2x upsample); NULL where the layer uses upsample + conv2d. The
    // layout serves the AVX-512 and AVX2 kernels alike; a forward pass under an ISA without
    // them (hy_isa_set(HY_ISA_GENERIC) after loading) is refused: reload the model.
    float *pk0[PGGAN_MAX_STAGES], *pk1[PGGAN_MAX_STAGES];  // point into pk_arena
    float *pk_arena;
    // When every conv is on that path, the tensors still needed (dense, biases, toRGB) are
    // copied here and the weight file's buffer is released (wf is then closed): the raw conv
    // weights would otherwise stay resident next to their packed copies.
    float *own;
    // buf_a/buf_b hold act_floats; the unfused last stage (with a hook) needs act_full, and
    // pggan_forward grows them on first use.
    size_t act_full;
} pggan;

// Called after each op by pggan_forward when set: name like "8x8.conv0.lrelu", data (c,h,w).
typedef void (*pggan_hook)(void *user, const char *name, const float *x, int c, int h, int w);

int hy_pggan_load(pggan *g, const char *path);
void hy_pggan_free(pggan *g);
// z (latent) -> out (3, R, R). z is not modified. Returns HY_EVALUE for a non-finite latent.
int hy_pggan_forward(pggan *g, const float *z, float *out, pggan_hook hook, void *user);

#endif
