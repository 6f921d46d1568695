// facenet.c - FaceNet Inception-ResNet-v1 forward pass (spec facenet.md section 1).
//
// Reads top to bottom: topology tables, weight loading (widths from tensor shapes), buffer
// sizing, the batched channel-major conv, the forward pass. BatchNorm was folded into the
// convs by convert/facenet.py; block scales are applied here at run time.
//
// Layout: activations are (C, N, H, W) ("CNHW", channel-major over the batch). A conv over the
// batch is one sgemm: W (cout, cin*kh*kw) @ im2col (cin*kh*kw, N*ho*wo), with the im2col tiled
// over images to bound scratch. 1x1 stride-1 convs need no im2col at all. Branch outputs are
// written straight into their channel slot of the concat, the pool branch is a 3x3/2 max-pool
// over C*N planes, and the residual add is the up-conv sgemm with beta = 1 into the block input.
// For a batch of one this is plain NCHW. With 2+ threads and 2+ images the batch runs as two
// lanes (halves in two threads, single-threaded products each); one image runs on one thread.
#include "models/facenet.h"

#ifndef _OPENMP  // NO_OMP=1 builds: the packing loop runs serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_err, hy_malloc_aligned, hy_mul_size
#include "nn/ops.h"     // global_avg_pool, dense, l2_normalize
#include "nn/sgemm.h"   // hy_sgemm: own AVX-512 / AVX2 kernel or cblas_sgemm

// --- topology (spec section 1) ------------------------------------------------------

typedef struct {
    int kh, kw, s, ph, pw;
} ksp;
typedef struct {
    int nconv;  // 0 = max-pool branch
    int seq;    // names are branchK.j (a sequence) rather than branchK
    ksp k[3];
} brspec;
typedef struct {
    int nbranch;
    brspec br[4];
} blkspec;

#define K1 {1, 1, 1, 0, 0}
#define K3P1 {3, 3, 1, 1, 1}
#define K3S2 {3, 3, 2, 0, 0}

static const blkspec BLOCK35 = {3, {{1, 0, {K1}}, {2, 1, {K1, K3P1}}, {3, 1, {K1, K3P1, K3P1}}}};
static const blkspec BLOCK17 = {2, {{1, 0, {K1}}, {3, 1, {K1, {1, 7, 1, 0, 3}, {7, 1, 1, 3, 0}}}}};
static const blkspec BLOCK8 = {2, {{1, 0, {K1}}, {3, 1, {K1, {1, 3, 1, 0, 1}, {3, 1, 1, 1, 0}}}}};
static const blkspec MIXED6A = {3, {{1, 0, {K3S2}}, {3, 1, {K1, K3P1, K3S2}}, {0, 0, {K1}}}};
static const blkspec MIXED7A = {4, {{2, 1, {K1, K3S2}}, {2, 1, {K1, K3S2}}, {3, 1, {K1, K3P1, K3S2}}, {0, 0, {K1}}}};

// Scratch budget for one im2col tile (floats). A tile is at least one image.
#define FN_SCRATCH_TARGET ((size_t)1 << 20)

// --- weight loading -------------------------------------------------------------------

// Loads conv `wname`/`bname`: shape [cout, cin, kh, kw] with cout taken from the file.
static int load_conv(facenet *f, facenet_conv *c, const char *wname, const char *bname, int cin, ksp k,
                     int hy_relu) {
    const wf_tensor *t = hy_wf_find(&f->wf, wname);
    if (!t) return hy_err(HY_EFORMAT, "%s: missing tensor '%s'", f->wf.path, wname);
    if (t->ndim != 4 || t->dims[0] < 1 || t->dims[0] > 65536)
        return hy_err(HY_ESHAPE, "%s: tensor '%s' must be [out,%d,%d,%d]", f->wf.path, wname, cin, k.kh, k.kw);
    int64_t dims[4] = {t->dims[0], cin, k.kh, k.kw};
    int rc = hy_wf_get_f32(&f->wf, wname, 4, dims, &c->w);
    if (rc) return rc;
    rc = hy_wf_get_f32(&f->wf, bname, 1, dims, &c->b);
    if (rc) return rc;
    c->cin = cin;
    c->cout = (int)dims[0];
    c->kh = k.kh;
    c->kw = k.kw;
    c->sh = c->sw = k.s;
    c->ph = k.ph;
    c->pw = k.pw;
    c->hy_relu = hy_relu;
    return HY_OK;
}

static int out_size(int in, int k, int s, int p) { return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1; }

// Branch i of spec s on input (cin, h, w): its convs in sequence (names branchK or branchK.j)
// or the 3x3/2 max-pool; gives its output channels and size.
static int add_branch(facenet *f, facenet_branch *br, const char *name, int i, const brspec *s, int cin, int h, int w,
                      int *cout, int *ho, int *wo) {
    char wn[128], bn[128];
    int c = cin, rc;
    if (s->nconv == 0) {
        br->pool = 1;
        h = out_size(h, 3, 2, 0);
        w = out_size(w, 3, 2, 0);
    }
    for (int j = 0; j < s->nconv; j++) {
        if (s->seq) {
            snprintf(wn, sizeof wn, "%s.branch%d.%d.conv.weight", name, i, j);
            snprintf(bn, sizeof bn, "%s.branch%d.%d.conv.bias", name, i, j);
        } else {
            snprintf(wn, sizeof wn, "%s.branch%d.conv.weight", name, i);
            snprintf(bn, sizeof bn, "%s.branch%d.conv.bias", name, i);
        }
        if ((rc = load_conv(f, &br->conv[j], wn, bn, c, s->k[j], 1))) return rc;
        br->conv[j].ih = h, br->conv[j].iw = w;
        c = br->conv[j].cout;
        h = out_size(h, s->k[j].kh, s->k[j].s, s->k[j].ph);
        w = out_size(w, s->k[j].kw, s->k[j].s, s->k[j].pw);
    }
    br->nconv = s->nconv;
    *cout = c, *ho = h, *wo = w;
    return HY_OK;
}

