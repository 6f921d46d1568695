// faceapi_recog.c - face-api's face descriptor network (FaceRecognitionNet), 150x150 RGB ->
// 128-d, as face-api runs it (layer order in include/models/faceapi.h).
//
// Reads top to bottom: topology, weight loading (widths from the tensor shapes, every spatial
// size checked for the configured input), buffers, forward. Activations are NCHW over the batch;
// each conv is ops.c's im2col + sgemm (hy_conv2d) followed by face-api's bias and scale layer.
#include "models/faceapi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"   // hy_err, hy_malloc, hy_mul_size
#include "nn/ops.h"        // hy_conv2d, hy_relu, hy_global_avg_pool, hy_dense
#include "nn/ops_extra.h"  // hy_max_pool2d_pad, hy_avg_pool2d, hy_channel_affine

// --- topology ---------------------------------------------------------------------------------

static const char *const RESIDUALS[FACEAPI_RECOG_RESIDUALS] = {
    "conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
    "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2", "conv256_down_out"};

static int is_down(const char *name) { return strstr(name, "_down") != NULL; }

// --- weight loading ---------------------------------------------------------------------------

// prefix.conv.filters [cout, cin, k, k] (cout read from the file when < 0), conv.bias,
// scale.weights, scale.biases [cout].
static int get_conv_layer(faceapi_loader *L, const char *prefix, int cin, int cout, int k, faceapi_conv *c) {
    char n[128];
    int64_t wd[4] = {cout, cin, k, k}, vd[1];
    int rc;
    snprintf(n, sizeof n, "%s.conv.filters", prefix);
    if ((rc = hy_faceapi_get(L, n, 4, wd, &c->w))) return rc;
    c->cin = cin, c->cout = (int)wd[0], c->kh = c->kw = k;
    vd[0] = c->cout;
    snprintf(n, sizeof n, "%s.conv.bias", prefix);
    if ((rc = hy_faceapi_get(L, n, 1, vd, &c->b))) return rc;
    snprintf(n, sizeof n, "%s.scale.weights", prefix);
    if ((rc = hy_faceapi_get(L, n, 1, vd, &c->scale))) return rc;
    snprintf(n, sizeof n, "%s.scale.biases", prefix);
    return hy_faceapi_get(L, n, 1, vd, &c->shift);
}

static int build(faceapi_recog *m) {
    const wfile *wf = &m->wf;
    faceapi_loader L;
    int rc = hy_faceapi_loader_init(&L, wf, &m->params);
    if (rc) return rc;
    if ((rc = get_conv_layer(&L, "conv32_down", 3, -1, 7, &m->stem))) goto done;
    int c = m->stem.cout;
    char p[96];
    for (int i = 0; i < FACEAPI_RECOG_RESIDUALS; i++) {
        snprintf(m->res[i].name, sizeof m->res[i].name, "%s", RESIDUALS[i]);
        m->res[i].down = is_down(RESIDUALS[i]);
        snprintf(p, sizeof p, "%s.conv1", RESIDUALS[i]);
        if ((rc = get_conv_layer(&L, p, c, m->res[i].down ? -1 : c, 3, &m->res[i].c1))) goto done;
        int co = m->res[i].c1.cout;
        if (co != c && co != 2 * c) {
            rc = hy_err(HY_ESHAPE, "%s: tensor '%s.conv.filters' has %d outputs; a down layer keeps or doubles its %d "
                        "input channels", wf->path, p, co, c);
            goto done;
        }
        snprintf(p, sizeof p, "%s.conv2", RESIDUALS[i]);
        if ((rc = get_conv_layer(&L, p, co, co, 3, &m->res[i].c2))) goto done;
        c = co;
    }
    int64_t fd[2] = {-1, c};
    if ((rc = hy_faceapi_get(&L, "fc", 2, fd, &m->fc))) goto done;
    m->dim = (int)fd[0];
    rc = HY_OK;
done:
    return hy_faceapi_loader_finish(&L, rc);
}

