// dataset.h - the on-disk dataset layout shared by simulate/extract/train/predict/score.
//
// A dataset is one directory holding four NumPy files (float32 or float64, C order):
//   train_fmri.npy     (N_train, V)   voxel responses to the training stimuli
//   train_latents.npy  (N_train, D)   their 512-d PGGAN latents (D = 512 for real data)
//   test_fmri.npy      (N_test, V)    responses to the test stimuli (same V voxels)
//   test_latents.npy   (N_test, D)
// The same four arrays may instead come in one .npz archive (np.savez(f, train_fmri=...,
// train_latents=..., test_fmri=..., test_latents=...)): pass the archive's path where a
// dataset directory is expected; messages then name "FILE.npz:train_fmri".
// Loading validates: 2-D arrays, equal row counts per split, equal V and D across splits,
// D equal to the expected latent width when one is given, every value finite. Errors name
// the file and what is wrong. Data are held as float64 (the closed-form solvers need it).
#ifndef HY_DATASET_H
#define HY_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int n;          // rows (stimuli)
    int v;          // voxels (0 when fmri not loaded)
    int d;          // latent width (0 when latents not loaded)
    double *fmri;   // (n, v) or NULL
    double *lat;    // (n, d) or NULL
} ds_split;

typedef struct {
    char dir[1024];
    ds_split train, test;
} hy_dataset;

enum { DS_TRAIN = 1, DS_TEST = 2, DS_FMRI = 4, DS_LATENTS = 8 };

// Loads the parts selected by `what` (a bit-or of DS_TRAIN/DS_TEST and DS_FMRI/DS_LATENTS).
// expect_d > 0 requires latents of that width; expect_v > 0 requires that many voxels.
int hy_ds_load(hy_dataset *ds, const char *dir, int what, int expect_v, int expect_d);
void hy_ds_free(hy_dataset *ds);

// Loads one 2-D finite array (f4/f8) as float64; error names the file. rows/cols out.
// path may name an array of an .npz archive (FILE.npz:NAME, see base/npz.h).
int hy_ds_read_matrix(const char *path, double **out, int *rows, int *cols);
// The same on a .npy image in memory (name is used in error messages; for the fuzz target).
int hy_ds_matrix_mem(const char *name, const uint8_t *buf, size_t len, double **out, int *rows, int *cols);

// Writes a (rows, cols) float64 matrix as a float32 .npy (atomically).
int hy_ds_write_f32(const char *path, const double *m, int rows, int cols);

// Writes the four dataset files into dir (created if needed). Any file that fails leaves
// none of the four half-written (earlier ones are removed again).
int hy_ds_save(const char *dir, const double *xtr, const double *ytr, int ntr, const double *xte,
            const double *yte, int nte, int v, int d);

// Joins dir and name into buf (error when too long).
int hy_ds_path(char *buf, size_t cap, const char *dir, const char *name);
// Where array <prefix>_<part> (e.g. "test", "fmri") of a dataset is: "DIR/test_fmri.npy" for a
// directory, "FILE.npz:test_fmri" for an archive.
int hy_ds_member(char *buf, size_t cap, const char *dir, const char *prefix, const char *part);

#endif
