// pggan.c - PGGAN generator (spec pggan.md §1): loading, the reference forward and the fast
// forward.
//
//   z -> PN -> dense+bias -> view (C4,4,4) -> LReLU -> PN -> conv3x3 -> LReLU -> PN
//     -> for r = 8..R: up2x -> conv0 -> LReLU -> PN -> conv1 -> LReLU -> PN
//     -> toRGB 1x1 (linear)
//
// Weights are read (and fully validated) from a "pggan" weight file; the resolution and
// channel schedule come from its config. Which forward hy_pggan_forward runs is chosen once at
// load (pggan.h: PGGAN_FAST or PGGAN_REF), and so is every buffer: nothing is allocated or
// resized in a forward pass (except the per-thread row bands of hy_c3_stage_rgb).
//   reference  hy_pggan_forward_ref: the table above as naive loops (src/nn/ops_ref.c), the
//              hook after every op. The definition the fast forward is tested against.
//   fast       forward_fast: direct 3x3 kernels with the upsample folded into conv0 and, when
//              no hook is attached, LReLU + PN (+ toRGB) fused into the convs, padded planes,
//              and the last stage in row bands; im2col + sgemm for the layers the kernels do
//              not take (HY_CONV3X3=0, generic ISA, odd channel counts).
#include "models/pggan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/common.h"
#include "nn/conv3x3.h"
#include "nn/cpu.h"  // hy_isa, hy_isa_name
#include "nn/ops.h"

#ifndef _OPENMP  // NO_OMP=1 builds: the loops run serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#define PN_EPS 1e-8f
#define LRELU_SLOPE 0.2f

void hy_pggan_free(pggan *g) {
    hy_wf_close(&g->wf);
    free(g->buf_a);
    free(g->buf_b);
    free(g->buf_c);
    free(g->scratch);
    free(g->pk_arena);
    free(g->own);
    memset(g, 0, sizeof *g);
}

// --- buffers ------------------------------------------------------------------------

// Activation buffers: 2 MiB aligned, transparent huge pages requested (fewer page faults and
// TLB misses on the 64 MB tensors of the last scales). The first `touch` floats are zeroed
// here so that the first image does not pay their page faults; the rest stays untouched
// (address space only) until a forward pass writes it.
static float *big_alloc(size_t floats, size_t touch) {
    size_t bytes = (floats ? floats : 1) * sizeof(float), align = (size_t)2 << 20;
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = NULL;
    if (rounded < bytes || posix_memalign(&p, align, rounded) != 0) {
        hy_err(HY_ENOMEM, "out of memory allocating %zu bytes", rounded);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);  // advisory: failure only costs speed
#endif
    memset(p, 0, (touch < floats ? touch : floats) * sizeof(float));
    return p;
}

// Floats from one channel plane of an r x r activation to the next: padded on the fused fast
// path (see C3_PLANE_PAD), dense where a hook or the generic ops read the tensors.
static size_t plane_floats(int r, int padded) { return (size_t)r * r + (padded ? C3_PLANE_PAD : 0); }

static size_t zmax(size_t a, size_t b) { return a > b ? a : b; }

// --- loading ------------------------------------------------------------------------

// Config: resolution (-> nstages), latent size, channel schedule, each range-checked.
static int read_config(pggan *g) {
    const wfile *wf = &g->wf;
    const char *p = wf->path;
    int64_t res, lat;
    const int64_t *ch;
    uint32_t nch;
    int r;
    if ((r = hy_wf_expect_kind(wf, "pggan")) || (r = hy_wf_cfg_int(wf, "resolution", &res)) ||
        (r = hy_wf_cfg_int(wf, "latent_size", &lat)) || (r = hy_wf_cfg_ints(wf, "channels", &ch, &nch)))
        return r;
    int ns = 0;
    while (ns < PGGAN_MAX_STAGES && (4 << ns) != res) ns++;
    if (ns == PGGAN_MAX_STAGES)
        return hy_err(HY_EFORMAT, "%s: resolution %lld is not a power of two in 4..1024", p, (long long)res);
    g->nstages = ns + 1;
    if (nch != (uint32_t)g->nstages)
        return hy_err(HY_EFORMAT, "%s: 'channels' has %u entries, resolution %lld needs %d", p, nch, (long long)res,
                      g->nstages);
    if (lat < 1 || lat > 65536) return hy_err(HY_EFORMAT, "%s: latent_size %lld out of range", p, (long long)lat);
    for (int s = 0; s < g->nstages; s++) {
        if (ch[s] < 1 || ch[s] > 4096)
            return hy_err(HY_EFORMAT, "%s: channels[%d] = %lld out of range 1..4096", p, s, (long long)ch[s]);
        g->ch[s] = (int)ch[s];
    }
    g->resolution = (int)res;
    g->latent = (int)lat;
    return HY_OK;
}