// Spatial sizes through the network for input S; checks that each *_down layer's conv and pool
// agree (equal, or the conv one smaller, as residualDown pads it) and reports the largest
// activation and conv scratch per image.
static int plan(const faceapi_recog *m, size_t *act, size_t *scratch) {
    int s = m->input_size;
    conv_shape cs = {3, s, s, m->stem.cout, 7, 7, 2, 2, 0, 0};
    *scratch = hy_conv2d_scratch_floats(&cs);
    s = (s - 7) / 2 + 1;
    *act = (size_t)m->stem.cout * s * s;
    s = (s - 3) / 2 + 1;
    for (int i = 0; i < FACEAPI_RECOG_RESIDUALS; i++) {
        const faceapi_conv *c1 = &m->res[i].c1;
        if (s < 3) return hy_err(HY_ESHAPE, "%s: input size %d is too small for %s", m->wf.path, m->input_size,
                                 m->res[i].name);
        int st = m->res[i].down ? 2 : 1, pad = m->res[i].down ? 0 : 1;
        conv_shape a = {c1->cin, s, s, c1->cout, 3, 3, st, st, pad, pad};
        int so = hy_conv2d_out_h(&a);
        conv_shape b = {c1->cout, so, so, c1->cout, 3, 3, 1, 1, 1, 1};
        size_t sc = hy_conv2d_scratch_floats(&a), sc2 = hy_conv2d_scratch_floats(&b);
        if (sc > *scratch) *scratch = sc;
        if (sc2 > *scratch) *scratch = sc2;
        if (m->res[i].down) {
            int sp = (s - 2) / 2 + 1;
            if (sp != so && sp != so + 1)
                return hy_err(HY_ESHAPE, "%s: input size %d: %s gives %dx%d but its shortcut %dx%d", m->wf.path,
                              m->input_size, m->res[i].name, so, so, sp, sp);
            so = sp;
        }
        size_t n = (size_t)c1->cout * so * so;
        if (n > *act) *act = n;
        s = so;
    }
    return HY_OK;
}

int hy_faceapi_recog_load(faceapi_recog *m, const char *path) {
    memset(m, 0, sizeof *m);
    m->input_size = 150;
    size_t act, scr;
    int rc = hy_faceapi_open(&m->wf, path, FACEAPI_RECOG_KIND, m->input_size, m->mean, &m->divisor);
    if (!rc) rc = build(m);
    if (!rc) rc = plan(m, &act, &scr);
    if (rc) hy_faceapi_recog_free(m);
    return rc;
}

void hy_faceapi_recog_free(faceapi_recog *m) {
    hy_faceapi_close(&m->wf, &m->params, m->lane);
    memset(m, 0, sizeof *m);
}

// --- buffers ----------------------------------------------------------------------------------

int hy_faceapi_recog_reserve(faceapi_recog *m, int n) {
    size_t act, scr;
    int rc = plan(m, &act, &scr);
    if (rc) return rc;
    size_t in = (size_t)3 * m->input_size * m->input_size;
    if (in > act) act = in;
    return hy_faceapi_reserve_lanes(m->lane, n, act, scr, "face-api descriptor");
}

// --- forward ----------------------------------------------------------------------------------

// out (n, cout, ho, wo) = scale(conv(in (n, cin, s, s)) + bias), optional ReLU; returns ho.
static int conv_layer(float *out, const float *in, const faceapi_conv *c, int n, int s, int stride, int pad,
                      int relu, float *scratch) {
    conv_shape cs = {c->cin, s, s, c->cout, c->kh, c->kw, stride, stride, pad, pad};
    int so = hy_conv2d_out_h(&cs);
    hy_conv2d(out, in, c->w, c->b, n, &cs, scratch);
    hy_channel_affine(out, c->scale, c->shift, n, c->cout, so * so);
    if (relu) hy_relu(out, (size_t)n * c->cout * so * so);
    return so;
}

