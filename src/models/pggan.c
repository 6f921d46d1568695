// pggan.c - PGGAN generator forward pass in canonical form (spec pggan.md §1).
//
//   z -> PN -> dense+bias -> view (C4,4,4) -> LReLU -> PN -> conv3x3 -> LReLU -> PN
//     -> for r = 8..R: up2x -> conv0 -> LReLU -> PN -> conv1 -> LReLU -> PN
//     -> toRGB 1x1 (linear)
//
// Weights are read (and fully validated) from a "pggan" weight file; the resolution and
// channel schedule come from its config. All activation buffers are allocated once.
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

// Activation buffers: 2 MiB aligned, transparent huge pages requested (fewer page faults and
// TLB misses on the 64 MB tensors of the last scales), touched once here so that the first
// image does not pay the page faults.
static float *big_alloc_raw(size_t floats) {
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
    return p;
}

static float *big_alloc(size_t floats) {
    float *p = big_alloc_raw(floats);
    if (p) memset(p, 0, (floats ? floats : 1) * sizeof(float));
    return p;
}

// Floats from one channel plane of an r x r activation to the next: padded on the fast path
// (see C3_PLANE_PAD), dense where a hook or the generic ops read the tensors.
static size_t plane_floats(int r, int padded) { return (size_t)r * r + (padded ? C3_PLANE_PAD : 0); }

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

