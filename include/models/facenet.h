// facenet.h - FaceNet Inception-ResNet-v1 (facenet-pytorch InceptionResnetV1, VGGFace2 weights):
// a standardised 3x160x160 RGB face -> 512-d unit embedding (spec facenet.md section 1).
//
// Weight file (kind "facenet"), written by convert/facenet.py:
//   config: input_size (int, 160), repeats (ints [5,10,5]: Block35/Block17/Block8 counts before
//           the final block8), block_scales (floats [0.17,0.10,0.20,1.0]), bn_eps (float 0.001,
//           for the record), bn_folded (int 1), source_format, source (str)
//   tensors (names are facenet-pytorch state_dict module paths):
//     every Conv2d->BatchNorm->ReLU unit P:  P.conv.weight [out,in,kh,kw], P.conv.bias [out]
//       (BatchNorm folded in at CONVERSION, in float64: s = gamma/sqrt(var+eps),
//        W' = W*s, b' = beta - mean*s; no P.bn.* tensor exists in the file)
//       P = conv2d_1a conv2d_2a conv2d_2b conv2d_3b conv2d_4a conv2d_4b,
//           repeat_1.{i}.branch0 | .branch1.{0,1} | .branch2.{0,1,2},
//           mixed_6a.branch0 | .branch1.{0,1,2},
//           repeat_2.{i}.branch0 | .branch1.{0,1,2}, (same for repeat_3.{i} and block8)
//           mixed_7a.branch0.{0,1} | .branch1.{0,1} | .branch2.{0,1,2}
//     block up-convs (bias, no BN): repeat_k.{i}.conv2d.weight [C,Ccat,1,1], .conv2d.bias [C],
//                                   block8.conv2d.weight / .bias
//     head: last_linear.weight [D,C] and last_linear.bias [D] (last_bn folded in)
//   Channel widths are NOT fixed: they are read from the tensor shapes and checked for
//   consistency, so narrow variants of the same topology (golden tests) load too. Kernel
//   sizes, strides and paddings are the spec's and are checked.
// Block scales stay at run time: a residual block computes x = hy_relu(x + s*(W.cat) + s*b).
//
// Internally activations are kept channel-major over the whole batch, (C, N, H, W), so every
// conv of a batch is one sgemm (im2col across images), branch outputs land directly at their
// channel offset of the concat, and the residual add is the sgemm's beta=1 accumulation.
// Activations and scratch are sized once per batch size (facenet_reserve) and reused, so one
// facenet object serves one thread at a time. Threads (hy_set_threads): with 2+ threads and 2+
// images the batch runs as two lanes (halves in two threads, single-threaded products each);
// one image runs on one thread. The products use the own GEMM kernels (bias and ReLU fused into
// their stores) or cblas_sgemm; the 3x3 stride-1 convs run as Winograd F(2x2, 3x3) and Block17's
// 1x7 and 7x1 convs as F(2, 7) on the own kernels (nn/winograd.h, nn/winograd7.h; HY_WINOGRAD=0
// at load keeps them on im2col). No OpenMP region runs in the forward pass.
#ifndef HY_FACENET_H
#define HY_FACENET_H

#include <stddef.h>

#include "nn/sgemm.h"
#include "nn/winograd.h"
#include "nn/winograd7.h"
#include "base/wfile.h"

#define FACENET_MAX_POINTS 64  // traced blocks (35 for the spec's repeats)

typedef struct {
    const float *w, *b;  // w (cout, cin, kh, kw), b (cout); BN already folded
    int cin, cout, kh, kw, sh, sw, ph, pw;
    int hy_relu;
    int ih, iw;          // its input's size at the file's input_size (0 in convs built by hand)
    int merged;          // 1: the forward pass runs it as rows of its block's head (not packed)
    hy_sgemm_a ga;       // w as the GEMM's left operand, packed once at load (times the block
                         // scale for a residual up-conv); all zero = not packed (hy_sgemm on w)
    hy_wino wg;          // 3x3 stride-1 convs: the Winograd form, made at load (wg.u NULL: none)
    hy_wino7 w7;         // 1x7 / 7x1 "same" convs: the F(2, 7) form (w7.u NULL: none)
} facenet_conv;

// One traced unit ("block"): its branches are computed from the same input and concatenated
// on channels; a residual block then adds scale*(up(cat)) to its input.
typedef struct {
    int nconv;          // convs in sequence; 0 with pool=1 means the 3x3/2 max-pool branch
    int pool;
    facenet_conv conv[3];
} facenet_branch;