// A stem unit as a one-branch block: the conv `name`.conv (stem != NULL) or the 3x3/2 max-pool.
static int add_stem(facenet *f, facenet_block *b, const char *name, const ksp *stem, int *ccat, int *ho, int *wo) {
    b->nbranch = 1;
    if (!stem) {
        b->br[0].pool = 1;
        *ccat = b->cin;
        *ho = out_size(b->h, 3, 2, 0);
        *wo = out_size(b->w, 3, 2, 0);
        return HY_OK;
    }
    char wn[128], bn[128];
    snprintf(wn, sizeof wn, "%s.conv.weight", name);
    snprintf(bn, sizeof bn, "%s.conv.bias", name);
    int rc = load_conv(f, &b->br[0].conv[0], wn, bn, b->cin, *stem, 1);
    if (rc) return rc;
    b->br[0].conv[0].ih = b->h, b->br[0].conv[0].iw = b->w;
    b->br[0].nconv = 1;
    *ccat = b->br[0].conv[0].cout;
    *ho = out_size(b->h, stem->kh, stem->s, stem->ph);
    *wo = out_size(b->w, stem->kw, stem->s, stem->pw);
    return HY_OK;
}

// Builds block `name` from spec `bs` (or a stem unit when bs == NULL: the conv `stem`, or the
// max-pool when stem is NULL too) on input (cin, h, w). A residual block gets its 1x1 up-conv
// (concat -> cin channels), its scale and its final ReLU.
static int add_block(facenet *f, const char *name, const blkspec *bs, const ksp *stem, int cin, int h, int w,
                     int residual, float scale, int hy_relu) {
    if (f->nblocks >= FACENET_MAX_POINTS) return hy_err(HY_EFORMAT, "%s: too many blocks", f->wf.path);
    facenet_block *b = &f->blk[f->nblocks];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->cin = cin;
    b->h = h;
    b->w = w;
    int rc, ccat = 0, ho = -1, wo = -1;
    if (!bs && (rc = add_stem(f, b, name, stem, &ccat, &ho, &wo))) return rc;
    for (int i = 0; bs && i < bs->nbranch; i++) {
        int c, hh, ww;
        if ((rc = add_branch(f, &b->br[i], name, i, &bs->br[i], cin, h, w, &c, &hh, &ww))) return rc;
        if (i > 0 && (hh != ho || ww != wo))
            return hy_err(HY_ESHAPE, "%s: %s branch%d gives %dx%d, branch0 %dx%d (input size %d?)", f->wf.path, name,
                          i, hh, ww, ho, wo, f->input_size);
        ho = hh, wo = ww;
        ccat += c;
        b->nbranch = i + 1;
    }
    if (ho < 1 || wo < 1)
        return hy_err(HY_ESHAPE, "%s: input size %d is too small (%s gets %dx%d)", f->wf.path, f->input_size,
                      name, h, w);
    b->ho = ho;
    b->wo = wo;
    b->cout = ccat;
    if (residual) {
        char wn[128], bn[128];
        snprintf(wn, sizeof wn, "%s.conv2d.weight", name);
        snprintf(bn, sizeof bn, "%s.conv2d.bias", name);
        ksp k1 = K1;
        if ((rc = load_conv(f, &b->up, wn, bn, ccat, k1, 0))) return rc;
        if (b->up.cout != cin)
            return hy_err(HY_ESHAPE, "%s: tensor '%s' has %d outputs, the block input has %d channels", f->wf.path,
                          wn, b->up.cout, cin);
        b->residual = 1;
        b->scale = scale;
        b->hy_relu = hy_relu;
        b->cout = cin;
    }
    f->nblocks++;
    return HY_OK;
}

static int is_pointwise(const facenet_conv *c) {
    return c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->ph == 0 && c->pw == 0;
}

// The block's head (facenet.h): the first convs of its branches that are 1x1 on the block input,
// stacked into one product. Block35 has three 32-row ones (one 96-row product fills the 6-row
// panels of the AVX2 kernel where 32 rows took 36), Block17 and Block8 two, Mixed_7a three; the
// input is packed once instead of two or three times. Batch 1, AVX2: 26.5-27.1 -> 26.0-26.2 ms
// a forward. The stacked weights are packed here and freed (a block at a time: all of them at
// once were 17 MB more peak memory).
static int make_head(facenet *f, facenet_block *b) {
    int n = 0, rows = 0;
    for (int j = 0; j < 4; j++) b->head_off[j] = -1;
    for (int j = 0; j < b->nbranch; j++)
        if (b->br[j].nconv > 0 && is_pointwise(&b->br[j].conv[0])) n++, rows += b->br[j].conv[0].cout;
    if (n < 2 || !hy_sgemm_own()) return HY_OK;  // (without the own kernel nothing is packed)
    const int cin = b->cin;
    float *w = hy_malloc(sizeof(float) * (size_t)rows * cin), *bias = hy_malloc(sizeof(float) * rows);
    if (!w || !bias) {
        free(w), free(bias);
        return hy_err(HY_ENOMEM, "%s: cannot allocate %s's stacked 1x1 convs", f->wf.path, b->name);
    }
    b->head_b = bias;
    int off = 0;
    for (int j = 0; j < b->nbranch; j++) {
        facenet_conv *c = &b->br[j].conv[0];
        if (b->br[j].nconv == 0 || !is_pointwise(c)) continue;
        memcpy(w + (size_t)off * cin, c->w, sizeof(float) * (size_t)c->cout * cin);
        memcpy(bias + off, c->b, sizeof(float) * c->cout);
        b->head_off[j] = off;
        c->merged = 1;
        off += c->cout;
    }
    b->head = b->br[0].conv[0].merged ? b->br[0].conv[0] : b->br[1].conv[0];  // shape, ReLU (all have it)
    b->head.b = bias, b->head.cout = rows, b->head.merged = 0;
    const int rc = hy_sgemm_pack_in(&b->head.ga, &f->arena, rows, cin, 1.0f, w, cin);
    free(w);
    b->head.w = NULL, b->head.ga.A = NULL;  // only the packed form (forward_lane checks it is usable)
    return rc ? hy_err(HY_ENOMEM, "%s: cannot allocate %s's stacked 1x1 convs", f->wf.path, b->name) : HY_OK;
}

