// faceapi_agegender.c - face-api's age and gender network (AgeGenderNet on a TinyXception with two
// main blocks), 112x112 RGB -> age, p_male, as face-api runs it (layer order in
// include/models/faceapi.h).
//
// Reads top to bottom: weight loading (widths from the tensor shapes), sizes, buffers, the blocks,
// forward. Activations are NCHW over the batch. TF's 'same' padding is asymmetric for stride 2
// (the extra row and column go after), so the stride-2 3x3 conv pads explicitly and the max
// pools take explicit padding; pointwise and 1x1 convs are ops.c's sgemm.
#include "models/faceapi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"   // hy_err, hy_malloc, hy_mul_size
#include "nn/ops.h"        // hy_conv2d, hy_relu, hy_dense
#include "nn/ops_extra.h"  // hy_depthwise_conv2d, hy_pad2d, hy_max_pool2d_pad, hy_avg_pool2d, hy_tf_same_pad

// --- weight loading ---------------------------------------------------------------------------

// prefix.{depthwise_filter [cin,1,3,3], pointwise_filter [cout,cin,1,1], bias [cout]}; cout < 0: from the file
static int get_sep(faceapi_loader *L, const char *prefix, int cin, int cout, faceapi_sepconv *s) {
    char n[160];
    int64_t dd[4] = {cin, 1, 3, 3}, pd[4] = {cout, cin, 1, 1}, bd[1];
    int rc;
    snprintf(n, sizeof n, "%s.depthwise_filter", prefix);
    if ((rc = hy_faceapi_get(L, n, 4, dd, &s->dw.w))) return rc;
    s->dw.cin = s->dw.cout = cin, s->dw.kh = s->dw.kw = 3;
    snprintf(n, sizeof n, "%s.pointwise_filter", prefix);
    if ((rc = hy_faceapi_get(L, n, 4, pd, &s->pw.w))) return rc;
    s->pw.cin = cin, s->pw.cout = (int)pd[0], s->pw.kh = s->pw.kw = 1;
    bd[0] = s->pw.cout;
    snprintf(n, sizeof n, "%s.bias", prefix);
    return hy_faceapi_get(L, n, 1, bd, &s->pw.b);
}

// prefix.{filters [cout,cin,k,k], bias [cout]}
static int get_conv(faceapi_loader *L, const char *prefix, const char *wname, const char *bname, int cin, int cout,
                    int k, faceapi_conv *c) {
    char n[160];
    int64_t wd[4] = {cout, cin, k, k}, bd[1];
    int rc;
    snprintf(n, sizeof n, "%s.%s", prefix, wname);
    if ((rc = hy_faceapi_get(L, n, k ? 4 : 2, wd, &c->w))) return rc;
    c->cin = cin, c->cout = (int)wd[0], c->kh = c->kw = k ? k : 1;
    bd[0] = c->cout;
    snprintf(n, sizeof n, "%s.%s", prefix, bname);
    return hy_faceapi_get(L, n, 1, bd, &c->b);
}

static int get_reduction(faceapi_loader *L, const char *prefix, int cin, faceapi_reduction *r) {
    char p[128];
    int rc;
    snprintf(p, sizeof p, "%s.separable_conv0", prefix);
    if ((rc = get_sep(L, p, cin, -1, &r->s0))) return rc;
    int co = r->s0.pw.cout;
    snprintf(p, sizeof p, "%s.separable_conv1", prefix);
    if ((rc = get_sep(L, p, co, co, &r->s1))) return rc;
    snprintf(p, sizeof p, "%s.expansion_conv", prefix);
    return get_conv(L, p, "filters", "bias", cin, co, 1, &r->expand);
}

