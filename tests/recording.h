// recording.h - a model hook (pggan_hook, facenet_hook) that keeps a copy of every tensor it
// is shown, by name and shape, so that two forward passes can be compared layer by layer
// (test_pggan_ref.c, test_facenet_ref.c). Header-only; needs testutil.h first.
#ifndef HY_RECORDING_H
#define HY_RECORDING_H

#include <math.h>

#include "nn/ops.h"  // hy_stats_f32, hy_max_abs_diff

#define REC_MAX_LAYERS 64
typedef struct {
    int n;
    char name[REC_MAX_LAYERS][32];
    int c[REC_MAX_LAYERS], h[REC_MAX_LAYERS], w[REC_MAX_LAYERS];
    float *x[REC_MAX_LAYERS];
} recording;

static inline void record(void *user, const char *name, const float *x, int c, int h, int w) {
    recording *r = user;
    ck_assert_int_lt(r->n, REC_MAX_LAYERS);
    size_t len = (size_t)c * h * w;
    snprintf(r->name[r->n], sizeof r->name[0], "%s", name);
    r->c[r->n] = c, r->h[r->n] = h, r->w[r->n] = w;
    r->x[r->n] = malloc(len * sizeof(float));
    memcpy(r->x[r->n], x, len * sizeof(float));
    r->n++;
}

static inline void forget(recording *r) {
    for (int i = 0; i < r->n; i++) free(r->x[i]);
    r->n = 0;
}

// max |a - b| / max(1, max |b|) over len floats: the difference relative to the tensor's scale
static inline double rel_diff(const float *a, const float *b, size_t len) {
    tensor_stats s = hy_stats_f32(b, len);
    return hy_max_abs_diff(a, b, len) / fmax(1.0, fmax(fabs(s.min), fabs(s.max)));
}

#endif