static int build(facenet *f) {
    const wfile *wf = &f->wf;
    int64_t size;
    int rc;
    if ((rc = hy_wf_cfg_int(wf, "input_size", &size))) return rc;
    if (size < 1 || size > 4096) return hy_err(HY_EFORMAT, "%s: config input_size %lld out of range", wf->path,
                                               (long long)size);
    f->input_size = (int)size;
    const int64_t *rep;
    uint32_t nrep, nsc;
    const double *sc;
    if ((rc = hy_wf_cfg_ints(wf, "repeats", &rep, &nrep))) return rc;
    if ((rc = hy_wf_cfg_floats(wf, "block_scales", &sc, &nsc))) return rc;
    if (nrep != 3 || nsc != 4) return hy_err(HY_EFORMAT, "%s: config repeats needs 3 and block_scales 4 values",
                                             wf->path);
    if (rep[0] < 0 || rep[1] < 0 || rep[2] < 0 || rep[0] + rep[1] + rep[2] + 12 > FACENET_MAX_POINTS)
        return hy_err(HY_EFORMAT, "%s: config repeats out of range", wf->path);
    for (int i = 0; i < 4; i++)
        if (!isfinite(sc[i])) return hy_err(HY_EVALUE, "%s: config block_scales is not finite", wf->path);
    int64_t folded;
    if ((rc = hy_wf_cfg_int(wf, "bn_folded", &folded))) return rc;
    if (folded != 1) return hy_err(HY_EFORMAT, "%s: batch norm is not folded (bn_folded=%lld)", wf->path,
                                   (long long)folded);

    // Stem, then the block stages; each add_block reads its channel counts from the file.
    static const struct {
        const char *name;
        ksp k;
        int pool;
    } stem[] = {{"conv2d_1a", K3S2, 0}, {"conv2d_2a", {3, 3, 1, 0, 0}, 0}, {"conv2d_2b", K3P1, 0},
                {"maxpool_3a", K1, 1},  {"conv2d_3b", K1, 0},               {"conv2d_4a", {3, 3, 1, 0, 0}, 0},
                {"conv2d_4b", K3S2, 0}};
    int c = 3, h = f->input_size, w = f->input_size;
#define NEXT()                                       \
    do {                                             \
        const facenet_block *lb = &f->blk[f->nblocks - 1]; \
        c = lb->cout;                                \
        h = lb->ho;                                  \
        w = lb->wo;                                  \
    } while (0)
    for (size_t i = 0; i < sizeof stem / sizeof stem[0]; i++) {
        if ((rc = add_block(f, stem[i].name, NULL, stem[i].pool ? NULL : &stem[i].k, c, h, w, 0, 0, 0))) return rc;
        NEXT();
    }
    char name[32];
    const blkspec *rs[3] = {&BLOCK35, &BLOCK17, &BLOCK8};
    const char *mixed[2] = {"mixed_6a", "mixed_7a"};
    const blkspec *ms[2] = {&MIXED6A, &MIXED7A};
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < rep[s]; i++) {
            snprintf(name, sizeof name, "repeat_%d.%d", s + 1, i);
            if ((rc = add_block(f, name, rs[s], NULL, c, h, w, 1, (float)sc[s], 1))) return rc;
            NEXT();
        }
        if (s < 2) {
            if ((rc = add_block(f, mixed[s], ms[s], NULL, c, h, w, 0, 0, 0))) return rc;
            NEXT();
        }
    }
    if ((rc = add_block(f, "block8", &BLOCK8, NULL, c, h, w, 1, (float)sc[3], 0))) return rc;
    NEXT();
#undef NEXT
    // Head: global average pool -> last_linear (last_bn folded) -> L2 normalise.
    f->feat_dim = c;
    const wf_tensor *t = hy_wf_find(wf, "last_linear.weight");
    if (!t) return hy_err(HY_EFORMAT, "%s: missing tensor 'last_linear.weight'", wf->path);
    if (t->ndim != 2 || t->dims[0] < 1 || t->dims[0] > 65536)
        return hy_err(HY_ESHAPE, "%s: tensor 'last_linear.weight' must be [emb,%d]", wf->path, c);
    int64_t ld[2] = {t->dims[0], c};
    for (int i = 0; i < f->nblocks; i++)
        if ((rc = make_head(f, &f->blk[i]))) return rc;
    if ((rc = hy_wf_get_f32(wf, "last_linear.weight", 2, ld, &f->lin_w))) return rc;
    if ((rc = hy_wf_get_f32(wf, "last_linear.bias", 1, ld, &f->lin_b))) return rc;
    f->emb_dim = (int)ld[0];
    return hy_wf_check_all_used(wf, "the network");
}

// Calls fn on every conv of the network (branch convs, then the up-conv of residual blocks).
static void each_conv(facenet *f, void (*fn)(facenet_conv *c, float alpha, void *user), void *user) {
    for (int i = 0; i < f->nblocks; i++) {
        facenet_block *b = &f->blk[i];
        for (int j = 0; j < b->nbranch; j++)
            for (int k = 0; k < b->br[j].nconv; k++) fn(&b->br[j].conv[k], 1.0f, user);
        if (b->head.cout) fn(&b->head, 1.0f, user);
        if (b->residual) fn(&b->up, b->scale, user);
    }
}

// 3x3 convs run in Winograd form (nn/winograd.h) when the GEMM kernel is the project's own:
// stride 1 (pad 0 or 1) as F(2x2, 3x3), 16 products per 2x2 outputs instead of 36; stride 2
// (pad 0) by the polyphase form, 25 instead of 36, where the output has tiles enough to carry
// the larger transformed weights (hy_wino_pays: conv2d_4b, not Mixed_6a's or Mixed_7a's) and the
// reduction is long enough to carry the transforms (not conv2d_1a's 3 input channels).
static int wino_candidate(const facenet_conv *c) {
    const char *off = getenv("HY_WINOGRAD");
    if (c->kh != 3 || c->kw != 3 || c->sh != c->sw || !hy_sgemm_own() || (off && off[0] == '0')) return 0;
    if (c->sh == 1) return c->ph == c->pw && c->ph <= 1;
    return c->sh == 2 && c->ph == 0 && c->pw == 0 && c->cin >= 16 && hy_wino_pays(2, c->ih, c->iw);
}