// Every tensor of the schedule, with its expected shape; then no tensor may be left unused.
static int get_tensors(pggan *g) {
    wfile *wf = &g->wf;
    int64_t c4 = g->ch[0], lat = g->latent, cl = g->ch[g->nstages - 1];
    int r;
    if ((r = hy_wf_get_f32(wf, "dense.weight", 2, (int64_t[]){16 * c4, lat}, &g->st[0].w0)) ||
        (r = hy_wf_get_f32(wf, "dense.bias", 1, (int64_t[]){16 * c4}, &g->st[0].b0)) ||
        (r = hy_wf_get_f32(wf, "4x4.conv.weight", 4, (int64_t[]){c4, c4, 3, 3}, &g->st[0].w1)) ||
        (r = hy_wf_get_f32(wf, "4x4.conv.bias", 1, (int64_t[]){c4}, &g->st[0].b1)))
        return r;
    for (int s = 1; s < g->nstages; s++) {
        int rr = 4 << s;
        int64_t ci = g->ch[s - 1], co = g->ch[s];
        char w0[64], b0[64], w1[64], b1[64];
        snprintf(w0, sizeof w0, "%dx%d.conv0.weight", rr, rr);
        snprintf(b0, sizeof b0, "%dx%d.conv0.bias", rr, rr);
        snprintf(w1, sizeof w1, "%dx%d.conv1.weight", rr, rr);
        snprintf(b1, sizeof b1, "%dx%d.conv1.bias", rr, rr);
        if ((r = hy_wf_get_f32(wf, w0, 4, (int64_t[]){co, ci, 3, 3}, &g->st[s].w0)) ||
            (r = hy_wf_get_f32(wf, b0, 1, (int64_t[]){co}, &g->st[s].b0)) ||
            (r = hy_wf_get_f32(wf, w1, 4, (int64_t[]){co, co, 3, 3}, &g->st[s].w1)) ||
            (r = hy_wf_get_f32(wf, b1, 1, (int64_t[]){co}, &g->st[s].b1)))
            return r;
    }
    if ((r = hy_wf_get_f32(wf, "torgb.weight", 4, (int64_t[]){3, cl, 1, 1}, &g->rgb_w)) ||
        (r = hy_wf_get_f32(wf, "torgb.bias", 1, (int64_t[]){3}, &g->rgb_b)))
        return r;
    // a file with tensors the model does not use is probably the wrong model: refuse it
    return hy_wf_check_all_used(wf, "a PGGAN generator");
}

// Direct-conv layers: repack (and for conv0 fold the upsample into) the weights once. All
// packed weights share one huge-page arena (a few faults instead of one per 4 KiB): a first
// pass sizes it, the second packs.
static int pack_convs(pggan *g) {
    size_t npk = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t off = 0;
        if (pass == 1 && npk && !(g->pk_arena = big_alloc(npk, 0))) return HY_ENOMEM;
        int c4 = g->ch[0];
        if (hy_c3_supported(c4, c4, 4, 4, 0)) {
            if (pass) g->pk1[0] = g->pk_arena + off, hy_c3_pack(g->pk1[0], g->st[0].w1, c4, c4, 0);
            off += hy_c3_packed_floats(c4, c4, 0);
        }
        for (int s = 1; s < g->nstages; s++) {
            int rr = 4 << s, ci = g->ch[s - 1], co = g->ch[s];
            if (hy_c3_supported(ci, co, rr / 2, rr / 2, 1)) {
                if (pass) g->pk0[s] = g->pk_arena + off, hy_c3_pack(g->pk0[s], g->st[s].w0, ci, co, 1);
                off += hy_c3_packed_floats(ci, co, 1);
            }
            if (hy_c3_supported(co, co, rr, rr, 0)) {
                if (pass) g->pk1[s] = g->pk_arena + off, hy_c3_pack(g->pk1[s], g->st[s].w1, co, co, 0);
                off += hy_c3_packed_floats(co, co, 0);
            }
        }
        npk = off;
    }
    return HY_OK;
}

