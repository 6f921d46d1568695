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

// Which forward hy_pggan_forward runs, chosen once at load (see the two loaders below).
typedef enum {
    PGGAN_FAST = 0,  // hy_pggan_load: direct-conv kernels (or im2col + sgemm), fusion, padded planes
    PGGAN_REF = 1,   // hy_pggan_load_ref: hy_pggan_forward_ref, the spec's ops as naive loops
} pggan_path;

typedef struct {
    wfile wf;  // owns the weights
    uint32_t file_crc;  // CRC-32 of the whole weight file, kept after wf is released (caches, sweep setups)
    pggan_path path;
    int resolution, latent, nstages;
    int ch[PGGAN_MAX_STAGES];  // C(r) per stage
    pggan_stage st[PGGAN_MAX_STAGES];
    const float *rgb_w, *rgb_b;
    // Activations and scratch, allocated once at load and never resized. buf_a and buf_b hold
    // act_full floats each, the most any layer-by-layer forward needs (the reference, or the
    // fast one with a hook); the fused fast forward (no hook) uses only their first act_floats
    // floats, which are the ones touched at load: the rest costs address space, not memory,
    // until a hook is attached. buf_c holds the normalised latent and, on the fast path, the
    // output of a conv0 left to im2col + sgemm.
    float *buf_a, *buf_b, *buf_c, *scratch;
    size_t act_floats, act_full, scratch_floats;
    // Fast path (src/nn/conv3x3.c), chosen at load per layer: weights repacked once (conv0
    // folded with the 2x upsample); NULL where the layer uses upsample + conv2d. The layout
    // serves the AVX-512 and AVX2 kernels alike; a forward pass under an ISA without them
    // (hy_isa_set(HY_ISA_GENERIC) after loading) is refused: reload the model.
    float *pk0[PGGAN_MAX_STAGES], *pk1[PGGAN_MAX_STAGES];  // point into pk_arena
    float *pk_arena;
    // When every conv is on that path, the tensors still needed (dense, biases, toRGB) are
    // copied here and the weight file's buffer is released (wf is then closed): the raw conv
    // weights would otherwise stay resident next to their packed copies. The reference forward
    // then cannot run on this object (it needs the raw weights): load it with hy_pggan_load_ref.
    float *own;
} pggan;

// Called after each op when set: name like "8x8.conv0.lrelu", data (c,h,w) dense. The names,
// in order: z.pn, 4x4.dense, 4x4.dense.lrelu, 4x4.dense.pn, 4x4.conv (+ .lrelu, .pn), then for
// r = 8..R: RxR.conv0 (+ .lrelu, .pn), RxR.conv1 (+ .lrelu, .pn), and torgb. (The upsample is
// not a layer of its own: the fast path folds it into conv0.)
// With a hook the fast forward runs every layer unfused (conv, then LReLU, then PN, each
// emitted; the upsample stays folded into conv0's direct kernel), in the full-size buffers
// allocated at load; without one, LReLU, PN and toRGB are fused into the convs and the last
// stage runs in row bands (hy_c3_stage_rgb). A hook therefore never changes which buffers a
// forward uses, but it does change the path: tests/test_pggan_ref.c checks both against the
// reference at every layer and at the output.
typedef void (*pggan_hook)(void *user, const char *name, const float *x, int c, int h, int w);

// Loads a generator for the fast forward (PGGAN_FAST). HY_CONV3X3=0, a generic ISA or layer
// shapes the direct kernels do not take leave those layers to im2col + sgemm.
int hy_pggan_load(pggan *g, const char *path);
// Loads it for the reference forward (PGGAN_REF): raw weights kept, no packing. Slow (naive
// loops, double accumulation): for audits and tests.
int hy_pggan_load_ref(pggan *g, const char *path);
void hy_pggan_free(pggan *g);
// z (latent) -> out (3, R, R) through the forward chosen at load. z is not modified. Returns
// HY_EVALUE for a non-finite latent.
int hy_pggan_forward(pggan *g, const float *z, float *out, pggan_hook hook, void *user);
// The reference forward: the spec's table top to bottom with the naive ops of src/nn
// (hy_dense_ref, hy_conv2d_ref, upsample, LReLU, PN), the hook called after every op. Runs on
// any loaded generator that still has its raw weights (HY_EARG otherwise).
int hy_pggan_forward_ref(pggan *g, const float *z, float *out, pggan_hook hook, void *user);

#endif