int hy_pggan_load(pggan *g, const char *path) {
    memset(g, 0, sizeof *g);
    int r = hy_wf_open(&g->wf, path);
    if (r) return r;
    g->file_crc = hy_crc32(0, g->wf.buf, g->wf.size);
    wfile *wf = &g->wf;
    const char *p = wf->path;
    int64_t res, lat;
    const int64_t *ch;
    uint32_t nch;
    if ((r = hy_wf_expect_kind(wf, "pggan")) || (r = hy_wf_cfg_int(wf, "resolution", &res)) ||
        (r = hy_wf_cfg_int(wf, "latent_size", &lat)) || (r = hy_wf_cfg_ints(wf, "channels", &ch, &nch)))
        goto fail;
    int ns = 0;
    while (ns < PGGAN_MAX_STAGES && (4 << ns) != res) ns++;
    if (ns == PGGAN_MAX_STAGES) {
        r = hy_err(HY_EFORMAT, "%s: resolution %lld is not a power of two in 4..1024", p, (long long)res);
        goto fail;
    }
    g->nstages = ns + 1;
    if (nch != (uint32_t)g->nstages) {
        r = hy_err(HY_EFORMAT, "%s: 'channels' has %u entries, resolution %lld needs %d", p, nch, (long long)res,
                   g->nstages);
        goto fail;
    }
    if (lat < 1 || lat > 65536) {
        r = hy_err(HY_EFORMAT, "%s: latent_size %lld out of range", p, (long long)lat);
        goto fail;
    }
    for (int s = 0; s < g->nstages; s++) {
        if (ch[s] < 1 || ch[s] > 4096) {
            r = hy_err(HY_EFORMAT, "%s: channels[%d] = %lld out of range 1..4096", p, s, (long long)ch[s]);
            goto fail;
        }
        g->ch[s] = (int)ch[s];
    }
    g->resolution = (int)res;
    g->latent = (int)lat;
    int64_t c4 = g->ch[0];
    if ((r = hy_wf_get_f32(wf, "dense.weight", 2, (int64_t[]){16 * c4, lat}, &g->st[0].w0)) ||
        (r = hy_wf_get_f32(wf, "dense.bias", 1, (int64_t[]){16 * c4}, &g->st[0].b0)) ||
        (r = hy_wf_get_f32(wf, "4x4.conv.weight", 4, (int64_t[]){c4, c4, 3, 3}, &g->st[0].w1)) ||
        (r = hy_wf_get_f32(wf, "4x4.conv.bias", 1, (int64_t[]){c4}, &g->st[0].b1)))
        goto fail;
    size_t act = (size_t)16 * c4, scratch = 0;
    for (int s = 1; s < g->nstages; s++) {
        int rr = 4 << s;
        int64_t ci = g->ch[s - 1], co = g->ch[s];
        char n[64];
        snprintf(n, sizeof n, "%dx%d.conv0.weight", rr, rr);
        if ((r = hy_wf_get_f32(wf, n, 4, (int64_t[]){co, ci, 3, 3}, &g->st[s].w0))) goto fail;
        snprintf(n, sizeof n, "%dx%d.conv0.bias", rr, rr);
        if ((r = hy_wf_get_f32(wf, n, 1, (int64_t[]){co}, &g->st[s].b0))) goto fail;
        snprintf(n, sizeof n, "%dx%d.conv1.weight", rr, rr);
        if ((r = hy_wf_get_f32(wf, n, 4, (int64_t[]){co, co, 3, 3}, &g->st[s].w1))) goto fail;
        snprintf(n, sizeof n, "%dx%d.conv1.bias", rr, rr);
        if ((r = hy_wf_get_f32(wf, n, 1, (int64_t[]){co}, &g->st[s].b1))) goto fail;
        size_t hw = (size_t)rr * rr;
        if (act < (size_t)ci * hw) act = (size_t)ci * hw;
        if (act < (size_t)co * hw) act = (size_t)co * hw;
        conv_shape c0 = {(int)ci, rr, rr, (int)co, 3, 3, 1, 1, 1, 1}, c1 = {(int)co, rr, rr, (int)co, 3, 3, 1, 1, 1, 1};
        size_t s0 = hy_conv2d_scratch_floats(&c0), s1 = hy_conv2d_scratch_floats(&c1);
        if (scratch < s0) scratch = s0;
        if (scratch < s1) scratch = s1;
    }
    conv_shape c4s = {(int)c4, 4, 4, (int)c4, 3, 3, 1, 1, 1, 1};
    if (scratch < hy_conv2d_scratch_floats(&c4s)) scratch = hy_conv2d_scratch_floats(&c4s);
    int64_t cl = g->ch[g->nstages - 1];
    if ((r = hy_wf_get_f32(wf, "torgb.weight", 4, (int64_t[]){3, cl, 1, 1}, &g->rgb_w)) ||
        (r = hy_wf_get_f32(wf, "torgb.bias", 1, (int64_t[]){3}, &g->rgb_b)))
        goto fail;
    // a file with tensors the model does not use is probably the wrong model: refuse it
    if ((r = hy_wf_check_all_used(wf, "a PGGAN generator"))) goto fail;
    // Direct-conv layers: repack (and for conv0 fold the upsample into) the weights once.
    // buf_c only serves the layers left on the upsample + im2col path, so it is sized for them.
    // All packed weights share one huge-page arena (a few faults instead of one per 4 KiB).
    size_t act_c = (size_t)16 * c4, npk = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t off = 0;
        if (pass == 1 && npk && !(g->pk_arena = big_alloc_raw(npk))) {
            r = HY_ENOMEM;
            goto fail;
        }
        if (hy_c3_supported((int)c4, (int)c4, 4, 4, 0)) {
            if (pass) g->pk1[0] = g->pk_arena + off, hy_c3_pack(g->pk1[0], g->st[0].w1, (int)c4, (int)c4, 0);
            off += hy_c3_packed_floats((int)c4, (int)c4, 0);
        }
        for (int s = 1; s < g->nstages; s++) {
            int rr = 4 << s, ci = g->ch[s - 1], co = g->ch[s];
            if (hy_c3_supported(ci, co, rr / 2, rr / 2, 1)) {
                if (pass) g->pk0[s] = g->pk_arena + off, hy_c3_pack(g->pk0[s], g->st[s].w0, ci, co, 1);
                off += hy_c3_packed_floats(ci, co, 1);
            } else if (act_c < (size_t)co * rr * rr) {
                act_c = (size_t)co * rr * rr;
            }
            if (hy_c3_supported(co, co, rr, rr, 0)) {
                if (pass) g->pk1[s] = g->pk_arena + off, hy_c3_pack(g->pk1[s], g->st[s].w1, co, co, 0);
                off += hy_c3_packed_floats(co, co, 0);
            }
        }
        npk = off;
    }
    if ((r = release_file(g))) goto fail;
    // When every conv is fast (g->own set) and no hook is given, the activations use padded
    // planes (plane_floats) and the last stage is fused (c3_stage_rgb): its two full-size
    // activations never exist.
    g->act_full = act;
    int last = g->nstages - 1;
    if (g->own && last == 0 && act < (size_t)c4 * plane_floats(4, 1)) act = (size_t)c4 * plane_floats(4, 1);
    if (g->own && last >= 1) {
        act = (size_t)c4 * plane_floats(4, 1);
        for (int s = 1; s <= last; s++) {
            int rr = 4 << s;
            size_t in = (size_t)g->ch[s - 1] * plane_floats(rr / 2, 1);
            size_t o = s < last ? (size_t)g->ch[s] * plane_floats(rr, 1) : 0;
            if (act < in) act = in;
            if (act < o) act = o;
        }
    }
    g->act_floats = act;
    g->scratch_floats = scratch;
    g->buf_a = big_alloc(act);
    g->buf_b = big_alloc(act);
    if (act_c < (size_t)g->latent) act_c = (size_t)g->latent;  // also holds the normalised latent
    g->buf_c = big_alloc(act_c);
    g->scratch = hy_malloc_aligned((scratch ? scratch : 1) * sizeof(float));
    if (!g->buf_a || !g->buf_b || !g->buf_c || !g->scratch) {
        r = HY_ENOMEM;
        goto fail;
    }
    return HY_OK;
