// study.h - image-level evaluation of predicted latents, the study's metric: render the
// ground-truth and the reconstructed faces with the PGGAN generator, crop them (MTCNN by
// default), embed them with FaceNet and compare (spec: Dado et al. 2022 and the follow-up
// decoder comparison).
//
// Image-level metrics per test item i (e = FaceNet embedding, unit vectors):
//   distance      ||e(recon_i) - e(gt_i)||                       (the study's metric)
//   baseline      mean over j != i of ||e(recon_i) - e(gt_j)||    (shuffled, non-matching pairs)
//   ident         fraction of j != i with d(recon_i, gt_i) < d(recon_i, gt_j) (ties 1/2)
//   pixel_r       Pearson r between the luminance (0.299 R + 0.587 G + 0.114 B) of the two images
// and for the whole test set: a random-latent null, with K latents r_k ~ N(0, I) rendered
// and embedded like the reconstructions: null_k = mean_i ||e(r_k) - e(gt_i)||,
// p = (1 + #{k : null_k <= mean distance}) / (1 + K).
// Latent-level metrics come from metrics.h (hyper score).
#ifndef HY_STUDY_H
#define HY_STUDY_H

#include <stdint.h>

#include "models/facecrop.h"
#include "models/facenet.h"
#include "models/pggan.h"
#include "study/report.h"

typedef struct {
    pggan *gen;
    facenet *net;
    face_crop_opts crop;
    int n_null;          // image-level random latents (default 100; 0 disables)
    int n_null_latent;   // latent-level null size (default 1000)
    uint64_t seed;       // null latents
    int batch;           // FaceNet batch size (default 16)
} study_ctx;

// Faces of n latents: images, embeddings and the crop used for each.
typedef struct {
    int n, R;
    uint8_t *rgb;  // (n, R, R, 3)
    float *emb;    // (n, 512); rows of NaN for items skipped by --on-no-face skip
    char *how;     // (n) 'm' MTCNN, 'f' full image, 'b' box, 's' skipped
    float *prob;   // (n) MTCNN probability of the cropped face (0: none found; NaN: no MTCNN, or
                   // faces loaded from the ground-truth cache); may be NULL
} face_set;

void hy_study_defaults(study_ctx *c);
// Renders and embeds n latents z (n, L). `label` names items in warnings ("gt 3").
int hy_study_faces(study_ctx *c, const float *z, int n, const char *label, face_set *out);
void hy_face_set_free(face_set *s);
// Ground-truth faces with a cache: when cache_dir holds faces for the same latents, generator,
// FaceNet and crop (cache_dir/key.txt), they are loaded; otherwise computed and written
// (faces/NNNNNN.png, embeddings.npy, crops.txt, then key.txt last).
int hy_study_gt_faces(study_ctx *c, const float *T, int n, const char *cache_dir, face_set *out);

// Evaluates predictions P against truth T (both (n, L)) and writes into outdir:
//   metrics.csv        one row per item: item, facenet_distance, baseline, ident, pixel_r,
//                      latent_cosine, crop_gt, crop_recon, mtcnn_prob (of the reconstruction)
//   summary.csv        metric,mean,se,n for every image- and latent-level metric
//   summary.txt        the same, readable, plus the crop mode and the null
//   latent_summary.csv, latent_items.csv   (metrics.h)
//   comparison.png     ground truth above, reconstruction below, labelled with the distance
//   pred_faces/        reconstructed faces as PNG when save_faces
// and fills *sum (name/model/epochs/batch/seed/config are left to the caller). With --crop mtcnn
// the share of reconstructions where MTCNN finds a face at p >= STUDY_FACE_P and the mean
// probability (0 where none) go into summary.csv/txt and *sum ("abnormal faces": a generator
// driven by a bad latent often draws something MTCNN does not take for a face).
#define STUDY_FACE_P 0.9
int hy_study_evaluate(study_ctx *c, const float *T, const float *P, int n, const face_set *gt, const char *outdir,
                   const double *bdirs, char (*bnames)[128], int n_bound, int save_faces, run_summary *sum);

// comparison.png of up to `max_items` items (ground truth row above reconstruction row),
// labelled with the FaceNet distance (dist may be NULL: item numbers only).
int hy_study_comparison_png(const char *path, const face_set *gt, const face_set *rec, const double *dist,
                         int max_items);

#endif

// --- loading the models of a study (shared by evaluate, reconstruct, sweep) ---------------
typedef struct {
    pggan gen;
    facenet net;
    mtcnn_model det;
    int has_gen, has_net, has_det;
    study_ctx ctx;
} study_models;

// Loads the generator (g), FaceNet (f, may be NULL for reconstruct) and, for --crop mtcnn,
// the detector (detect; NULL: weights/mtcnn.bin when present, else a warning and --crop full).
int hy_study_models_open(study_models *m, const char *g, const char *f, const char *detect, const char *crop,
                      const char *on_no_face);
void hy_study_models_close(study_models *m);
// Converts an (n, d) float64 matrix to float32 (malloc'd).
float *hy_study_to_f32(const double *x, size_t n);