static int build(faceapi_agegender *m) {
    const wfile *wf = &m->wf;
    faceapi_loader L;
    int64_t nb;
    int rc = hy_wf_cfg_int(wf, "main_blocks", &nb);
    if (rc) return rc;
    if (nb != 2) return hy_err(HY_EFORMAT, "%s: config main_blocks %lld, expected 2 (AgeGenderNet)", wf->path,
                               (long long)nb);
    if ((rc = hy_faceapi_loader_init(&L, wf, &m->params))) return rc;
    char p[96];
    if ((rc = get_conv(&L, "entry_flow.conv_in", "filters", "bias", 3, -1, 3, &m->conv_in))) goto done;
    int c = m->conv_in.cout;
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "entry_flow.reduction_block_%d", i);
        if ((rc = get_reduction(&L, p, c, &m->rb[i]))) goto done;
        c = m->rb[i].s0.pw.cout;
    }
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++) {
            snprintf(p, sizeof p, "middle_flow.main_block_%d.separable_conv%d", i, k);
            if ((rc = get_sep(&L, p, c, c, &m->main[i][k]))) goto done;
        }
    if ((rc = get_reduction(&L, "exit_flow.reduction_block", c, &m->rb[2]))) goto done;
    c = m->rb[2].s0.pw.cout;
    if ((rc = get_sep(&L, "exit_flow.separable_conv", c, -1, &m->exit_sep))) goto done;
    m->feat = m->exit_sep.pw.cout;
    if ((rc = get_conv(&L, "fc.age", "weights", "bias", m->feat, 1, 0, &m->fc_age))) goto done;
    rc = get_conv(&L, "fc.gender", "weights", "bias", m->feat, 2, 0, &m->fc_gender);
done:
    return hy_faceapi_loader_finish(&L, rc);
}

// Spatial size after conv_in and the three reductions (each 'same' stride 2: ceil(s/2)); the
// 7x7/2 average pool must leave 1x1 (upstream: 112 -> 56 -> 28 -> 14 -> 7 -> 1), since the
// dense heads read it flattened.
static int plan(const faceapi_agegender *m, size_t *act, size_t *scratch) {
    int s = m->input_size, o, pb, pa;
    hy_tf_same_pad(s, 3, 2, &o, &pb, &pa);
    conv_shape cs = {3, s + pb + pa, s + pb + pa, m->conv_in.cout, 3, 3, 2, 2, 0, 0};
    *scratch = hy_conv2d_scratch_floats(&cs);
    size_t in = (size_t)3 * (s + pb + pa) * (s + pb + pa);
    *act = in > (size_t)m->conv_in.cout * o * o ? in : (size_t)m->conv_in.cout * o * o;
    s = o;
    for (int i = 0; i < 3; i++) {  // a block's widest tensors: its input and its full-size pre-pool ones
        int w = m->rb[i].s0.pw.cout > m->rb[i].s0.dw.cin ? m->rb[i].s0.pw.cout : m->rb[i].s0.dw.cin;
        size_t n = (size_t)w * s * s;
        if (n > *act) *act = n;
        s = (s + 1) / 2;
    }
    size_t e = (size_t)m->feat * s * s;
    if (e > *act) *act = e;
    if (s < 7 || (s - 7) / 2 + 1 != 1)
        return hy_err(HY_ESHAPE, "%s: input size %d leaves %dx%d features; the 7x7/2 pool needs 7 or 8", m->wf.path,
                      m->input_size, s, s);
    return HY_OK;
}

int hy_faceapi_agegender_load(faceapi_agegender *m, const char *path) {
    memset(m, 0, sizeof *m);
    m->input_size = 112;
    size_t act, scr;
    int rc = hy_faceapi_open(&m->wf, path, FACEAPI_AGEGENDER_KIND, m->input_size, m->mean, &m->divisor);
    if (!rc) rc = build(m);
    if (!rc) rc = plan(m, &act, &scr);
    if (rc) hy_faceapi_agegender_free(m);
    return rc;
}

void hy_faceapi_agegender_free(faceapi_agegender *m) {
    hy_faceapi_close(&m->wf, &m->params, m->lane);
    memset(m, 0, sizeof *m);
}

// --- buffers ----------------------------------------------------------------------------------