fail:
    hy_pggan_free(g);
    return r;
}

static void emit(pggan_hook hook, void *user, const char *name, const float *x, int c, int h, int w) {
    if (hook) hook(user, name, x, c, h, w);
}

// LReLU -> hook -> PN -> hook, on a conv output (cout, r, r) already emitted as `name`
static void block_tail(float *out, int cout, int r, const char *name, pggan_hook hook, void *user) {
    char n[64];
    size_t len = (size_t)cout * r * r;
    hy_leaky_relu(out, len, LRELU_SLOPE);
    snprintf(n, sizeof n, "%s.lrelu", name);
    emit(hook, user, n, out, cout, r, r);
    hy_pixel_norm(out, 1, cout, r * r, PN_EPS);
    snprintf(n, sizeof n, "%s.pn", name);
    emit(hook, user, n, out, cout, r, r);
}

// conv (3x3, pad 1) + bias -> hook -> LReLU -> hook -> PN -> hook, all on (c_out, r, r)
static void conv_block(pggan *g, float *out, const float *in, const float *w, const float *b, int cin, int cout,
                       int r, const char *name, pggan_hook hook, void *user) {
    conv_shape s = {cin, r, r, cout, 3, 3, 1, 1, 1, 1};
    hy_conv2d(out, in, w, b, 1, &s, g->scratch);
    emit(hook, user, name, out, cout, r, r);
    block_tail(out, cout, r, name, hook, user);
}

// The same block on the direct-conv path: in is (cin, r/2, r/2) when up (conv0, upsample
// folded in), else (cin, r, r). Without a hook the LReLU, PN and (when rgb_out is set) the
// toRGB layer are fused into the conv; with one, the conv output is emitted first.
// Channel planes are istride / ostride floats apart (dense when there is a hook).
static void fast_block(pggan *g, float *out, size_t ostride, const float *in, size_t istride, const float *packed,
                       const float *b, int cin, int cout, int r, int up, const char *name, pggan_hook hook,
                       void *user, float *rgb_out) {
    int h = up ? r / 2 : r;
    if (hook) {
        hy_c3_conv_strided(out, ostride, in, istride, packed, b, cin, cout, h, h, up, NULL);
        emit(hook, user, name, out, cout, r, r);
        block_tail(out, cout, r, name, hook, user);
        return;
    }
    c3_epilogue ep = {1, LRELU_SLOPE, 1, PN_EPS, g->rgb_w, g->rgb_b, rgb_out};
    hy_c3_conv_strided(out, ostride, in, istride, packed, b, cin, cout, h, h, up, &ep);
}

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

