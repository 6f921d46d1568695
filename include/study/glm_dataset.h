// glm_dataset.h - the per-stimulus maps of a `hyper glm` output folder arranged as a dataset's rows
// by a split file, for `hyper extract --glm` (BOLD -> GLM -> dataset -> decoder as one chain).
//
// Inputs: GLM/conditions.tsv (index, trial_type, ...), GLM/mask.nii.gz, GLM/<map>.nii.gz (or .nii)
// with one volume per condition, and a split TSV with columns trial_type, split (train | test) and
// row (the stimulus's row in that split's latents, 0-based). Conditions missing from the split
// file are ignored; every split row must name a condition of the GLM, and each split's rows must
// be 0..N-1, each once. The map is streamed volume by volume, so only the in-mask voxels of the
// used conditions are held. Errors name the file and line.
#ifndef HY_GLM_DATASET_H
#define HY_GLM_DATASET_H

#include <stdint.h>

typedef struct {
    int n_train, n_test;
    int64_t n_vox;           // in-mask voxels
    int64_t grid_vox;        // voxels of the grid
    double *train, *test;    // (n_train, n_vox), (n_test, n_vox) rows in latent order
    int64_t *vox;            // (n_vox) flat grid indices x + nx*(y + ny*z), ascending
} hy_glm_split;

// map: "effect", "t" or "z".
int hy_glm_split_read(const char *glm_dir, const char *split_path, const char *map, hy_glm_split *out);
void hy_glm_split_free(hy_glm_split *s);

#endif