// Sizes the lanes' buffers for a batch of n.
static int reserve(faceapi_agegender *m, int n) {
    size_t act, scr;
    int rc = plan(m, &act, &scr);
    if (rc) return rc;
    return hy_faceapi_reserve_lanes(m->lane, n, act, scr, "face-api age/gender");
}

// --- blocks -----------------------------------------------------------------------------------

// out (n, pw.cout, s, s) = pointwise(depthwise 3x3 same (in (n, cin, s, s))) + bias; tmp holds the
// depthwise result.
static void sepconv(float *out, const float *in, const faceapi_sepconv *sc, int n, int s, float *tmp) {
    hy_depthwise_conv2d(tmp, in, sc->dw.w, NULL, n, sc->dw.cin, s, s, 3, 3, 1, 1);
    conv_shape cs = {sc->pw.cin, s, s, sc->pw.cout, 1, 1, 1, 1, 0, 0};
    hy_conv2d(out, tmp, sc->pw.w, sc->pw.b, n, &cs, NULL);
}

static void relu_copy(float *dst, const float *src, size_t len) {
    for (size_t i = 0; i < len; i++) dst[i] = src[i] > 0 ? src[i] : 0.0f;
}

// reductionBlock: *x (n, cin, s, s) -> (n, cout, ceil(s/2), ...) in *x; the four buffers rotate.
static int reduction(float **x, float **b, float **t, float **u, const faceapi_reduction *r, int n, int s,
                     int activate, float *scratch) {
    const int cin = r->s0.dw.cin, co = r->s0.pw.cout;
    const float *src = *x;
    if (activate) {
        relu_copy(*b, *x, (size_t)n * cin * s * s);
        src = *b;
    }
    sepconv(*u, src, &r->s0, n, s, *t);
    hy_relu(*u, (size_t)n * co * s * s);
    sepconv(*b, *u, &r->s1, n, s, *t);
    int so, pb, pa;
    hy_tf_same_pad(s, 3, 2, &so, &pb, &pa);
    hy_max_pool2d_pad(*u, *b, n, co, s, s, 3, 2, pb, pb, so, so);
    // the 1x1 stride-2 expansion conv: 'same' never pads a 1x1 kernel; its output is ceil(s/2) = so
    conv_shape cs = {cin, s, s, co, 1, 1, 2, 2, 0, 0};
    hy_conv2d(*t, *x, r->expand.w, r->expand.b, n, &cs, scratch);
    size_t len = (size_t)n * co * so * so;
    for (size_t k = 0; k < len; k++) (*u)[k] += (*t)[k];
    float *tmp = *x;
    *x = *u, *u = tmp;
    return so;
}

// mainBlock: x + 3 x (relu -> sepconv), in place in *x.
static void main_block(float **x, float **b, float **t, float **u, const faceapi_sepconv sc[3], int n, int s) {
    const int c = sc[0].dw.cin;
    const size_t len = (size_t)n * c * s * s;
    relu_copy(*b, *x, len);
    sepconv(*u, *b, &sc[0], n, s, *t);
    hy_relu(*u, len);
    sepconv(*b, *u, &sc[1], n, s, *t);
    hy_relu(*b, len);
    sepconv(*u, *b, &sc[2], n, s, *t);
    for (size_t k = 0; k < len; k++) (*u)[k] += (*x)[k];
    float *tmp = *x;
    *x = *u, *u = tmp;
}

// --- forward ----------------------------------------------------------------------------------

