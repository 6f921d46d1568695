// glm_dataset.c - GLM maps + split file -> dataset rows (see include/study/glm_dataset.h).
#include "study/glm_dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/nifti.h"
#include "glm/events.h"  // hy_tsv: the TSV splitter the GLM's readers use

void hy_glm_split_free(hy_glm_split *s) {
    free(s->train);
    free(s->test);
    free(s->vox);
    memset(s, 0, sizeof *s);
}

static int need_column(const hy_tsv *t, const char *path, const char *name, int *col) {
    if ((*col = hy_tsv_column(t, name)) < 0) return hy_err(HY_EFORMAT, "%s: no '%s' column", path, name);
    return HY_OK;
}

// For each GLM condition: its split (0 train, 1 test, -1 unused) and row; counts per split.
static int read_split(const char *split_path, const hy_tsv *cond, int cname, int *which, int *row, int *n_tr, int *n_te) {
    hy_tsv t;
    int rc = hy_tsv_read(split_path, &t), ct, cs, cr;
    if (rc) return rc;
    if ((rc = need_column(&t, split_path, "trial_type", &ct)) || (rc = need_column(&t, split_path, "split", &cs)) ||
        (rc = need_column(&t, split_path, "row", &cr))) {
        hy_tsv_free(&t);
        return rc;
    }
    int nc = cond->n_rows - 1;
    for (int c = 0; c < nc; c++) which[c] = -1;
    *n_tr = *n_te = 0;
    for (int r = 1; r < t.n_rows && !rc; r++) {
        const char *name = t.rows[r][ct], *sp = t.rows[r][cs];
        double v;
        int w = !strcmp(sp, "train") ? 0 : !strcmp(sp, "test") ? 1 : -1;
        if (w < 0) rc = hy_err(HY_EVALUE, "%s: line %d: split '%s' is neither train nor test", split_path, t.line[r], sp);
        else if (!hy_tsv_number(t.rows[r][cr], &v) || v < 0 || v != floor(v) || v > 1e8)
            rc = hy_err(HY_EVALUE, "%s: line %d: row '%s' is not a non-negative integer", split_path, t.line[r], t.rows[r][cr]);
        int c = 0;
        while (!rc && c < nc && strcmp(cond->rows[c + 1][cname], name)) c++;
        if (!rc && c == nc)
            rc = hy_err(HY_EVALUE, "%s: line %d: '%s' is not a condition of the GLM (conditions.tsv)", split_path, t.line[r],
                        name);
        if (!rc && which[c] >= 0) rc = hy_err(HY_EVALUE, "%s: line %d: '%s' is listed twice", split_path, t.line[r], name);
        if (rc) break;
        which[c] = w;
        row[c] = (int)v;
        (w ? n_te : n_tr)[0]++;
    }
    hy_tsv_free(&t);
    if (rc) return rc;
    if (!*n_tr || !*n_te) return hy_err(HY_EVALUE, "%s: needs both train and test rows", split_path);
    // each split's rows are 0..N-1, each once
    for (int w = 0; w < 2; w++) {
        int n = w ? *n_te : *n_tr;
        char *seen = hy_calloc((size_t)n, 1);
        if (!seen) return HY_ENOMEM;
        for (int c = 0; c < nc && !rc; c++)
            if (which[c] == w) {
                if (row[c] >= n || seen[row[c]])
                    rc = hy_err(HY_EVALUE, "%s: %s rows must be 0..%d, each once (row %d of '%s')", split_path,
                                w ? "test" : "train", n - 1, row[c], cond->rows[c + 1][cname]);
                else seen[row[c]] = 1;
            }
        free(seen);
        if (rc) return rc;
    }
    return HY_OK;
}

