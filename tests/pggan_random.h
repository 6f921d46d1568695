// pggan_random.h - writes a generator weight file with seeded random weights (any resolution
// and channel schedule), for the tests that compare the generator's paths with each other
// (test_pggan_fast.c, test_pggan_ref.c). Header-only; needs testutil.h first.
#ifndef HY_PGGAN_RANDOM_H
#define HY_PGGAN_RANDOM_H

#include "base/rng.h"
#include "base/wfile.h"

// A random generator file: resolution R, channel schedule ch (C(4) .. C(R)), latent L.
static inline void write_random(const char *path, int R, const int *ch, int L) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(R * 131 + L + ch[0]));
    int ns = 0;
    while ((4 << ns) != R) ns++;
    ns++;
    wf_writer *w = hy_wf_writer_new("pggan");
    int64_t chs[9];
    for (int s = 0; s < ns; s++) chs[s] = ch[s];
    hy_wf_writer_int(w, "resolution", R);
    hy_wf_writer_int(w, "latent_size", L);
    hy_wf_writer_ints(w, "channels", chs, (uint32_t)ns);
    hy_wf_writer_str(w, "source_format", "random");
    float *bufs[64];
    int nb = 0;
#define T(name, n, nd, ...)                                                          \
    do {                                                                             \
        float *d = malloc(sizeof(float) * (size_t)(n));                             \
        for (size_t i = 0; i < (size_t)(n); i++) d[i] = (float)hy_mt_normal(&r) * 0.2f; \
        bufs[nb++] = d;                                                              \
        hy_wf_writer_tensor(w, name, WF_F32, nd, (int64_t[]){__VA_ARGS__}, d);          \
    } while (0)
    T("dense.weight", 16 * ch[0] * L, 2, 16 * ch[0], L);
    T("dense.bias", 16 * ch[0], 1, 16 * ch[0]);
    T("4x4.conv.weight", ch[0] * ch[0] * 9, 4, ch[0], ch[0], 3, 3);
    T("4x4.conv.bias", ch[0], 1, ch[0]);
    char n[64];
    for (int s = 1; s < ns; s++) {
        int rr = 4 << s, ci = ch[s - 1], co = ch[s];
        snprintf(n, sizeof n, "%dx%d.conv0.weight", rr, rr);
        T(n, co * ci * 9, 4, co, ci, 3, 3);
        snprintf(n, sizeof n, "%dx%d.conv0.bias", rr, rr);
        T(n, co, 1, co);
        snprintf(n, sizeof n, "%dx%d.conv1.weight", rr, rr);
        T(n, co * co * 9, 4, co, co, 3, 3);
        snprintf(n, sizeof n, "%dx%d.conv1.bias", rr, rr);
        T(n, co, 1, co);
    }
    T("torgb.weight", 3 * ch[ns - 1], 4, 3, ch[ns - 1], 1, 1);
    T("torgb.bias", 3, 1, 3);
#undef T
    ck_assert_int_eq(hy_wf_writer_save(w, path), 0);
    hy_wf_writer_free(w);
    for (int i = 0; i < nb; i++) free(bufs[i]);
}

#endif
