// dataset.c - load/validate/save the four-file dataset layout (see include/study/dataset.h).
#include "study/dataset.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "base/common.h"  // hy_err, hy_malloc, hy_mkdir_p
#include "base/npy.h"     // npy_read_f64, npy_write_f32
#include "base/npz.h"     // hy_npy_source: FILE.npz:NAME

int hy_ds_path(char *buf, size_t cap, const char *dir, const char *name) {
    int k = snprintf(buf, cap, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= cap) return hy_err(HY_EARG, "%s/%s: path too long", dir, name);
    return HY_OK;
}

// Validates a parsed array as a (rows, cols) matrix of finite values; takes ownership of a.data.
static int check_matrix(const char *path, npy_f64 *a, double **out, int *rows, int *cols) {
    if (a->ndim != 2) {
        int nd = a->ndim;  // npy_free_f64 clears the struct
        hy_npy_free_f64(a);
        return hy_err(HY_ESHAPE, "%s: expected a 2-D array (rows, columns), found %d dimensions", path, nd);
    }
    if (a->dims[0] < 1 || a->dims[1] < 1 || a->dims[0] > 100000000 || a->dims[1] > 100000000) {
        long long r = a->dims[0], c = a->dims[1];
        hy_npy_free_f64(a);
        return hy_err(HY_ESHAPE, "%s: unusable shape (%lld, %lld)", path, r, c);
    }
    // The values are used (and written back) as float32: a float64 such as 1e300 is finite but
    // would become Inf, so the check is on the float32 range.
    for (int64_t i = 0; i < a->size; i++)
        if (!(fabs(a->data[i]) <= FLT_MAX)) {
            long long r = i / a->dims[1], c = i % a->dims[1];
            double v = a->data[i];
            hy_npy_free_f64(a);
            return hy_err(HY_EVALUE, "%s: non-finite value at row %lld, column %lld: %g is %s", path, r, c, v,
                          isfinite(v) ? "beyond float32's range (|x| > 3.4e38)" : "NaN or Inf");
        }
    *rows = (int)a->dims[0];
    *cols = (int)a->dims[1];
    *out = a->data;
    return HY_OK;
}

int hy_ds_read_matrix(const char *path, double **out, int *rows, int *cols) {
    *out = NULL;
    uint8_t *buf;
    size_t len;
    int rc = hy_npy_source(path, &buf, &len);
    if (rc) return rc;
    rc = hy_ds_matrix_mem(path, buf, len, out, rows, cols);
    free(buf);
    return rc;
}

int hy_ds_matrix_mem(const char *name, const uint8_t *buf, size_t len, double **out, int *rows, int *cols) {
    *out = NULL;
    npy_f64 a;
    memset(&a, 0, sizeof a);
    void *d;
    int rc = hy_npy_parse(name, buf, len, 'd', &a.ndim, a.dims, &d);
    if (rc) return rc;
    a.data = d;
    a.size = 1;
    for (int i = 0; i < a.ndim; i++) a.size *= a.dims[i];  // npy_parse bounded the product
    return check_matrix(name, &a, out, rows, cols);
}

int hy_ds_member(char *buf, size_t cap, const char *dir, const char *prefix, const char *part) {
    struct stat sb;
    int k = stat(dir, &sb) == 0 && S_ISREG(sb.st_mode) ? snprintf(buf, cap, "%s:%s_%s", dir, prefix, part)
                                                        : snprintf(buf, cap, "%s/%s_%s.npy", dir, prefix, part);
    if (k < 0 || (size_t)k >= cap) return hy_err(HY_EARG, "%s: path too long", dir);
    return HY_OK;
}

// The member's own name for messages that already name the other file: "train_fmri.npy" in
// a directory, "train_fmri" in an archive.
static const char *short_name(char *buf, size_t cap, const char *dir, const char *prefix, const char *part) {
    struct stat sb;
    int archive = stat(dir, &sb) == 0 && S_ISREG(sb.st_mode);
    snprintf(buf, cap, "%s_%s%s", prefix, part, archive ? "" : ".npy");
    return buf;
}

static int load_split(ds_split *s, const char *dir, const char *prefix, int what) {
    char p[1200], pf[1200];
    memset(s, 0, sizeof *s);
    int rc, r1 = 0, c1 = 0, r2 = 0, c2 = 0;
    if ((rc = hy_ds_member(pf, sizeof pf, dir, prefix, "fmri"))) return rc;
    if (what & DS_FMRI) {
        if ((rc = hy_ds_read_matrix(pf, &s->fmri, &r1, &c1))) return rc;
        s->n = r1;
        s->v = c1;
    }
    if (what & DS_LATENTS) {
        if ((rc = hy_ds_member(p, sizeof p, dir, prefix, "latents")) || (rc = hy_ds_read_matrix(p, &s->lat, &r2, &c2)))
            return rc;
        char sn[64];
        if ((what & DS_FMRI) && r2 != r1)
            return hy_err(HY_ESHAPE, "%s: %d rows but %s has %d (one latent per stimulus)", p, r2,
                          short_name(sn, sizeof sn, dir, prefix, "fmri"), r1);
        s->n = r2;
        s->d = c2;
    }
    return HY_OK;
}

