// study.h - image-level evaluation of predicted latents, the study's metric: render the
// ground-truth and the reconstructed faces with the PGGAN generator, crop them (MTCNN by
// default), embed them with one or more identity models and compare (spec: Dado et al. 2022
// and the follow-up decoder comparison).
//
// Identity models (include/models/embedder.h: FaceNet, face-api's descriptor) are evaluated side
// by side, each in its own space with its own crop rule; the first one ranks the runs. Per test
// item i and model m (e = the model's embedding):
//   distance      ||e(recon_i) - e(gt_i)||                       (the study's metric)
//   baseline      mean over j != i of ||e(recon_i) - e(gt_j)||    (shuffled, non-matching pairs)
//   ident         fraction of j != i with d(recon_i, gt_i) < d(recon_i, gt_j) (ties 1/2)
//   same          1 when distance < the model's same-person threshold (NaN without one); per run
//                 the same-person rate, next to the rate for the shuffled pairs (false accepts)
// and, model-free:
//   pixel_r       Pearson r between the luminance (0.299 R + 0.587 G + 0.114 B) of the two images
// With an age/gender model (face-api's; --attributes), per item the age and p_male of both faces,
// and per run the attribute agreement between truth and reconstruction in image space: gender
// match rate (both p_male on the same side of 0.5), age Pearson r across items, mean |age
// difference| (next to the latent-space InterFaceGAN correlations of --boundaries).
// For the whole test set: a random-latent null, with K latents r_k ~ N(0, I) rendered and
// embedded like the reconstructions: null_k = mean_i ||e(r_k) - e(gt_i)||,
// p = (1 + #{k : null_k <= mean distance}) / (1 + K), per model.
// Latent-level metrics come from metrics.h (hyper score).
#ifndef HY_STUDY_H
#define HY_STUDY_H

#include <stdint.h>

#include "models/embedder.h"
#include "models/faceapi.h"
#include "models/facecrop.h"
#include "models/pggan.h"
#include "study/report.h"

#define STUDY_MAX_MODELS REPORT_MAX_MODELS  // identity models evaluated side by side

typedef struct {
    char name[32];   // column prefix in the outputs: facenet, faceapi, or NAME of --embedder NAME=F.bin
    embedder *e;
} study_model;

typedef struct {
    pggan *gen;
    study_model model[STUDY_MAX_MODELS];  // model[0] ranks the runs
    int n_models;
    faceapi_agegender *attr;  // age/gender of every face, or NULL
    face_crop_opts crop;
    int n_null;          // image-level random latents (default 100; 0 disables)
    int n_null_latent;   // latent-level null size (default 1000)
    uint64_t seed;       // null latents
    int batch;           // face-model batch size (default 16)
    // Progress over faces (evaluate): with progress_total > 0 every face hy_study_faces finishes
    // adds one to progress_done and reports hy_progress(progress_label, done, total, progress_t0);
    // ground-truth faces found in the cache are taken off the total. 0 (default): silent.
    long progress_total, progress_done;
    double progress_t0;
    const char *progress_label;
} study_ctx;

// Faces of n latents: images, embeddings per model, attributes and the crop used for each.
typedef struct {
    int n, R;
    uint8_t *rgb;                   // (n, R, R, 3)
    float *emb[STUDY_MAX_MODELS];   // (n, dim of model m); rows of NaN for items skipped by --on-no-face skip
    float *age, *p_male;            // (n) with an age/gender model (NaN when skipped), else NULL
    char *how;                      // (n) 'm' MTCNN, 'f' full image, 'b' box, 's' skipped
    float *prob;                    // (n) MTCNN probability of the cropped face (0: none found; NaN: no
                                    // MTCNN, or faces loaded from the ground-truth cache); may be NULL
} face_set;

void hy_study_defaults(study_ctx *c);
// Renders and embeds n latents z (n, L). `label` names items in warnings ("gt 3").
int hy_study_faces(study_ctx *c, const float *z, int n, const char *label, face_set *out);
void hy_face_set_free(face_set *s);
// Ground-truth faces with a cache: when cache_dir holds faces for the same latents, generator,
// identity and attribute models and crop (cache_dir/key.txt), they are loaded; otherwise computed
// and written (faces/NNNNNN.png, embeddings_<model>.npy, attributes.npy (n, 2: age, p_male) with
// an age/gender model, crops.txt, then key.txt last).
int hy_study_gt_faces(study_ctx *c, const float *T, int n, const char *cache_dir, face_set *out);

// Evaluates predictions P against truth T (both (n, L)) and writes into outdir:
//   metrics.csv        one row per item: item, then per model <m>_distance, <m>_baseline, <m>_ident,
//                      <m>_same, then pixel_r, latent_cosine, (age_true, age_recon, p_male_true,
//                      p_male_recon with an age/gender model), crop_gt, crop_recon, mtcnn_prob (of
//                      the reconstruction)
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
// labelled with the first model's distance (dist may be NULL: item numbers only), under `title` (the
// run and model) and a legend line (what the rows and d are, and the mean d). Drawn at the
// figure scale (hy_figure_set_scale).
// `dist_name` names the model of the distances ("FaceNet"; NULL: "FaceNet").
int hy_study_comparison_png(const char *path, const face_set *gt, const face_set *rec, const double *dist,
                         const char *dist_name, int max_items, const char *title);
// Its layout in units (x the scale, which its pHYs chunk records as 96 x scale dpi): a head of
// title and legend, then rows of up to 9 items, each COMPARISON_ROW high; report.html shows the
// first row (the head and COMPARISON_ROW units) as the run's strip.
#define COMPARISON_HEAD 44
#define COMPARISON_THUMB 112
#define COMPARISON_PAD 6
#define COMPARISON_LABEL 16
#define COMPARISON_ROW (2 * COMPARISON_THUMB + COMPARISON_LABEL + 3 * COMPARISON_PAD)

// --- loading the models of a study (shared by evaluate, reconstruct, sweep) ---------------
typedef struct {
    pggan gen;
    embedder emb[STUDY_MAX_MODELS];
    faceapi_agegender attr;
    mtcnn_model det;
    int has_gen, n_emb, has_attr, has_det;
    study_ctx ctx;
} study_models;

// Loads the generator (g), the identity models (embedders[0..n_embedders), each "PATH" or
// "NAME=PATH"; none for reconstruct), the age/gender model (attributes, or NULL) and, for --crop
// mtcnn, the detector (detect; NULL: weights/mtcnn.bin when present, else a warning and --crop
// full). A model's default name is its kind's: facenet, faceapi; NAME is 1-24 of [A-Za-z0-9_-],
// and two models may not share a name.
int hy_study_models_open(study_models *m, const char *g, const char *const *embedders, int n_embedders,
                         const char *attributes, const char *detect, const char *crop, const char *on_no_face);
void hy_study_models_close(study_models *m);
// Converts an (n, d) float64 matrix to float32 (malloc'd).
float *hy_study_to_f32(const double *x, size_t n);

#endif