// 1x7 and 7x1 stride-1 convs padded to keep the size (Block17's) run as F(2, 7) (nn/winograd7.h):
// 8 products per 2 outputs instead of 14. Returns 1 for 7x1, 0 for 1x7, -1 for neither.
static int wino7_candidate(const facenet_conv *c) {
    const char *off = getenv("HY_WINOGRAD");
    if (c->sh != 1 || c->sw != 1 || !hy_sgemm_own() || (off && off[0] == '0')) return -1;
    if (c->kh == 1 && c->kw == 7 && c->ph == 0 && c->pw == 3) return 0;
    if (c->kh == 7 && c->kw == 1 && c->ph == 3 && c->pw == 0) return 1;
    return -1;
}

static int pack_one(facenet_conv *c, float alpha, hy_arena *ar) {
    if (c->merged || c->ga.packed) return 0;  // runs as rows of its block's head / is a head, packed
    const int K = c->cin * c->kh * c->kw;
    int rc = hy_sgemm_pack_in(&c->ga, ar, c->cout, K, alpha, c->w, K);
    if (rc || alpha != 1.0f) return rc;
    if (wino_candidate(c)) return hy_wino_init(&c->wg, c->w, c->cout, c->cin, c->ph, c->sh, ar);
    const int vertical = wino7_candidate(c);
    return vertical >= 0 ? hy_wino7_init(&c->w7, c->w, c->cout, c->cin, vertical, ar) : 0;
}

static void unpack_one(facenet_conv *c, float alpha, void *user) {
    (void)alpha, (void)user;
    hy_sgemm_free(&c->ga);
    hy_wino_free(&c->wg);
    hy_wino7_free(&c->w7);
}

// The GEMM operands of all convs, packed once (extra memory: one copy of the conv weights, and
// the Winograd forms), the convs shared among the threads: packing the full network's 90 MB is
// a third of loading it.
typedef struct {
    facenet_conv *c[FACENET_MAX_POINTS * 13];  // a block: 4 branches of up to 3 convs, and the up-conv
    float alpha[FACENET_MAX_POINTS * 13];
    int n;
} conv_list;

static void list_one(facenet_conv *c, float alpha, void *user) {
    conv_list *l = user;
    l->c[l->n] = c, l->alpha[l->n++] = alpha;
}

static int pack_weights(facenet *f) {
    conv_list *l = hy_calloc(1, sizeof *l);
    if (!l) return HY_ENOMEM;
    each_conv(f, list_one, l);
    int rc = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : rc)
    for (int i = 0; i < l->n; i++) rc |= pack_one(l->c[i], l->alpha[i], &f->arena);
    free(l);
    return rc ? hy_err(HY_ENOMEM, "%s: cannot allocate the packed weights", f->wf.path) : HY_OK;
}

int hy_facenet_load(facenet *f, const char *path) {
    memset(f, 0, sizeof *f);
    int rc = hy_wf_open(&f->wf, path);
    if (rc) return rc;
    // The packed forms take about 2x the file (the weights, the Winograd kernels, their packed
    // copies); the arena's capacity is address space only, and what does not fit is allocated apart.
    if (!(rc = hy_wf_expect_kind(&f->wf, "facenet")) && !(rc = hy_arena_init(&f->arena, 3 * f->wf.size + (16 << 20))) &&
        !(rc = build(f)))
        rc = pack_weights(f);
    if (rc) hy_facenet_free(f);
    return rc;
}

static void free_lane(facenet_buffers *B) {
    free(B->x);
    free(B->y);
    free(B->t1);
    free(B->t2);
    free(B->th);
    free(B->scratch);
    free(B->img0);
    free(B->feat);
    memset(B, 0, sizeof *B);
}

static void free_buffers(facenet *f) {
    free_lane(&f->lane[0]);
    free_lane(&f->lane[1]);
}

void hy_facenet_free(facenet *f) {
    each_conv(f, unpack_one, NULL);
    for (int i = 0; i < f->nblocks; i++) free(f->blk[i].head_b);
    hy_arena_free(&f->arena);
    free_buffers(f);
    hy_wf_close(&f->wf);
    memset(f, 0, sizeof *f);
}

// --- buffers ----------------------------------------------------------------------------

size_t hy_facenet_conv_scratch_floats(const facenet_conv *c, int h, int w) {
    if (is_pointwise(c)) return 0;
    int ho = out_size(h, c->kh, c->sh, c->ph), wo = out_size(w, c->kw, c->sw, c->pw);
    const size_t col = (size_t)c->cin * c->kh * c->kw * ho * wo;  // im2col (also when the ISA changes)
    const size_t wino = c->wg.u   ? hy_wino_scratch_floats(&c->wg, w)
                        : c->w7.u ? hy_wino7_scratch_floats(&c->w7, h, w)
                                  : 0;
    return col > wino ? col : wino;
}

static size_t umax(size_t a, size_t b) { return a > b ? a : b; }

