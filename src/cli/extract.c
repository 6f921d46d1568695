// extract.c - `hyper extract`: NIfTI response maps + mask -> dataset layout, selecting
// the voxels with the highest mean response over the TRAINING stimuli (as HYPER did), so
// that the test set is read at exactly the same voxels.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "study/dataset.h"
#include "base/nifti.h"
#include "base/npy.h"

static const char ABOUT[] =
    "Reads 4-D stacks of per-stimulus response maps (x, y, z, stimulus) and a 3-D mask (same\n"
    "x, y, z; non-zero = in), keeps the K in-mask voxels with the highest mean response over\n"
    "the training maps only (ties: lower index first), and writes the dataset layout\n"
    "(DIR/{train,test}_{fmri,latents}.npy, voxels in ascending index order) plus\n"
    "DIR/voxel_indices.npy (int64 flat NIfTI indices x + nx*(y + ny*z)). --voxels reuses a\n"
    "saved voxel_indices.npy instead of selecting.\n"
    "NIfTI-1 .nii/.nii.gz, uint8/int16/int32/float32/float64, either byte order, scl_slope applied.";

typedef struct {
    int64_t idx;
    double mean;
} vscore;

static int cmp_score(const void *a, const void *b) {
    const vscore *x = a, *y = b;
    if (x->mean != y->mean) return x->mean > y->mean ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int check_maps(const nifti_img *m, const nifti_img *mask, const char *mpath, const char *kpath) {
    if (m->ndim != 4 && m->ndim != 3)
        return hy_err(HY_ESHAPE, "%s: expected a 4-D stack (x, y, z, stimulus), found %d dimensions", mpath, m->ndim);
    for (int i = 0; i < 3; i++)
        if (m->dim[i] != mask->dim[i])
            return hy_err(HY_ESHAPE, "%s: volume %lldx%lldx%lld does not match mask %s (%lldx%lldx%lld)", mpath,
                          (long long)m->dim[0], (long long)m->dim[1], (long long)m->dim[2], kpath,
                          (long long)mask->dim[0], (long long)mask->dim[1], (long long)mask->dim[2]);
    return HY_OK;
}

// Gathers (n, k) matrix of the selected voxels; error on non-finite values.
static int gather(const nifti_img *m, const char *path, const int64_t *sel, int k, double **out, int *n_out) {
    int64_t nv = m->dim[0] * m->dim[1] * m->dim[2], n = m->ndim == 4 ? m->dim[3] : 1;
    double *x = hy_malloc(sizeof(double) * (size_t)n * k);
    if (!x) return HY_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            double v = m->data[i * nv + sel[j]];
            if (!isfinite(v)) {
                free(x);
                return hy_err(HY_EVALUE, "%s: non-finite value at voxel %lld of map %lld", path, (long long)sel[j],
                              (long long)i);
            }
            x[(size_t)i * k + j] = v;
        }
    *out = x;
    *n_out = (int)n;
    return HY_OK;
}

