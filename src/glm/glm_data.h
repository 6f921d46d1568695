// glm_data.h - internal interface between the GLM driver (glm.c) and its input readers
// (glm_data.c): run headers, the mask, and one run's masked, checked and scaled data.
#ifndef HY_GLM_DATA_H
#define HY_GLM_DATA_H

#include <stdint.h>

#include "base/nifti.h"
#include "glm/glm.h"

typedef struct {
    int n_runs;
    nifti_img hdr[HY_GLM_MAX_RUNS];  // headers only (data NULL)
    int n[HY_GLM_MAX_RUNS];          // volumes per run
    double tr;                       // seconds
    int64_t grid_vox;                // x * y * z
    int64_t n_vox;                   // in-mask voxels
    int64_t *mask_idx;               // (n_vox) flat grid indices, ascending
} glm_runs;

// Every run's header: 4-D, one grid and affine, one TR (or --tr); sets tr, grid_vox.
int glm_read_headers(const hy_glm_opts *o, glm_runs *r);
// The mask file's non-zero voxels, or those with a non-zero mean over the first run.
int glm_make_mask(const hy_glm_opts *o, glm_runs *r);
// Run k's in-mask data into Y (n_vox, n[k]), voxel-major, checked and scaled (o->scaling).
int glm_read_run(const hy_glm_opts *o, const glm_runs *r, int k, double *Y);
void glm_runs_free(glm_runs *r);

#endif