// Per-image sizes, in floats. Everything is bounded by the config (channels <= 65536, input
// <= 4096), and the batch multiply below is overflow-checked.
static void sizes(const facenet *f, size_t *act, size_t *tmp, size_t *head, size_t *im2col_max) {
    *act = (size_t)3 * f->input_size * f->input_size;
    *tmp = *head = 0;
    *im2col_max = 0;
    for (int i = 0; i < f->nblocks; i++) {
        const facenet_block *b = &f->blk[i];
        size_t ccat = 0;
        *head = umax(*head, (size_t)b->head.cout * b->h * b->w);
        *act = umax(*act, umax((size_t)b->cin * b->h * b->w, (size_t)b->cout * b->ho * b->wo));
        for (int j = 0; j < b->nbranch; j++) {
            const facenet_branch *br = &b->br[j];
            int h = b->h, w = b->w;
            if (br->pool) ccat += b->cin;
            for (int k = 0; k < br->nconv; k++) {
                const facenet_conv *c = &br->conv[k];
                *im2col_max = umax(*im2col_max, hy_facenet_conv_scratch_floats(c, h, w));
                h = out_size(h, c->kh, c->sh, c->ph);
                w = out_size(w, c->kw, c->sw, c->pw);
                if (k + 1 < br->nconv) *tmp = umax(*tmp, (size_t)c->cout * h * w);
                else ccat += c->cout;
            }
        }
        *act = umax(*act, ccat * b->ho * b->wo);  // the concat of a residual block lives in y
    }
}

static int reserve_lane(const facenet *f, facenet_buffers *B, int n) {
    if (n <= B->cap_n) return HY_OK;
    free_lane(B);
    size_t act, tmp, head, col, a, t, hd, s, fe;
    sizes(f, &act, &tmp, &head, &col);
    size_t tile = col ? umax(1, FN_SCRATCH_TARGET / col) : 1;
    if (tile > (size_t)n) tile = (size_t)n;
    if (hy_mul_size(act, (size_t)n, &a) || hy_mul_size(tmp, (size_t)n, &t) || hy_mul_size(head, (size_t)n, &hd) ||
        hy_mul_size(col, tile, &s) ||
        hy_mul_size((size_t)(f->feat_dim > f->emb_dim ? f->feat_dim : f->emb_dim), (size_t)n, &fe) ||
        a > ((size_t)1 << 40))
        return hy_err(HY_ENOMEM, "facenet: batch of %d images is too large", n);
    B->x = hy_malloc_huge(a * sizeof(float), 0);  // (the large ones on huge pages: see hy_arena)
    B->y = hy_malloc_huge(a * sizeof(float), 0);
    B->t1 = hy_malloc_aligned(umax(t, (size_t)f->input_size) * sizeof(float));  // also the pool's row buffer
    B->t2 = hy_malloc_aligned(umax(t, 1) * sizeof(float));
    B->th = hy_malloc_aligned(umax(hd, 1) * sizeof(float));
    B->scratch = hy_malloc_huge(umax(s, 1) * sizeof(float), 0);
    B->img0 = hy_malloc_aligned(act * sizeof(float));
    B->feat = hy_malloc_aligned(fe * sizeof(float));
    if (!B->x || !B->y || !B->t1 || !B->t2 || !B->th || !B->scratch || !B->img0 || !B->feat) {
        free_lane(B);
        return hy_err(HY_ENOMEM, "facenet: cannot allocate buffers for a batch of %d", n);
    }
    // Touch every page now (setup), not during the first forward pass.
    memset(B->x, 0, a * sizeof(float));
    memset(B->y, 0, a * sizeof(float));
    memset(B->scratch, 0, umax(s, 1) * sizeof(float));
    B->act_floats = a;
    B->tmp_floats = t;
    B->scratch_floats = umax(s, 1);
    B->img0_floats = act;
    B->cap_n = n;
    return HY_OK;
}

// Two lanes (halves of the batch in two threads) when 2+ threads are set and the batch has 2+ images.
static int use_lanes(int n) { return hy_get_threads() >= 2 && n >= 2; }

// Images per pass for a lane given n images (see forward_chunks).
static int chunk(int n) { return n < HY_FACENET_CHUNK ? n : HY_FACENET_CHUNK; }

int hy_facenet_reserve(facenet *f, int n) {
    if (n < 1) return hy_err(HY_EARG, "facenet: batch size %d must be >= 1", n);
    if (!use_lanes(n)) return reserve_lane(f, &f->lane[0], chunk(n));
    int rc = reserve_lane(f, &f->lane[0], chunk((n + 1) / 2));
    return rc ? rc : reserve_lane(f, &f->lane[1], chunk(n / 2));
}

// --- batched conv -----------------------------------------------------------------------

// col (K = cin*kh*kw, cn*ho*wo) for images [n0, n0+cn) of in (cin, n, h, w).
static void im2col_rows(float *col, const float *in, const facenet_conv *c, int n, int n0, int cn, int h, int w,
                        int ho, int wo, int r0, int r1) {
    const size_t cols = (size_t)cn * ho * wo;
    for (int r = r0; r < r1; r++) {
        const int ci = r / (c->kh * c->kw), ky = (r / c->kw) % c->kh, kx = r % c->kw;
        float *dst = col + (size_t)r * cols;
        for (int i = 0; i < cn; i++) {
            const float *src = in + ((size_t)ci * n + n0 + i) * h * w;
            for (int oy = 0; oy < ho; oy++, dst += wo) {
                const int iy = oy * c->sh - c->ph + ky;
                if (iy < 0 || iy >= h) {
                    memset(dst, 0, (size_t)wo * sizeof(float));
                    continue;
                }
                const float *row = src + (size_t)iy * w;
                if (c->sw == 1) {  // valid ox: 0 <= ox - pw + kx < w
                    int lo = c->pw - kx, hi = w + c->pw - kx;
                    if (lo < 0) lo = 0;
                    if (lo > wo) lo = wo;
                    if (hi > wo) hi = wo;
                    if (hi < lo) hi = lo;
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
                    memcpy(dst + lo, row + lo - c->pw + kx, (size_t)(hi - lo) * sizeof(float));
                    for (int ox = hi; ox < wo; ox++) dst[ox] = 0.0f;
                } else {
                    for (int ox = 0; ox < wo; ox++) {
                        const int ix = ox * c->sw - c->pw + kx;
                        dst[ox] = (ix >= 0 && ix < w) ? row[ix] : 0.0f;
                    }
                }
            }
        }
    }
}