// The forward pass of n images (inputs checked finite) on lane B.
static void forward_lane(const faceapi_recog *m, faceapi_buffers *B, const float *in, int n, float *desc,
                         faceapi_hook hook, void *user) {
    const int S = m->input_size;
    float *a = B->a, *b = B->b, *t = B->t, *u = B->u;
    hy_faceapi_normalize(a, in, n, S, m->mean, m->divisor, "face-api descriptor");
    if (hook) hook(user, "input", a, 3, S, S);
    int s = conv_layer(b, a, &m->stem, n, S, 2, 0, 1, B->scratch);
    int c = m->stem.cout;
    if (hook) hook(user, "conv32_down", b, c, s, s);
    int sp = (s - 3) / 2 + 1;
    hy_max_pool2d_pad(a, b, n, c, s, s, 3, 2, 0, 0, sp, sp);
    s = sp;
    if (hook) hook(user, "max_pool", a, c, s, s);
    for (int i = 0; i < FACEAPI_RECOG_RESIDUALS; i++) {
        const faceapi_conv *c1 = &m->res[i].c1, *c2 = &m->res[i].c2;
        const int co = c1->cout;
        if (!m->res[i].down) {
            conv_layer(t, a, c1, n, s, 1, 1, 1, B->scratch);
            conv_layer(b, t, c2, n, s, 1, 1, 0, B->scratch);
            size_t len = (size_t)n * co * s * s;
            for (size_t k = 0; k < len; k++) b[k] += a[k];
        } else {
            int so = conv_layer(t, a, c1, n, s, 2, 0, 1, B->scratch);
            conv_layer(u, t, c2, n, so, 1, 1, 0, B->scratch);
            // shortcut: 2x2/2 average pool of the input into the first c channels of b, zero
            // channels after them; the conv result is added over its so x so corner (a 3x3
            // result against a 4x4 pool is padded with a zero row and column, as upstream)
            sp = (s - 2) / 2 + 1;
            const size_t plane = (size_t)sp * sp;
            for (int img = 0; img < n; img++) {
                float *bi = b + (size_t)img * co * plane;
                hy_avg_pool2d(bi, a + (size_t)img * c * s * s, 1, c, s, s, 2, 2);
                memset(bi + (size_t)c * plane, 0, sizeof(float) * (size_t)(co - c) * plane);
                const float *ui = u + (size_t)img * co * so * so;
                for (int ch = 0; ch < co; ch++)
                    for (int y = 0; y < so; y++)
                        for (int x = 0; x < so; x++) bi[ch * plane + y * sp + x] += ui[((size_t)ch * so + y) * so + x];
            }
            s = sp;
        }
        c = co;
        hy_relu(b, (size_t)n * c * s * s);
        float *tmp = a;
        a = b, b = tmp;
        if (hook) hook(user, m->res[i].name, a, c, s, s);
    }
    hy_global_avg_pool(t, a, n, c, s * s);
    if (hook) hook(user, "avg_pool", t, c, 1, 1);
    hy_dense(desc, t, m->fc, NULL, n, c, m->dim);
    if (hook) hook(user, "descriptor", desc, m->dim, 1, 1);
}

typedef struct {
    faceapi_recog *m;
    const float *in;
    float *desc;
    faceapi_hook hook;
    void *user;
} lanes_ctx;

static void run_lane(void *ctx, int lane, int i0, int n) {
    lanes_ctx *c = ctx;
    const size_t img = (size_t)3 * c->m->input_size * c->m->input_size;
    forward_lane(c->m, &c->m->lane[lane], c->in + (size_t)i0 * img, n, c->desc + (size_t)i0 * c->m->dim,
                 lane ? NULL : c->hook, c->user);
}

int hy_faceapi_recog_forward(faceapi_recog *m, const float *in, int n, float *desc, faceapi_hook hook, void *user) {
    if (n < 1) return hy_err(HY_EARG, "face-api descriptor: batch size %d must be >= 1", n);
    int rc = hy_faceapi_recog_reserve(m, n);
    if (rc) return rc;
    long bad = 0;
    for (size_t k = 0; k < (size_t)n * 3 * m->input_size * m->input_size; k++) bad += !isfinite(in[k]);
    if (bad) return hy_err(HY_EVALUE, "face-api descriptor: input has %ld non-finite values", bad);
    lanes_ctx c = {m, in, desc, hook, user};
    hy_faceapi_run_lanes(run_lane, &c, n);
    return HY_OK;
}