// Copies *p (n floats) to dst and points *p at the copy; returns dst + n.
static float *keep(float *dst, const float **p, size_t n) {
    memcpy(dst, *p, n * sizeof(float));
    *p = dst;
    return dst + n;
}

// If every conv layer has packed weights, keep copies of the other tensors and close the
// weight file (see pggan.h). The raw conv weight pointers become NULL.
static int release_file(pggan *g) {
    if (!g->pk1[0]) return HY_OK;
    for (int s = 1; s < g->nstages; s++)
        if (!g->pk0[s] || !g->pk1[s]) return HY_OK;
    int c4 = g->ch[0];
    size_t n = (size_t)16 * c4 * g->latent + 16 * (size_t)c4 + c4 + 3 * (size_t)g->ch[g->nstages - 1] + 3;
    for (int s = 1; s < g->nstages; s++) n += 2 * (size_t)g->ch[s];
    if (!(g->own = hy_malloc_aligned(n * sizeof(float)))) return HY_ENOMEM;
    float *d = g->own;
    d = keep(d, &g->st[0].w0, (size_t)16 * c4 * g->latent);
    d = keep(d, &g->st[0].b0, (size_t)16 * c4);
    d = keep(d, &g->st[0].b1, (size_t)c4);
    g->st[0].w1 = NULL;
    for (int s = 1; s < g->nstages; s++) {
        d = keep(d, &g->st[s].b0, (size_t)g->ch[s]);
        d = keep(d, &g->st[s].b1, (size_t)g->ch[s]);
        g->st[s].w0 = g->st[s].w1 = NULL;
    }
    d = keep(d, &g->rgb_w, 3 * (size_t)g->ch[g->nstages - 1]);
    keep(d, &g->rgb_b, 3);
    char path[sizeof g->wf.path];  // messages still name the file
    memcpy(path, g->wf.path, sizeof path);
    hy_wf_close(&g->wf);
    memcpy(g->wf.path, path, sizeof path);
    return HY_OK;
}

// Sizes and allocates the activations, scratch and buf_c (see pggan.h) for the path chosen:
//   act_full   the largest tensor of a layer-by-layer forward: (C(r/2), r, r) upsampled input
//              or (C(r), r, r) output, over every stage (the reference and a hooked fast forward)
//   act_floats what the forward without a hook uses: on the fused fast path (every conv
//              packed) padded planes up to the last stage's input; else act_full
static int alloc_buffers(pggan *g) {
    int c4 = g->ch[0], last = g->nstages - 1;
    size_t act = (size_t)16 * c4, act_c = (size_t)g->latent, scratch = 0;
    conv_shape c4s = {c4, 4, 4, c4, 3, 3, 1, 1, 1, 1};
    scratch = hy_conv2d_scratch_floats(&c4s);
    for (int s = 1; s <= last; s++) {
        int rr = 4 << s, ci = g->ch[s - 1], co = g->ch[s];
        size_t hw = (size_t)rr * rr;
        act = zmax(act, zmax((size_t)ci * hw, (size_t)co * hw));
        conv_shape c0 = {ci, rr, rr, co, 3, 3, 1, 1, 1, 1}, c1 = {co, rr, rr, co, 3, 3, 1, 1, 1, 1};
        scratch = zmax(scratch, zmax(hy_conv2d_scratch_floats(&c0), hy_conv2d_scratch_floats(&c1)));
        if (g->path == PGGAN_FAST && !g->pk0[s]) act_c = zmax(act_c, (size_t)co * hw);  // generic conv0's output
    }
    g->act_full = act;
    g->act_floats = act;
    if (g->own) {  // fused: padded planes; the last stage's output never exists
        size_t fused = (size_t)c4 * plane_floats(4, 1);
        for (int s = 1; s <= last; s++) {
            int rr = 4 << s;
            fused = zmax(fused, (size_t)g->ch[s - 1] * plane_floats(rr / 2, 1));
            if (s < last) fused = zmax(fused, (size_t)g->ch[s] * plane_floats(rr, 1));
        }
        g->act_floats = fused;
        g->act_full = zmax(act, fused);
    }
    g->scratch_floats = g->path == PGGAN_FAST ? scratch : 0;  // the reference needs none
    g->buf_a = big_alloc(g->act_full, g->act_floats);
    g->buf_b = big_alloc(g->act_full, g->act_floats);
    g->buf_c = big_alloc(act_c, act_c);
    g->scratch = hy_malloc_aligned(zmax(g->scratch_floats, 1) * sizeof(float));
    return g->buf_a && g->buf_b && g->buf_c && g->scratch ? HY_OK : HY_ENOMEM;
}