// rows [o0, o1) of x (c, len) with row stride ld: x = x + alpha*b[c], optional ReLU.
static void bias_act_rows(float *x, size_t ld, const float *b, float alpha, size_t len, int hy_relu, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
        float *r = x + (size_t)o * ld;
        const float bb = alpha * b[o];
        if (hy_relu)
            for (size_t i = 0; i < len; i++) {
                const float v = r[i] + bb;
                r[i] = v > 0.0f ? v : 0.0f;
            }
        else
            for (size_t i = 0; i < len; i++) r[i] += bb;
    }
}

static void im2col_cnhw(float *col, const float *in, const facenet_conv *c, int n, int n0, int cn, int h, int w,
                        int ho, int wo) {
    im2col_rows(col, in, c, n, n0, cn, h, w, ho, wo, 0, c->cin * c->kh * c->kw);
}

static void bias_act(float *x, size_t ld, const float *b, float alpha, int c, size_t len, int hy_relu) {
    bias_act_rows(x, ld, b, alpha, len, hy_relu, 0, c);
}

// out (cout, N) = W (cout, K) @ col (K, N), col rows N apart: through the packed weights when
// the conv was packed at load, with the bias and ReLU applied as the product is stored (returns
// 1), else straight from c->w (convs built by hand in the tests; returns 0: the caller adds them).
static int conv_gemm(const facenet_conv *c, int N, const float *col, float *out, int ldo) {
    if (c->ga.A || c->ga.packed) {  // (a head has only its packed form)
        hy_sgemm_a_mul_ep(&c->ga, N, col, N, 0.0f, out, ldo, c->b, 1.0f, c->hy_relu);
        return 1;
    }
    hy_sgemm(c->cout, N, c->cin * c->kh * c->kw, 1.0f, c->w, c->cin * c->kh * c->kw, col, N, 0.0f, out, ldo);
    return 0;
}

void hy_facenet_conv_cnhw(float *out, size_t ldo, const float *in, const facenet_conv *c, int n, int h, int w,
                       float *scratch, size_t scratch_floats) {
    const int ho = out_size(h, c->kh, c->sh, c->ph), wo = out_size(w, c->kw, c->sw, c->pw);
    const size_t hwo = (size_t)ho * wo, cols = (size_t)n * hwo;
    const int K = c->cin * c->kh * c->kw;
    int fused = 0;  // bias and ReLU applied by conv_gemm
    if (hy_wino_fast(&c->wg) && scratch_floats >= hy_wino_scratch_floats(&c->wg, w)) {
        hy_wino_conv(out, ldo, in, &c->wg, n, h, w, c->b, c->hy_relu, scratch);
        return;
    }
    if (hy_wino7_fast(&c->w7) && scratch_floats >= hy_wino7_scratch_floats(&c->w7, h, w)) {
        hy_wino7_conv(out, ldo, in, &c->w7, n, h, w, c->b, c->hy_relu, scratch);
        return;
    }
    if (is_pointwise(c)) {
        // out (cout, n*hw) = W (cout, cin) @ in (cin, n*hw)
        fused = conv_gemm(c, (int)cols, in, out, (int)ldo);
    } else {
        const size_t per = (size_t)K * hwo;
        int tile = (int)(scratch_floats / per);
        if (tile < 1) tile = 1;  // callers size scratch for at least one image
        if (tile > n) tile = n;
        for (int n0 = 0; n0 < n; n0 += tile) {
            const int cn = n - n0 < tile ? n - n0 : tile;
            im2col_cnhw(scratch, in, c, n, n0, cn, h, w, ho, wo);
            fused = conv_gemm(c, (int)(cn * hwo), scratch, out + (size_t)n0 * hwo, (int)ldo);
        }
    }
    if (!fused) bias_act(out, ldo, c->b, 1.0f, c->cout, cols, c->hy_relu);
}

// out (planes, ho, wo) = 3x3 stride-2 floor max-pool of in (planes, h, w)
// (torch hy_max_pool2d(3, 2), as core hy_max_pool2d(..., 3, 2, 0) but with fixed-size windows the
// compiler vectorises: the vertical max of three rows first, then stride-2 triples. Inputs are
// finite (checked at the network input), so no NaN handling is needed).
static void max_pool_3s2(float *out, const float *in, size_t planes, int h, int w, float *row) {
    const int ho = out_size(h, 3, 2, 0), wo = out_size(w, 3, 2, 0);
    for (size_t p = 0; p < planes; p++) {
        const float *src = in + p * h * w;
        float *dst = out + p * ho * wo;
        for (int y = 0; y < ho; y++, dst += wo) {
            const float *r0 = src + (size_t)(2 * y) * w, *r1 = r0 + w, *r2 = r1 + w;
            for (int x = 0; x < w; x++) {
                const float a = r0[x] > r1[x] ? r0[x] : r1[x];
                row[x] = a > r2[x] ? a : r2[x];
            }
            for (int x = 0; x < wo; x++) {
                const float a = row[2 * x] > row[2 * x + 1] ? row[2 * x] : row[2 * x + 1];
                dst[x] = a > row[2 * x + 2] ? a : row[2 * x + 2];
            }
        }
    }
}

// --- forward ------------------------------------------------------------------------------

// img0 (c, hw) = image 0 of x (c, n, hw)
static const float *first_image(facenet_buffers *B, const float *x, int c, int n, size_t hw) {
    for (int i = 0; i < c; i++) memcpy(B->img0 + (size_t)i * hw, x + (size_t)i * n * hw, hw * sizeof(float));
    return B->img0;
}