// Reads the mask and streams the map, keeping the in-mask values of the split's conditions.
static int read_maps(const char *glm_dir, const char *map, int nc, const int *which, const int *row, hy_glm_split *o) {
    char mp[1200], p[1200];
    snprintf(mp, sizeof mp, "%s/mask.nii.gz", glm_dir);
    nifti_img m;
    int rc = hy_nifti_read(mp, &m);
    if (rc) return rc;
    o->grid_vox = m.dim[0] * m.dim[1] * m.dim[2];
    o->vox = hy_malloc(sizeof(int64_t) * (size_t)o->grid_vox);
    if (!o->vox) rc = HY_ENOMEM;
    for (int64_t i = 0; !rc && i < o->grid_vox; i++)
        if (isfinite(m.data[i]) && m.data[i] != 0) o->vox[o->n_vox++] = i;
    if (!rc && !o->n_vox) rc = hy_err(HY_EVALUE, "%s: the mask is empty", mp);
    snprintf(p, sizeof p, "%s/%s.nii.gz", glm_dir, map);
    if (!hy_path_exists(p)) snprintf(p, sizeof p, "%s/%s.nii", glm_dir, map);
    nifti_img h;
    nifti_stream *s = NULL;
    double *vol = NULL;
    if (!rc) rc = hy_nifti_stream_open(p, &h, &s);
    if (!rc && (h.dim[0] != m.dim[0] || h.dim[1] != m.dim[1] || h.dim[2] != m.dim[2] || h.nvox / o->grid_vox != nc))
        rc = hy_err(HY_ESHAPE, "%s: expected %d volumes on the mask's %lldx%lldx%lld grid (one per condition of "
                               "conditions.tsv)", p, nc, (long long)m.dim[0], (long long)m.dim[1], (long long)m.dim[2]);
    if (!rc) {
        o->train = hy_malloc(sizeof(double) * (size_t)o->n_train * o->n_vox);
        o->test = hy_malloc(sizeof(double) * (size_t)o->n_test * o->n_vox);
        vol = hy_malloc(sizeof(double) * (size_t)o->grid_vox);
        if (!o->train || !o->test || !vol) rc = HY_ENOMEM;
    }
    for (int c = 0; c < nc && !rc; c++) {
        if ((rc = hy_nifti_stream_next(s, vol))) break;
        if (which[c] < 0) continue;
        double *dst = (which[c] ? o->test : o->train) + (size_t)row[c] * o->n_vox;
        for (int64_t i = 0; i < o->n_vox && !rc; i++) {
            dst[i] = vol[o->vox[i]];
            if (!isfinite(dst[i])) rc = hy_err(HY_EVALUE, "%s: non-finite value in volume %d at in-mask voxel %lld", p, c,
                                              (long long)o->vox[i]);
        }
    }
    hy_nifti_stream_close(s);
    hy_nifti_free(&m);
    free(vol);
    return rc;
}

int hy_glm_split_read(const char *glm_dir, const char *split_path, const char *map, hy_glm_split *o) {
    memset(o, 0, sizeof *o);
    if (strcmp(map, "effect") && strcmp(map, "t") && strcmp(map, "z"))
        return hy_err(HY_EARG, "map '%s' is not one of effect, t, z", map);
    char cp[1200];
    snprintf(cp, sizeof cp, "%s/conditions.tsv", glm_dir);
    hy_tsv cond;
    int rc = hy_tsv_read(cp, &cond), cname, cidx;
    if (rc) return rc;
    if ((rc = need_column(&cond, cp, "trial_type", &cname)) || (rc = need_column(&cond, cp, "index", &cidx))) {
        hy_tsv_free(&cond);
        return rc;
    }
    int nc = cond.n_rows - 1;
    for (int c = 0; c < nc && !rc; c++) {
        double v;
        if (!hy_tsv_number(cond.rows[c + 1][cidx], &v) || v != c)
            rc = hy_err(HY_EFORMAT, "%s: line %d: index must be %d (one row per volume, in order)", cp, cond.line[c + 1], c);
    }
    int *which = hy_malloc(sizeof(int) * (size_t)(nc + 1)), *row = hy_malloc(sizeof(int) * (size_t)(nc + 1));
    if (!rc && (!which || !row)) rc = HY_ENOMEM;
    if (!rc) rc = read_split(split_path, &cond, cname, which, row, &o->n_train, &o->n_test);
    if (!rc) rc = read_maps(glm_dir, map, nc, which, row, o);
    free(which);
    free(row);
    hy_tsv_free(&cond);
    if (rc) hy_glm_split_free(o);
    return rc;
}
