// glm_data.c - the GLM's inputs: run headers (grid, affine, TR), the mask, and each run's masked
// data, checked and scaled (see include/glm/glm.h; internal interface in glm_data.h).
#include "glm_data.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

// TR in seconds from pixdim[4] and the time unit (bits 3-5 of xyzt_units; 0 = unknown: seconds).
static double header_tr(const nifti_img *h) {
    double tr = h->geom.pixdim[4];
    switch (h->geom.xyzt_units & 0x38) {
    case 16: return tr / 1000;      // ms
    case 24: return tr / 1000000;   // us
    default: return tr;
    }
}

static void voxel_xyz(const nifti_img *h, int64_t i, int xyz[3]) {
    xyz[0] = (int)(i % h->dim[0]);
    xyz[1] = (int)(i / h->dim[0] % h->dim[1]);
    xyz[2] = (int)(i / (h->dim[0] * h->dim[1]));
}

// Same grid: dimensions, voxel sizes and (when both have one) the sform or qform within 1e-3 mm.
static int same_grid(const nifti_img *a, const nifti_img *b) {
    for (int i = 0; i < 3; i++) {
        if (a->dim[i] != b->dim[i]) return 0;
        if (fabs(a->geom.pixdim[i + 1] - b->geom.pixdim[i + 1]) > 1e-4 * fabs(a->geom.pixdim[i + 1]) + 1e-6) return 0;
    }
    if (a->geom.sform_code > 0 && b->geom.sform_code > 0) {
        for (int i = 0; i < 12; i++)
            if (fabs(a->geom.srow[i] - b->geom.srow[i]) > 1e-3) return 0;
    } else if (a->geom.qform_code > 0 && b->geom.qform_code > 0) {
        for (int i = 0; i < 6; i++)
            if (fabs(a->geom.quatern[i] - b->geom.quatern[i]) > 1e-3) return 0;
    }
    return 1;
}

int glm_read_headers(const hy_glm_opts *o, glm_runs *r) {
    memset(r, 0, sizeof *r);
    r->n_runs = o->n_runs;
    for (int k = 0; k < o->n_runs; k++) {
        nifti_stream *s;
        nifti_img *h = &r->hdr[k];
        int rc = hy_nifti_stream_open(o->bold[k], h, &s);
        if (rc) return rc;
        hy_nifti_stream_close(s);
        if (h->ndim != 4 || h->dim[4] != 1 || h->dim[5] != 1 || h->dim[6] != 1)
            return hy_err(HY_ESHAPE, "%s: a BOLD run must be a 4-D series (x, y, z, time); this file has %d dimensions",
                          o->bold[k], h->ndim);
        r->n[k] = (int)h->dim[3];
        if (k > 0 && !same_grid(&r->hdr[0], h))
            return hy_err(HY_ESHAPE, "%s: voxel grid %lldx%lldx%lld (or its affine) differs from %s's %lldx%lldx%lld; runs must "
                                     "share one grid", o->bold[k], (long long)h->dim[0], (long long)h->dim[1],
                          (long long)h->dim[2], o->bold[0], (long long)r->hdr[0].dim[0], (long long)r->hdr[0].dim[1],
                          (long long)r->hdr[0].dim[2]);
        double tr = header_tr(h), tr0 = header_tr(&r->hdr[0]);
        if (o->tr <= 0 && k > 0 && tr > 0 && tr0 > 0 && fabs(tr - tr0) > 1e-6 * tr0)
            return hy_err(HY_EVALUE, "%s: TR %g s differs from %s's %g s; runs of one model need one TR", o->bold[k], tr,
                          o->bold[0], tr0);
        if (o->tr <= 0 && !(tr > 0))
            return hy_err(HY_EVALUE, "%s: the header's TR (pixdim[4]) is %g; give the TR with --tr", o->bold[k], tr);
    }
    r->tr = o->tr > 0 ? o->tr : header_tr(&r->hdr[0]);
    r->grid_vox = r->hdr[0].dim[0] * r->hdr[0].dim[1] * r->hdr[0].dim[2];
    return HY_OK;
}

// Checks a finite value; on failure names the file, volume and voxel.
static int finite_or_fail(double v, const char *path, const nifti_img *h, int t, int64_t i) {
    if (isfinite(v)) return HY_OK;
    int xyz[3];
    voxel_xyz(h, i, xyz);
    return hy_err(HY_EVALUE, "%s: non-finite value (%g) at volume %d, voxel (%d, %d, %d)", path, v, t, xyz[0], xyz[1], xyz[2]);
}

// Default mask: voxels whose mean over the first run is non-zero (every value must be finite).
static int mask_from_first_run(const hy_glm_opts *o, glm_runs *r, double *vol, double *sum) {
    nifti_img h;
    nifti_stream *s;
    int rc = hy_nifti_stream_open(o->bold[0], &h, &s);
    if (rc) return rc;
    for (int t = 0; t < r->n[0] && !rc; t++) {
        if ((rc = hy_nifti_stream_next(s, vol))) break;
        for (int64_t i = 0; i < r->grid_vox && !rc; i++) {
            rc = finite_or_fail(vol[i], o->bold[0], &h, t, i);
            sum[i] += vol[i];
        }
    }
    hy_nifti_stream_close(s);
    if (rc) return rc;
    for (int64_t i = 0; i < r->grid_vox; i++)
        if (sum[i] / r->n[0] != 0) r->mask_idx[r->n_vox++] = i;
    if (!r->n_vox) return hy_err(HY_EVALUE, "%s: every voxel's mean is zero: nothing to fit", o->bold[0]);
    return HY_OK;
}