int hy_pggan_forward(pggan *g, const float *z, float *out, pggan_hook hook, void *user) {
    if (g->pk_arena && !hy_c3_available())
        return hy_err(HY_EARG, "generator was loaded for the direct-conv kernels, which the current instruction set "
                               "(%s) lacks: load it again", hy_isa_name(hy_isa()));
    for (int i = 0; i < g->latent; i++)
        if (!isfinite(z[i])) return hy_err(HY_EVALUE, "latent element %d is NaN or Inf", i);
    if (hook && g->act_floats < g->act_full) {  // the unfused last stage needs full-size buffers
        float *na = big_alloc(g->act_full), *nb = na ? big_alloc(g->act_full) : NULL;
        if (!nb) {
            free(na);
            return HY_ENOMEM;
        }
        free(g->buf_a), free(g->buf_b);
        g->buf_a = na, g->buf_b = nb, g->act_floats = g->act_full;
    }
    float *a = g->buf_a, *b = g->buf_b, *c = g->buf_c;
    int c4 = g->ch[0];
    // latent pixel norm (into c, leaving z untouched)
    memcpy(c, z, sizeof(float) * (size_t)g->latent);
    hy_pixel_norm(c, 1, g->latent, 1, PN_EPS);
    emit(hook, user, "z.pn", c, g->latent, 1, 1);
    // 4x4: dense -> (C4,4,4), unit o = 16c + 4y + x is exactly CHW order
    latent_dense(a, c, g->st[0].w0, g->st[0].b0, g->latent, 16 * c4);
    emit(hook, user, "4x4.dense", a, c4, 4, 4);
    hy_leaky_relu(a, (size_t)16 * c4, LRELU_SLOPE);
    emit(hook, user, "4x4.dense.lrelu", a, c4, 4, 4);
    hy_pixel_norm(a, 1, c4, 16, PN_EPS);
    emit(hook, user, "4x4.dense.pn", a, c4, 4, 4);
    int last0 = g->nstages == 1 && !hook, pad = !hook && g->own;
    if (g->pk1[0])
        fast_block(g, b, plane_floats(4, pad), a, 16, g->pk1[0], g->st[0].b1, c4, c4, 4, 0, "4x4.conv", hook, user,
                   last0 ? out : NULL);
    else conv_block(g, b, a, g->st[0].w1, g->st[0].b1, c4, c4, 4, "4x4.conv", hook, user);
    float *x = b;  // current activation, in a or b
    int rgb_done = g->pk1[0] && last0;
    for (int s = 1; s < g->nstages; s++) {
        int r = 4 << s, ci = g->ch[s - 1], co = g->ch[s];
        char n0[64], n1[64];
        snprintf(n0, sizeof n0, "%dx%d.conv0", r, r);
        snprintf(n1, sizeof n1, "%dx%d.conv1", r, r);
        float *other = x == a ? b : a, *t, *u;
        if (s == g->nstages - 1 && !hook && g->pk0[s] && g->pk1[s]) {
            c3_epilogue ep = {1, LRELU_SLOPE, 1, PN_EPS, g->rgb_w, g->rgb_b, out};
            if (hy_c3_stage_rgb(x, plane_floats(r / 2, pad), ci, co, r / 2, r / 2, g->pk0[s], g->st[s].b0, g->pk1[s],
                             g->st[s].b1, &ep))
                return hy_err(HY_ENOMEM, "out of memory (row buffers of the last stage)");
            rgb_done = 1;
            break;
        }
        if (g->pk0[s]) {
            t = other;  // conv0 output; conv1 then writes back into x's buffer
            u = x;
            fast_block(g, t, plane_floats(r, pad), x, plane_floats(r / 2, pad), g->pk0[s], g->st[s].b0, ci, co, r, 1,
                       n0, hook, user, NULL);
        } else {
            hy_upsample2x_nearest(other, x, 1, ci, r / 2, r / 2);
            t = c;
            u = other;
            conv_block(g, t, other, g->st[s].w0, g->st[s].b0, ci, co, r, n0, hook, user);
        }
        if (g->pk1[s]) {
            int last = s == g->nstages - 1 && !hook;
            fast_block(g, u, plane_floats(r, pad), t, plane_floats(r, pad), g->pk1[s], g->st[s].b1, co, co, r, 0, n1,
                       hook, user, last ? out : NULL);
            rgb_done = last;
        } else {
            conv_block(g, u, t, g->st[s].w1, g->st[s].b1, co, co, r, n1, hook, user);
        }
        x = u;
    }
    int R = g->resolution, cl = g->ch[g->nstages - 1];
    if (!rgb_done) {
        conv_shape rgb = {cl, R, R, 3, 1, 1, 1, 1, 0, 0};
        hy_conv2d(out, x, g->rgb_w, g->rgb_b, 1, &rgb, g->scratch);
    }
    emit(hook, user, "torgb", out, 3, R, R);
    return HY_OK;
}