static int load_as(pggan *g, const char *path, pggan_path which) {
    memset(g, 0, sizeof *g);
    int r = hy_wf_open(&g->wf, path);
    if (r) return r;
    g->file_crc = hy_crc32(0, g->wf.buf, g->wf.size);
    g->path = which;
    if (!(r = read_config(g)) && !(r = get_tensors(g)) && which == PGGAN_FAST && !(r = pack_convs(g)))
        r = release_file(g);
    if (!r) r = alloc_buffers(g);
    if (r) hy_pggan_free(g);
    return r;
}

int hy_pggan_load(pggan *g, const char *path) { return load_as(g, path, PGGAN_FAST); }
int hy_pggan_load_ref(pggan *g, const char *path) { return load_as(g, path, PGGAN_REF); }

// --- shared by both forwards ------------------------------------------------------------

static void emit(pggan_hook hook, void *user, const char *name, const float *x, int c, int h, int w) {
    if (hook) hook(user, name, x, c, h, w);
}

static int check_latent(const pggan *g, const float *z) {
    for (int i = 0; i < g->latent; i++)
        if (!isfinite(z[i])) return hy_err(HY_EVALUE, "latent element %d is NaN or Inf", i);
    return HY_OK;
}

// LReLU -> hook -> PN -> hook, in place on a layer output x (c, r, r) already emitted as `name`
static void lrelu_pn(float *x, int c, int r, const char *name, pggan_hook hook, void *user) {
    char n[64];
    hy_leaky_relu(x, (size_t)c * r * r, LRELU_SLOPE);
    snprintf(n, sizeof n, "%s.lrelu", name);
    emit(hook, user, n, x, c, r, r);
    hy_pixel_norm(x, 1, c, r * r, PN_EPS);
    snprintf(n, sizeof n, "%s.pn", name);
    emit(hook, user, n, x, c, r, r);
}

// --- reference forward ------------------------------------------------------------------

// out (cout, r, r) = PN(LReLU(conv3x3(in (cin, r, r), w) + b)), naive conv, hooked after each op.
static void ref_conv_layer(float *out, const float *in, const float *w, const float *b, int cin, int cout, int r,
                           const char *name, pggan_hook hook, void *user) {
    conv_shape s = {cin, r, r, cout, 3, 3, 1, 1, 1, 1};
    hy_conv2d_ref(out, in, w, b, 1, &s);
    emit(hook, user, name, out, cout, r, r);
    lrelu_pn(out, cout, r, name, hook, user);
}