int glm_make_mask(const hy_glm_opts *o, glm_runs *r) {
    r->mask_idx = hy_malloc(sizeof(int64_t) * (size_t)r->grid_vox);
    if (!r->mask_idx) return HY_ENOMEM;
    r->n_vox = 0;
    if (!o->mask) {
        double *vol = hy_malloc(sizeof(double) * (size_t)r->grid_vox), *sum = hy_calloc((size_t)r->grid_vox, sizeof(double));
        int rc = vol && sum ? mask_from_first_run(o, r, vol, sum) : HY_ENOMEM;
        free(vol);
        free(sum);
        return rc;
    }
    nifti_img m;
    int rc = hy_nifti_read(o->mask, &m);
    if (rc) return rc;
    const nifti_img *h = &r->hdr[0];
    if (m.nvox != m.dim[0] * m.dim[1] * m.dim[2])
        rc = hy_err(HY_ESHAPE, "%s: the mask must be 3-D (x, y, z); this file has %d dimensions with %lld volumes", o->mask,
                    m.ndim, (long long)(m.nvox / (m.dim[0] * m.dim[1] * m.dim[2])));
    else if (m.dim[0] != h->dim[0] || m.dim[1] != h->dim[1] || m.dim[2] != h->dim[2])
        rc = hy_err(HY_ESHAPE, "%s: mask grid %lldx%lldx%lld differs from the BOLD grid %lldx%lldx%lld (%s)", o->mask,
                    (long long)m.dim[0], (long long)m.dim[1], (long long)m.dim[2], (long long)h->dim[0], (long long)h->dim[1],
                    (long long)h->dim[2], o->bold[0]);
    for (int64_t i = 0; !rc && i < r->grid_vox; i++)
        if (isfinite(m.data[i]) && m.data[i] != 0) r->mask_idx[r->n_vox++] = i;
    if (!rc && !r->n_vox) rc = hy_err(HY_EVALUE, "%s: the mask is empty (no non-zero voxel)", o->mask);
    hy_nifti_free(&m);
    return rc;
}

// nilearn's mean_scaling of each voxel's row: 100 * (y / max(mean, 1) - 1).
static void scale_psc(double *Y, int64_t V, int n) {
#pragma omp parallel for schedule(static) if (V * n >= (1 << 20))
    for (int64_t i = 0; i < V; i++) {
        double *y = Y + (size_t)i * n, s = 0;
        for (int t = 0; t < n; t++) s += y[t];
        double mean = fmax(s / n, 1);
        for (int t = 0; t < n; t++) y[t] = 100 * (y[t] / mean - 1);
    }
}

// Reads run k's in-mask voxels into Y (n_vox, n[k]) voxel-major, checking every value, refusing
// voxels that are zero in every volume, and applying the signal scaling. Volumes are read 8 at a
// time (the file is a stream), then the threads share the voxels, each voxel's 8 values stored
// together in its row: one cache line per voxel rather than a partial line per value (measured
// 2x faster), with Y on huge pages (hy_malloc_huge) against TLB misses. The first non-finite
// value in file order is the one reported.
int glm_read_run(const hy_glm_opts *o, const glm_runs *r, int k, double *Y) {
    enum { T = 8 };
    nifti_img h;
    nifti_stream *s = NULL;
    int n = r->n[k];
    const int64_t V = r->n_vox, *idx = r->mask_idx;
    double *vols = hy_malloc(sizeof(double) * T * (size_t)r->grid_vox);
    uint8_t *nonzero = hy_calloc((size_t)V, 1);
    int rc = vols && nonzero ? hy_nifti_stream_open(o->bold[k], &h, &s) : HY_ENOMEM;
    for (int t0 = 0; t0 < n && !rc; t0 += T) {
        int c = n - t0 < T ? n - t0 : T;
        for (int dt = 0; dt < c && !rc; dt++) rc = hy_nifti_stream_next(s, vols + (size_t)dt * r->grid_vox);
        if (rc) break;
        int64_t bad = INT64_MAX;  // dt * V + i of the first non-finite value
#pragma omp parallel for schedule(static) reduction(min : bad) if (V * c >= (1 << 16))
        for (int64_t i = 0; i < V; i++) {
            double *y = Y + (size_t)i * n + t0;
            for (int dt = 0; dt < c; dt++) {
                double v = vols[(size_t)dt * r->grid_vox + idx[i]];
                y[dt] = v;
                nonzero[i] |= v != 0;
                if (!isfinite(v) && dt * V + i < bad) bad = dt * V + i;
            }
        }
        if (bad != INT64_MAX) {
            int dt = (int)(bad / V);
            rc = finite_or_fail(vols[(size_t)dt * r->grid_vox + idx[bad % V]], o->bold[k], &h, t0 + dt, idx[bad % V]);
        }
    }
    hy_nifti_stream_close(s);
    for (int64_t i = 0; i < V && !rc; i++)
        if (!nonzero[i]) {
            int xyz[3];
            voxel_xyz(&h, idx[i], xyz);
            rc = hy_err(HY_EVALUE, "%s: in-mask voxel (%d, %d, %d) is zero in every volume (outside the brain or "
                                   "the field of view?); give a mask without it", o->bold[k], xyz[0], xyz[1], xyz[2]);
        }
    free(vols);
    free(nonzero);
    if (!rc && o->scaling == HY_SCALE_PSC) scale_psc(Y, V, n);
    return rc;
}

void glm_runs_free(glm_runs *r) {
    free(r->mask_idx);
    r->mask_idx = NULL;
}