// The forward pass of n images on lane B (reserved for n; inputs already checked finite).
static void forward_lane(const facenet *f, facenet_buffers *B, const float *in, int n, float *emb,
                         facenet_hook hook, void *user) {
    const size_t S = (size_t)f->input_size, hw0 = S * S;
    // in (n, 3, S, S) -> x (3, n, S, S)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            memcpy(B->x + ((size_t)c * n + i) * hw0, in + ((size_t)i * 3 + c) * hw0, hw0 * sizeof(float));

    float *x = B->x, *y = B->y;
    for (int bi = 0; bi < f->nblocks; bi++) {
        const facenet_block *b = &f->blk[bi];
        const size_t hwo = (size_t)b->ho * b->wo, ldo = (size_t)n * hwo;
        float *cat = y;  // (ccat, n, ho, wo): the block output, or the residual concat
        size_t off = 0;
        const size_t ldh = (size_t)n * b->h * b->w;  // a row of the head's output
        // (after an ISA switch since loading the head's packed form is not usable: the branches'
        // own convs then run, unpacked)
        const int head = b->head.cout && hy_sgemm_a_packed_now(&b->head.ga);
        if (head) hy_facenet_conv_cnhw(B->th, ldh, x, &b->head, n, b->h, b->w, B->scratch, B->scratch_floats);
        for (int j = 0; j < b->nbranch; j++) {
            const facenet_branch *br = &b->br[j];
            if (br->pool) {  // 3x3/2 floor max-pool over the C*N planes
                max_pool_3s2(cat + off * ldo, x, (size_t)b->cin * n, b->h, b->w, B->t1);
                off += (size_t)b->cin;
                continue;
            }
            const float *cur = x;
            int h = b->h, w = b->w, k0 = 0;
            if (head && b->head_off[j] >= 0) {  // the first conv's rows of the head's output
                cur = B->th + (size_t)b->head_off[j] * ldh;
                k0 = 1;
                if (br->nconv == 1)  // a branch of one 1x1 conv: its rows into the concat (same size)
                    memcpy(cat + off * ldo, cur, sizeof(float) * br->conv[0].cout * ldh);
            }
            for (int k = k0; k < br->nconv; k++) {
                const facenet_conv *c = &br->conv[k];
                const int last = k + 1 == br->nconv;
                const int ho = out_size(h, c->kh, c->sh, c->ph), wo = out_size(w, c->kw, c->sw, c->pw);
                float *dst = last ? cat + off * ldo : (k == 0 ? B->t1 : B->t2);
                hy_facenet_conv_cnhw(dst, last ? ldo : (size_t)n * ho * wo, cur, c, n, h, w, B->scratch,
                                  B->scratch_floats);
                cur = dst;
                h = ho;
                w = wo;
            }
            off += (size_t)br->conv[br->nconv - 1].cout;
        }
        if (b->residual) {
            // x = act(x + scale * (Wup @ cat + bup))   (torch: hy_relu(x + scale * hy_conv2d(cat)))
            const facenet_conv *u = &b->up;
            // ga holds scale * Wup; the bias (times scale) and ReLU are applied as x is stored
            hy_sgemm_a_mul_ep(&u->ga, (int)ldo, cat, (int)ldo, 1.0f, x, (int)ldo, u->b, b->scale, b->hy_relu);
        } else {
            float *t = x;
            x = y;
            y = t;
        }
        if (hook) hook(user, b->name, first_image(B, x, b->cout, n, hwo), b->cout, b->ho, b->wo);
    }

    // Head: avgpool_1a (C*N planes) -> feat (n, C) -> last_linear (+ folded last_bn) -> L2 norm.
    const facenet_block *lb = &f->blk[f->nblocks - 1];
    const int C = f->feat_dim, D = f->emb_dim;
    hy_global_avg_pool(y, x, 1, C * n, lb->ho * lb->wo);  // y (C, n)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) B->feat[(size_t)i * C + c] = y[(size_t)c * n + i];
    if (hook) hook(user, "avgpool_1a", B->feat, C, 1, 1);
    hy_dense(emb, B->feat, f->lin_w, f->lin_b, n, C, D);
    if (hook) hook(user, "last_linear", emb, D, 1, 1);
    hy_l2_normalize(emb, n, D, 1e-12f);
    if (hook) hook(user, "embedding", emb, D, 1, 1);
}

// n images on lane B, HY_FACENET_CHUNK at a time (the hook sees the first chunk's first image).
// Whole batches as one pass were slower per image: at batch 32 a block's activations (7-10 MB)
// leave the caches between its convs and every GEMM packs its input from memory. Measured on
// 64 images at one thread, AVX2 kernels, with two other jobs on the 2-core machine (CPU s):
// 32 images per pass 2.61, 16 2.36, 8 2.19, 4 2.18, 2 2.31, 1 2.47 (one image per pass leaves
// the late blocks' products 9-64 columns wide); pinned to the less busy core, chunks of
// 2 / 4 / 8 / 16 at batch 32: 27.3 / 28.9 / 26.8 / 26.8 images/s (tests/bench/facenet.sh).
static void forward_chunks(const facenet *f, facenet_buffers *B, const float *in, int n, float *emb,
                           facenet_hook hook, void *user) {
    const size_t img = (size_t)3 * f->input_size * f->input_size;
    for (int i = 0; i < n; i += HY_FACENET_CHUNK)
        forward_lane(f, B, in + (size_t)i * img, chunk(n - i), emb + (size_t)i * f->emb_dim, i ? NULL : hook, user);
}

typedef struct {
    const facenet *f;
    const float *in;
    int n;
    float *emb;
} lane_job;

static void *lane_main(void *arg) {
    const lane_job *j = arg;
    forward_chunks(j->f, (facenet_buffers *)&j->f->lane[1], j->in, j->n, j->emb, NULL, NULL);
    return NULL;
}