// The spec's table top to bottom. x is the current activation; y the other buffer.
int hy_pggan_forward_ref(pggan *g, const float *z, float *out, pggan_hook hook, void *user) {
    if (!g->st[0].w1)
        return hy_err(HY_EARG, "%s: loaded for the fast forward, which released the raw conv weights; the reference "
                               "forward needs hy_pggan_load_ref", g->wf.path);
    int rc = check_latent(g, z);
    if (rc) return rc;
    int c4 = g->ch[0], L = g->latent;
    float *x = g->buf_a, *y = g->buf_b, *zn = g->buf_c, *t;
    // latent: PN over its L entries (on a copy, z stays untouched)
    memcpy(zn, z, sizeof(float) * (size_t)L);
    hy_pixel_norm(zn, 1, L, 1, PN_EPS);
    emit(hook, user, "z.pn", zn, L, 1, 1);
    // 4x4 dense: W z + b, viewed as (C4, 4, 4) (unit o = 16c + 4y + x is CHW order) -> LReLU -> PN
    hy_dense_ref(x, zn, g->st[0].w0, g->st[0].b0, 1, L, 16 * c4);
    emit(hook, user, "4x4.dense", x, c4, 4, 4);
    lrelu_pn(x, c4, 4, "4x4.dense", hook, user);
    // 4x4 conv: conv3x3 -> LReLU -> PN
    ref_conv_layer(y, x, g->st[0].w1, g->st[0].b1, c4, c4, 4, "4x4.conv", hook, user);
    t = x, x = y, y = t;
    // r = 8..R: Up -> conv0 -> LReLU -> PN -> conv1 -> LReLU -> PN
    for (int s = 1; s < g->nstages; s++) {
        int r = 4 << s, ci = g->ch[s - 1], co = g->ch[s];
        char n0[32], n1[32];
        snprintf(n0, sizeof n0, "%dx%d.conv0", r, r);
        snprintf(n1, sizeof n1, "%dx%d.conv1", r, r);
        hy_upsample2x_nearest(y, x, 1, ci, r / 2, r / 2);                          // y (ci, r, r)
        ref_conv_layer(x, y, g->st[s].w0, g->st[s].b0, ci, co, r, n0, hook, user);  // x (co, r, r)
        ref_conv_layer(y, x, g->st[s].w1, g->st[s].b1, co, co, r, n1, hook, user);  // y (co, r, r)
        t = x, x = y, y = t;
    }
    // toRGB: 1x1 conv C(R) -> 3 + bias, linear
    int R = g->resolution;
    conv_shape rgb = {g->ch[g->nstages - 1], R, R, 3, 1, 1, 1, 1, 0, 0};
    hy_conv2d_ref(out, x, g->rgb_w, g->rgb_b, 1, &rgb);
    emit(hook, user, "torgb", out, 3, R, R);
    return HY_OK;
}

// --- fast forward ---------------------------------------------------------------------------

// out (m) = W (m, n) x (n) + b, as hy_dense() for one row, but on OpenMP threads: an OpenBLAS
// call here would wake OpenBLAS's own threads, which then poll for work while the OpenMP
// threads run the convs (on 2 cores the two pools take turns).
static void latent_dense(float *out, const float *x, const float *W, const float *b, int n, int m) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < m; o++) {
        const float *w = W + (size_t)o * n;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int i = 0; i < n; i++) s += w[i] * x[i];
        out[o] = s + b[o];
    }
}

// A layer left to im2col + sgemm: out (cout, r, r) = PN(LReLU(conv3x3(in (cin, r, r)) + b)),
// dense planes, hooked after each op.
static void generic_layer(pggan *g, float *out, const float *in, const float *w, const float *b, int cin, int cout,
                          int r, const char *name, pggan_hook hook, void *user) {
    conv_shape s = {cin, r, r, cout, 3, 3, 1, 1, 1, 1};
    hy_conv2d(out, in, w, b, 1, &s, g->scratch);
    emit(hook, user, name, out, cout, r, r);
    lrelu_pn(out, cout, r, name, hook, user);
}

// A packed layer on the direct kernels: in is (cin, r/2, r/2) when up (conv0, the upsample
// folded in), else (cin, r, r); out (cout, r, r). Channel planes are istride / ostride floats
// apart (dense when there is a hook). With a hook the conv output is emitted, then LReLU and
// PN run as separate passes (each emitted); without one they, and toRGB into rgb_out when it
// is set, are fused into the conv.
static void direct_layer(pggan *g, float *out, size_t ostride, const float *in, size_t istride, const float *packed,
                         const float *b, int cin, int cout, int r, int up, const char *name, pggan_hook hook,
                         void *user, float *rgb_out) {
    int h = up ? r / 2 : r;
    if (hook) {
        hy_c3_conv_strided(out, ostride, in, istride, packed, b, cin, cout, h, h, up, NULL);
        emit(hook, user, name, out, cout, r, r);
        lrelu_pn(out, cout, r, name, hook, user);
        return;
    }
    c3_epilogue ep = {1, LRELU_SLOPE, 1, PN_EPS, g->rgb_w, g->rgb_b, rgb_out};
    hy_c3_conv_strided(out, ostride, in, istride, packed, b, cin, cout, h, h, up, &ep);
}