typedef struct {
    char name[32];       // module path: conv2d_1a, repeat_1.0, mixed_6a, block8, ...
    int cin, h, w;       // input
    int cout, ho, wo;    // output
    int nbranch;
    facenet_branch br[4];
    int residual;        // has the 1x1 up-conv (conv2d) and residual add
    facenet_conv up;
    float scale;
    int hy_relu;            // final ReLU of a residual block (block8 has none)
    // The branches' first convs when 2+ of them are 1x1 on the block input, and the own GEMM
    // kernel packs: one product with their weights stacked (head.cout = their sum; only its
    // packed form head.ga is kept, head.w is NULL; head.b = head_b is owned here), each branch's
    // rows from head_off[branch] (-1: not in the head). head.cout 0: none.
    facenet_conv head;
    float *head_b;
    int head_off[4];
} facenet_block;

typedef struct {
    int cap_n;           // images per pass the buffers are sized for (<= HY_FACENET_CHUNK)
    float *x, *y, *t1, *t2, *th, *scratch, *img0, *feat;  // th: a block head's output
    size_t act_floats, tmp_floats, scratch_floats, img0_floats;
} facenet_buffers;

typedef struct {
    wfile wf;  // owns the weights
    hy_arena arena;  // the packed weights and Winograd forms, on huge pages (base/common.h)
    int input_size, emb_dim, feat_dim;
    int nblocks;
    facenet_block blk[FACENET_MAX_POINTS];
    const float *lin_w, *lin_b;  // (emb_dim, feat_dim), (emb_dim)
    // per-batch buffers (facenet_reserve): lane 0 runs a whole batch, or with 2+ threads the
    // first half while lane 1 runs the second half in a second thread
    facenet_buffers lane[2];
} facenet;

// Called after every traced block by facenet_forward when set. x is the FIRST image's
// activation, (c, h, w) contiguous (h = w = 1 for avgpool_1a, last_linear, embedding).
typedef void (*facenet_hook)(void *user, const char *name, const float *x, int c, int h, int w);

int hy_facenet_load(facenet *f, const char *path);
void hy_facenet_free(facenet *f);
// Images per pass through the network: a batch (or each thread's half of it) runs in chunks of
// this many images, so that a block's activations stay in the core's caches between its convs
// (measured in src/models/facenet.c). The buffers are sized for one chunk per lane.
#define HY_FACENET_CHUNK 4
// Sizes the activation and scratch buffers for batches of up to n images (no-op if big enough).
int hy_facenet_reserve(facenet *f, int n);
// in (n, 3, S, S) standardised float (S = input_size) -> emb (n, emb_dim) unit rows.
// Reserves for n if needed. Returns HY_EVALUE for a non-finite input value.
int hy_facenet_forward(facenet *f, const float *in, int n, float *emb, facenet_hook hook, void *user);
// The reference forward: the same network image by image in NCHW with the naive ops of src/nn
// (hy_conv2d_ref, double accumulation), the same hook names. Slow (57x the fast forward for one
// image of weights/demo_facenet.bin, 0.17 s vs 3 ms, one thread): for audits and
// the tests that hold the fast forward to it. Uses the buffers reserved for one image.
int hy_facenet_forward_ref(facenet *f, const float *in, int n, float *emb, facenet_hook hook, void *user);

// Batched conv on channel-major activations: out (cout, n, ho, wo) = conv(in (cin, n, h, w)),
// plus bias and optional ReLU. `ldo` is the row stride of out in floats (>= n*ho*wo: lets a
// branch write into its slot of a concat). scratch holds scratch_floats floats (>= one image's
// im2col, and for a conv with a Winograd form (c->wg, c->w7) its blocks:
// hy_facenet_conv_scratch_floats covers both). A 3x3 stride-1 conv runs as Winograd F(2x2, 3x3)
// and a 1x7 / 7x1 "same" conv as F(2, 7) when it has that form and the packed kernel is the
// current ISA's, else as im2col + GEMM. Exposed for the unit test against
// conv2d_ref.
void hy_facenet_conv_cnhw(float *out, size_t ldo, const float *in, const facenet_conv *c, int n, int h, int w,
                       float *scratch, size_t scratch_floats);
size_t hy_facenet_conv_scratch_floats(const facenet_conv *c, int h, int w);  // one image

#endif