int hy_facenet_forward(facenet *f, const float *in, int n, float *emb, facenet_hook hook, void *user) {
    int rc = hy_facenet_reserve(f, n);
    if (rc) return rc;
    const size_t img = (size_t)3 * f->input_size * f->input_size;
    long bad = 0;
    for (size_t k = 0; k < (size_t)n * img; k++) bad += !isfinite(in[k]);
    if (bad) return hy_err(HY_EVALUE, "facenet: input has %ld non-finite values", bad);
    if (!use_lanes(n)) {
        // One image (or one thread): everything on this thread. A second thread for one image's
        // products (9..6241 columns) or for its memory-bound passes (a helper thread that took
        // half of each im2col and bias pass, before) did not pay on an idle machine (34.0 vs 35.6
        // and 36.4 vs 32.7 img/s), and with a competing process every hand-off waited for the
        // scheduler: 2.3x slower than one thread (tests/bench/threads.sh).
        const int blas_threads = hy_blas_threads_begin(0);  // no work: one thread
        forward_chunks(f, &f->lane[0], in, n, emb, hook, user);
        hy_blas_threads_end(blas_threads);
        return HY_OK;
    }
    // Two threads, each with single-threaded BLAS on half of the batch: at batch 32 this runs
    // ~1.2x faster than one pass with OpenBLAS's 2 threads, whose sgemms (32-448 output rows)
    // split poorly. The hook (first image only) is called from this thread's lane.
    const int n0 = (n + 1) / 2;
    lane_job j = {f, in + (size_t)n0 * img, n - n0, emb + (size_t)n0 * f->emb_dim};
    const int blas_threads = hy_blas_threads_begin(0);  // no work: one thread
    pthread_t t;
    const int started = pthread_create(&t, NULL, lane_main, &j) == 0;
    forward_chunks(f, &f->lane[0], in, n0, emb, hook, user);
    if (started) pthread_join(t, NULL);
    else forward_chunks(f, &f->lane[1], j.in, j.n, j.emb, NULL, NULL);
    hy_blas_threads_end(blas_threads);
    return HY_OK;
}

// --- reference forward ----------------------------------------------------------------------
//
// The spec's network image by image in plain NCHW with the naive ops of src/nn (hy_conv2d_ref
// with double accumulation, hy_max_pool2d, hy_residual_add, hy_relu, hy_dense_ref): what the
// channel-major, packed-GEMM forward above is tested against (tests/test_facenet_ref.c). It
// reads the raw conv weights (unscaled; the block scale is applied to the up-conv output, as in
// facenet-pytorch) and uses lane 0's buffers, reserved for one image.

// out (cout, ho, wo) = conv(in (cin, h, w)) + b, then ReLU where the unit has one
static void ref_conv(float *out, const float *in, const facenet_conv *c, int h, int w) {
    conv_shape s = {c->cin, h, w, c->cout, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw};
    hy_conv2d_ref(out, in, c->w, c->b, 1, &s);
    if (c->hy_relu) hy_relu(out, (size_t)c->cout * hy_conv2d_out_h(&s) * hy_conv2d_out_w(&s));
}

// One block on one image. x (cin, h, w) is the input; the branches write their outputs at their
// channel offsets of cat (ccat, ho, wo). A residual block then updates x in place:
// x = act(x + scale * (Wup cat + bup)) (u holds the up-conv output) and returns x; any other
// block returns cat.
static float *ref_block(const facenet_block *b, float *x, float *cat, float *t1, float *t2, float *u) {
    const size_t hwo = (size_t)b->ho * b->wo;
    size_t off = 0;  // channels of cat written so far
    for (int j = 0; j < b->nbranch; j++) {
        const facenet_branch *br = &b->br[j];
        if (br->pool) {  // MaxPool2d(3, stride 2), floor
            hy_max_pool2d(cat + off * hwo, x, 1, b->cin, b->h, b->w, 3, 2, 0);
            off += (size_t)b->cin;
            continue;
        }
        const float *cur = x;
        int h = b->h, w = b->w;
        for (int k = 0; k < br->nconv; k++) {  // the branch's convs in sequence; the last into cat
            const facenet_conv *c = &br->conv[k];
            float *dst = k + 1 == br->nconv ? cat + off * hwo : (k == 0 ? t1 : t2);
            ref_conv(dst, cur, c, h, w);
            h = out_size(h, c->kh, c->sh, c->ph);
            w = out_size(w, c->kw, c->sw, c->pw);
            cur = dst;
        }
        off += (size_t)br->conv[br->nconv - 1].cout;
    }
    if (!b->residual) return cat;
    ref_conv(u, cat, &b->up, b->ho, b->wo);
    hy_residual_add(x, u, b->scale, (size_t)b->cin * hwo);
    if (b->hy_relu) hy_relu(x, (size_t)b->cin * hwo);
    return x;
}

int hy_facenet_forward_ref(facenet *f, const float *in, int n, float *emb, facenet_hook hook, void *user) {
    if (n < 1) return hy_err(HY_EARG, "facenet: batch size %d must be >= 1", n);
    const size_t img = (size_t)3 * f->input_size * f->input_size;
    for (size_t k = 0; k < (size_t)n * img; k++)
        if (!isfinite(in[k])) return hy_err(HY_EVALUE, "facenet: input has non-finite values");
    int rc = reserve_lane(f, &f->lane[0], 1);
    if (rc) return rc;
    facenet_buffers *B = &f->lane[0];
    const int C = f->feat_dim, D = f->emb_dim;
    for (int i = 0; i < n; i++) {
        float *x = B->x, *y = B->y;
        memcpy(x, in + (size_t)i * img, img * sizeof(float));
        // stem, repeat_1 (Block35) x5, mixed_6a, repeat_2 (Block17) x10, mixed_7a, repeat_3
        // (Block8) x5, block8: each block's output becomes the next one's input
        for (int bi = 0; bi < f->nblocks; bi++) {
            const facenet_block *b = &f->blk[bi];
            float *o = ref_block(b, x, y, B->t1, B->t2, B->img0);
            if (o == y) y = x, x = o;
            if (hook && i == 0) hook(user, b->name, x, b->cout, b->ho, b->wo);
        }
        // head: AdaptiveAvgPool2d(1) -> last_linear (last_bn folded in) -> L2 normalise
        const facenet_block *lb = &f->blk[f->nblocks - 1];
        float *e = emb + (size_t)i * D;
        hy_global_avg_pool(B->feat, x, 1, C, lb->ho * lb->wo);
        if (hook && i == 0) hook(user, "avgpool_1a", B->feat, C, 1, 1);
        hy_dense_ref(e, B->feat, f->lin_w, f->lin_b, 1, C, D);
        if (hook && i == 0) hook(user, "last_linear", e, D, 1, 1);
        hy_l2_normalize(e, 1, D, 1e-12f);
        if (hook && i == 0) hook(user, "embedding", e, D, 1, 1);
    }
    return HY_OK;
}