// The same ops as hy_pggan_forward_ref, each layer on the path chosen for it at load (packed:
// direct kernels; else upsample + im2col + sgemm). x is the current activation, in buf_a or
// buf_b; `pad` selects padded planes, used when every conv is packed and no hook reads them.
static int forward_fast(pggan *g, const float *z, float *out, pggan_hook hook, void *user) {
    if (g->pk_arena && !hy_c3_available())
        return hy_err(HY_EARG, "generator was loaded for the direct-conv kernels, which the current instruction set "
                               "(%s) lacks: load it again", hy_isa_name(hy_isa()));
    int rc = check_latent(g, z);
    if (rc) return rc;
    int c4 = g->ch[0], L = g->latent, pad = !hook && g->own, last = g->nstages - 1;
    float *a = g->buf_a, *b = g->buf_b, *zn = g->buf_c;
    // latent PN (on a copy), 4x4 dense -> LReLU -> PN, as in the reference
    memcpy(zn, z, sizeof(float) * (size_t)L);
    hy_pixel_norm(zn, 1, L, 1, PN_EPS);
    emit(hook, user, "z.pn", zn, L, 1, 1);
    latent_dense(a, zn, g->st[0].w0, g->st[0].b0, L, 16 * c4);
    emit(hook, user, "4x4.dense", a, c4, 4, 4);
    lrelu_pn(a, c4, 4, "4x4.dense", hook, user);
    // 4x4 conv (with toRGB fused when it is also the last layer and no hook is attached)
    float *rgb = last == 0 && !hook ? out : NULL;
    if (g->pk1[0])
        direct_layer(g, b, plane_floats(4, pad), a, 16, g->pk1[0], g->st[0].b1, c4, c4, 4, 0, "4x4.conv", hook, user,
                     rgb);
    else generic_layer(g, b, a, g->st[0].w1, g->st[0].b1, c4, c4, 4, "4x4.conv", hook, user);
    int rgb_done = g->pk1[0] && rgb;
    float *x = b;
    for (int s = 1; s <= last && !rgb_done; s++) {
        int r = 4 << s, ci = g->ch[s - 1], co = g->ch[s];
        const pggan_stage *st = &g->st[s];
        size_t in_plane = plane_floats(r / 2, pad), plane = plane_floats(r, pad);
        if (s == last && !hook && g->pk0[s] && g->pk1[s]) {  // conv0, conv1, toRGB fused over row bands
            c3_epilogue ep = {1, LRELU_SLOPE, 1, PN_EPS, g->rgb_w, g->rgb_b, out};
            if (hy_c3_stage_rgb(x, in_plane, ci, co, r / 2, r / 2, g->pk0[s], st->b0, g->pk1[s], st->b1, &ep))
                return hy_err(HY_ENOMEM, "out of memory (row buffers of the last stage)");
            rgb_done = 1;
            break;
        }
        char n0[32], n1[32];
        snprintf(n0, sizeof n0, "%dx%d.conv0", r, r);
        snprintf(n1, sizeof n1, "%dx%d.conv1", r, r);
        float *y = x == a ? b : a, *mid, *dst;  // conv0 writes mid, conv1 dst
        if (g->pk0[s]) {  // Up + conv0 in one kernel: x -> y
            mid = y, dst = x;
            direct_layer(g, mid, plane, x, in_plane, g->pk0[s], st->b0, ci, co, r, 1, n0, hook, user, NULL);
        } else {  // Up into y, conv0 into buf_c
            mid = g->buf_c, dst = y;
            hy_upsample2x_nearest(y, x, 1, ci, r / 2, r / 2);
            generic_layer(g, mid, y, st->w0, st->b0, ci, co, r, n0, hook, user);
        }
        rgb = s == last && !hook ? out : NULL;
        if (g->pk1[s]) {
            direct_layer(g, dst, plane, mid, plane, g->pk1[s], st->b1, co, co, r, 0, n1, hook, user, rgb);
            rgb_done = rgb != NULL;
        } else {
            generic_layer(g, dst, mid, st->w1, st->b1, co, co, r, n1, hook, user);
        }
        x = dst;
    }
    int R = g->resolution;
    if (!rgb_done) {
        conv_shape rgb_shape = {g->ch[last], R, R, 3, 1, 1, 1, 1, 0, 0};
        hy_conv2d(out, x, g->rgb_w, g->rgb_b, 1, &rgb_shape, g->scratch);
    }
    emit(hook, user, "torgb", out, 3, R, R);
    return HY_OK;
}

int hy_pggan_forward(pggan *g, const float *z, float *out, pggan_hook hook, void *user) {
    return g->path == PGGAN_REF ? hy_pggan_forward_ref(g, z, out, hook, user) : forward_fast(g, z, out, hook, user);
}