int hy_ds_load(hy_dataset *ds, const char *dir, int what, int expect_v, int expect_d) {
    memset(ds, 0, sizeof *ds);
    snprintf(ds->dir, sizeof ds->dir, "%s", dir);
    int parts = what & (DS_FMRI | DS_LATENTS);
    int rc = HY_OK;
    char p[1200];
    if ((what & DS_TRAIN) && (rc = load_split(&ds->train, dir, "train", parts))) goto fail;
    if ((what & DS_TEST) && (rc = load_split(&ds->test, dir, "test", parts))) goto fail;
    if ((what & DS_TRAIN) && (what & DS_TEST)) {
        if ((parts & DS_FMRI) && ds->train.v != ds->test.v) {
            hy_ds_member(p, sizeof p, dir, "test", "fmri");
            char sn[64];
            rc = hy_err(HY_ESHAPE, "%s: %d voxels but %s has %d (both splits need the same voxels)", p, ds->test.v,
                        short_name(sn, sizeof sn, dir, "train", "fmri"), ds->train.v);
            goto fail;
        }
        if ((parts & DS_LATENTS) && ds->train.d != ds->test.d) {
            hy_ds_member(p, sizeof p, dir, "test", "latents");
            char sn[64];
            rc = hy_err(HY_ESHAPE, "%s: latent width %d but %s has %d", p, ds->test.d,
                        short_name(sn, sizeof sn, dir, "train", "latents"), ds->train.d);
            goto fail;
        }
    }
    for (int k = 0; k < 2; k++) {
        ds_split *s = k ? &ds->test : &ds->train;
        const char *pre = k ? "test" : "train";
        if (!(what & (k ? DS_TEST : DS_TRAIN))) continue;
        if ((parts & DS_LATENTS) && expect_d > 0 && s->d != expect_d) {
            hy_ds_member(p, sizeof p, dir, pre, "latents");
            rc = hy_err(HY_ESHAPE, "%s: latent width %d, expected %d", p, s->d, expect_d);
            goto fail;
        }
        if ((parts & DS_FMRI) && expect_v > 0 && s->v != expect_v) {
            hy_ds_member(p, sizeof p, dir, pre, "fmri");
            rc = hy_err(HY_ESHAPE, "%s: %d voxels, expected %d (the decoder's input size)", p, s->v,
                        expect_v);
            goto fail;
        }
    }
    return HY_OK;
fail:
    hy_ds_free(ds);
    return rc;
}

void hy_ds_free(hy_dataset *ds) {
    free(ds->train.fmri);
    free(ds->train.lat);
    free(ds->test.fmri);
    free(ds->test.lat);
    memset(&ds->train, 0, sizeof ds->train);
    memset(&ds->test, 0, sizeof ds->test);
}

int hy_ds_write_f32(const char *path, const double *m, int rows, int cols) {
    size_t n = (size_t)rows * (size_t)cols;
    // nothing non-finite is written silently (a simulation with a huge gain, maps scaled past
    // float32): the caller gets an error naming the file and the element instead
    for (size_t i = 0; i < n; i++)
        if (!(fabs(m[i]) <= FLT_MAX))
            return hy_err(HY_EVALUE, "%s: value %g at row %zu, column %zu is %s; nothing written", path, m[i],
                          i / (size_t)cols, i % (size_t)cols,
                          isfinite(m[i]) ? "beyond float32's range (|x| > 3.4e38)" : "NaN or Inf");
    float *f = hy_malloc(n * sizeof *f);
    if (!f) return HY_ENOMEM;
    for (size_t i = 0; i < n; i++) f[i] = (float)m[i];
    int64_t dims[2] = {rows, cols};
    int rc = hy_npy_write_f32(path, 2, dims, f);
    free(f);
    return rc;
}

int hy_ds_save(const char *dir, const double *xtr, const double *ytr, int ntr, const double *xte,
            const double *yte, int nte, int v, int d) {
    int rc = hy_mkdir_p(dir);
    if (rc) return rc;
    static const char *names[4] = {"train_fmri.npy", "train_latents.npy", "test_fmri.npy",
                                   "test_latents.npy"};
    const double *m[4] = {xtr, ytr, xte, yte};
    int rows[4] = {ntr, ntr, nte, nte}, cols[4] = {v, d, v, d};
    char p[4][1200];
    for (int i = 0; i < 4; i++) {
        if ((rc = hy_ds_path(p[i], sizeof p[i], dir, names[i]))) return rc;
    }
    for (int i = 0; i < 4; i++) {
        if ((rc = hy_ds_write_f32(p[i], m[i], rows[i], cols[i]))) {
            for (int j = 0; j < i; j++) remove(p[j]);
            return rc;
        }
    }
    return HY_OK;
}