// The forward pass of n images (inputs checked finite) on lane B.
static void forward_lane(const faceapi_agegender *m, faceapi_buffers *B, const float *in, int n, float *age,
                         float *p_male, faceapi_hook hook, void *user) {
    const int S = m->input_size;
    float *a = B->a, *b = B->b, *t = B->t, *u = B->u;
    hy_faceapi_normalize(a, in, n, S, m->mean, m->divisor, "face-api age/gender");
    if (hook) hook(user, "input", a, 3, S, S);
    // conv_in: 3x3 stride 2 'same' = zero padding (pb before, pa after), then a valid conv
    int s, pb, pa;
    hy_tf_same_pad(S, 3, 2, &s, &pb, &pa);
    hy_pad2d(b, a, n, 3, S, S, pb, pa, pb, pa);
    conv_shape cs = {3, S + pb + pa, S + pb + pa, m->conv_in.cout, 3, 3, 2, 2, 0, 0};
    hy_conv2d(a, b, m->conv_in.w, m->conv_in.b, n, &cs, B->scratch);
    int c = m->conv_in.cout;
    hy_relu(a, (size_t)n * c * s * s);
    if (hook) hook(user, "conv_in", a, c, s, s);
    static const char *const RB[3] = {"reduction_block_0", "reduction_block_1", "exit_reduction_block"};
    for (int i = 0; i < 2; i++) {
        s = reduction(&a, &b, &t, &u, &m->rb[i], n, s, i > 0, B->scratch);
        c = m->rb[i].s0.pw.cout;
        if (hook) hook(user, RB[i], a, c, s, s);
    }
    for (int i = 0; i < 2; i++) {
        main_block(&a, &b, &t, &u, m->main[i], n, s);
        if (hook) hook(user, i ? "main_block_1" : "main_block_0", a, c, s, s);
    }
    s = reduction(&a, &b, &t, &u, &m->rb[2], n, s, 1, B->scratch);
    c = m->rb[2].s0.pw.cout;
    if (hook) hook(user, RB[2], a, c, s, s);
    sepconv(b, a, &m->exit_sep, n, s, t);
    c = m->feat;
    hy_relu(b, (size_t)n * c * s * s);
    if (hook) hook(user, "exit_separable_conv", b, c, s, s);
    hy_avg_pool2d(a, b, n, c, s, s, 7, 2);  // (n, feat, 1, 1): the flattened pooled features
    if (hook) hook(user, "avg_pool", a, c, 1, 1);
    float logits[2];
    for (int i = 0; i < n; i++) {
        const float *g = a + (size_t)i * c;
        hy_dense(&age[i], g, m->fc_age.w, m->fc_age.b, 1, c, 1);
        hy_dense(logits, g, m->fc_gender.w, m->fc_gender.b, 1, c, 2);
        // tf.softmax: exp(l - max) / sum, in float32
        float mx = logits[0] > logits[1] ? logits[0] : logits[1];
        float e0 = expf(logits[0] - mx), e1 = expf(logits[1] - mx);
        p_male[i] = e0 / (e0 + e1);
        if (hook && i == 0) {
            hook(user, "age", &age[0], 1, 1, 1);
            hook(user, "gender_logits", logits, 2, 1, 1);
            float g2[2] = {p_male[0], e1 / (e0 + e1)};
            hook(user, "gender", g2, 2, 1, 1);
        }
    }
}

typedef struct {
    faceapi_agegender *m;
    const float *in;
    float *age, *p_male;
    faceapi_hook hook;
    void *user;
} lanes_ctx;

static void run_lane(void *ctx, int lane, int i0, int n) {
    lanes_ctx *c = ctx;
    const size_t img = (size_t)3 * c->m->input_size * c->m->input_size;
    forward_lane(c->m, &c->m->lane[lane], c->in + (size_t)i0 * img, n, c->age + i0, c->p_male + i0,
                 lane ? NULL : c->hook, c->user);
}

int hy_faceapi_agegender_forward(faceapi_agegender *m, const float *in, int n, float *age, float *p_male,
                                 faceapi_hook hook, void *user) {
    if (n < 1) return hy_err(HY_EARG, "face-api age/gender: batch size %d must be >= 1", n);
    int rc = reserve(m, n);
    if (rc) return rc;
    long bad = 0;
    for (size_t k = 0; k < (size_t)n * 3 * m->input_size * m->input_size; k++) bad += !isfinite(in[k]);
    if (bad) return hy_err(HY_EVALUE, "face-api age/gender: input has %ld non-finite values", bad);
    lanes_ctx c = {m, in, age, p_male, hook, user};
    hy_faceapi_run_lanes(run_lane, &c, n);
    return HY_OK;
}