int cmd_extract(int argc, char **argv) {
    const char *trm = NULL, *tem = NULL, *maskp = NULL, *trl = NULL, *tel = NULL, *vox = NULL, *out = NULL;
    long topk = 0;
    const opt table[] = {
        OPT_STR("train-maps", 0, &trm, "TRAIN.nii[.gz]", "4-D training maps (x, y, z, stimulus)", OPT_REQUIRED),
        OPT_STR("test-maps", 0, &tem, "TEST.nii[.gz]", "4-D test maps", OPT_REQUIRED),
        OPT_STR("mask", 0, &maskp, "MASK.nii[.gz]", "3-D mask (non-zero = in)", OPT_REQUIRED),
        OPT_STR("train-latents", 0, &trl, "TL.npy", "training latents (N_train, 512)", OPT_REQUIRED),
        OPT_STR("test-latents", 0, &tel, "SL.npy", "test latents (N_test, 512)", OPT_REQUIRED),
        OPT_LONG("select-top", 0, &topk, "K", "keep the K in-mask voxels with the highest mean training response", 1,
                 100000000),
        OPT_STR("voxels", 0, &vox, "IDX.npy", "reuse a saved voxel_indices.npy instead of selecting", 0),
        OPT_STR("out", 'o', &out, "DIR", "output dataset directory", OPT_REQUIRED),
        OPT_ALIAS("maps", 0, "train-maps"),
        OPT_END,
    };
    const cli_command cmd = {"extract",
                             "--train-maps TRAIN.nii[.gz] --test-maps TEST.nii[.gz] --mask MASK.nii[.gz]\n"
                             "                     --train-latents TL.npy --test-latents SL.npy\n"
                             "                     (--select-top K | --voxels IDX.npy) -o DIR",
                             ABOUT, table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (!topk == !vox) return cli_usage_error(&cmd, "give exactly one of --select-top K and --voxels IDX.npy");
    nifti_img mask, mtr, mte;
    memset(&mtr, 0, sizeof mtr);
    memset(&mte, 0, sizeof mte);
    double *xtr = NULL, *xte = NULL, *ytr = NULL, *yte = NULL;
    int64_t *sel = NULL;
    vscore *sc = NULL;
    int rc, k = 0, ntr = 0, nte = 0, r1, c1, r2, c2;
    if ((rc = hy_nifti_read(maskp, &mask))) return cli_fail("extract");
    if ((rc = hy_nifti_read(trm, &mtr)) || (rc = hy_nifti_read(tem, &mte))) goto fail;
    if (mask.ndim > 3 && mask.nvox != mask.dim[0] * mask.dim[1] * mask.dim[2]) {
        rc = hy_err(HY_ESHAPE, "%s: mask must be 3-D (x, y, z), found %d dimensions", maskp, mask.ndim);
        goto fail;
    }
    if ((rc = check_maps(&mtr, &mask, trm, maskp)) || (rc = check_maps(&mte, &mask, tem, maskp))) goto fail;
    int64_t nv = mask.dim[0] * mask.dim[1] * mask.dim[2];
    int64_t nin = 0;
    for (int64_t i = 0; i < nv; i++) nin += mask.data[i] != 0 && isfinite(mask.data[i]);
    if (nin == 0) {
        rc = hy_err(HY_EVALUE, "%s: mask is empty (no non-zero voxels)", maskp);
        goto fail;
    }
    if (vox) {
        int nd;
        int64_t dims[8];
        if ((rc = hy_npy_read_i64(vox, &nd, dims, &sel))) goto fail;
        if (nd != 1 || dims[0] < 1) {
            rc = hy_err(HY_ESHAPE, "%s: expected a 1-D array of voxel indices", vox);
            goto fail;
        }
        k = (int)dims[0];
        for (int j = 0; j < k; j++)
            if (sel[j] < 0 || sel[j] >= nv || !(mask.data[sel[j]] != 0)) {
                rc = hy_err(HY_EVALUE, "%s: index %lld is outside the mask or volume", vox, (long long)sel[j]);
                goto fail;
            }
    } else {
        if (topk > nin) {
            rc = hy_err(HY_EARG, "--select-top %ld but mask %s has only %lld voxels", topk, maskp, (long long)nin);
            goto fail;
        }
        k = (int)topk;
        sc = hy_malloc(sizeof(vscore) * (size_t)nin);
        sel = hy_malloc(sizeof(int64_t) * (size_t)k);
        if (!sc || !sel) {
            rc = HY_ENOMEM;
            goto fail;
        }
        int64_t n = mtr.ndim == 4 ? mtr.dim[3] : 1, c = 0;
        for (int64_t i = 0; i < nv; i++) {
            if (!(mask.data[i] != 0 && isfinite(mask.data[i]))) continue;
            double s = 0;
            for (int64_t t = 0; t < n; t++) s += mtr.data[t * nv + i];
            if (!isfinite(s)) {
                rc = hy_err(HY_EVALUE, "%s: non-finite response at in-mask voxel %lld", trm, (long long)i);
                goto fail;
            }
            sc[c].idx = i;
            sc[c].mean = s / n;
            c++;
        }
        qsort(sc, (size_t)nin, sizeof *sc, cmp_score);
        for (int j = 0; j < k; j++) sel[j] = sc[j].idx;
        qsort(sel, (size_t)k, sizeof *sel, cmp_i64);
    }
    if ((rc = gather(&mtr, trm, sel, k, &xtr, &ntr)) || (rc = gather(&mte, tem, sel, k, &xte, &nte))) goto fail;
    if ((rc = hy_ds_read_matrix(trl, &ytr, &r1, &c1)) || (rc = hy_ds_read_matrix(tel, &yte, &r2, &c2))) goto fail;
    if (r1 != ntr) {
        rc = hy_err(HY_ESHAPE, "%s: %d rows but %s has %d maps", trl, r1, trm, ntr);
        goto fail;
    }
    if (r2 != nte) {
        rc = hy_err(HY_ESHAPE, "%s: %d rows but %s has %d maps", tel, r2, tem, nte);
        goto fail;
    }
    if (c1 != c2) {
        rc = hy_err(HY_ESHAPE, "%s: latent width %d but %s has %d", tel, c2, trl, c1);
        goto fail;
    }
    if ((rc = hy_ds_save(out, xtr, ytr, ntr, xte, yte, nte, k, c1))) goto fail;
    char ip[1200];
    int64_t kd[1] = {k};
    if ((rc = hy_ds_path(ip, sizeof ip, out, "voxel_indices.npy")) || (rc = hy_npy_write_i64(ip, 1, kd, sel))) {
        static const char *names[4] = {"train_fmri.npy", "train_latents.npy", "test_fmri.npy", "test_latents.npy"};
        for (int i = 0; i < 4; i++) {
            char p[1200];
            if (!hy_ds_path(p, sizeof p, out, names[i])) remove(p);
        }
        goto fail;
    }
    fprintf(stderr, "extract: wrote %s: %d voxels of %lld in mask; train %d x %d, test %d x %d, latent width %d\n", out,
            k, (long long)nin, ntr, k, nte, k, c1);
    rc = 0;
fail:
    hy_nifti_free(&mask);
    hy_nifti_free(&mtr);
    hy_nifti_free(&mte);
    free(xtr);
    free(xte);
    free(ytr);
    free(yte);
    free(sel);
    free(sc);
    return rc ? cli_fail("extract") : 0;
}
