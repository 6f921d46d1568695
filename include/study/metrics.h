// metrics.h - latent-level scores of predicted latents P (n, d) against true latents T (n, d)
// (row-major float64). Used by `hyper score` and by the study pipeline.
//
// Per item i:  cosine(P_i, T_i);  HYPER latent similarity as its code computes it,
// 1 / (1 + mean_k (P_ik - T_ik)^2), and as its paper defines it, 1 / (1 + ||P_i - T_i||);
// 2-way identification: fraction of j != i with corr(P_i, T_i) > corr(P_i, T_j) (Pearson
// correlation across the d dims; ties count 1/2); random-latent null p-value: with n_null
// random latents r ~ N(0, I_d), p_i = (1 + #{r : ||r - T_i|| <= ||P_i - T_i||}) / (1 + n_null).
// Per dim k: Pearson r across items between P_:k and T_:k.
// Collapse diagnostics: mean pairwise cosine distance (1 - cos) among the rows of P and of
// T, and the effective rank (exp of the entropy of the normalised singular values of the
// column-centred matrix, Roy & Vetterli 2007) of P and of T.
// Boundaries: for a unit direction u (d), Pearson r across items between P u and T u.
#ifndef HY_METRICS_H
#define HY_METRICS_H

#include <stdint.h>
#include <stdio.h>

double hy_met_cosine(const double *a, const double *b, int d);
double hy_met_mse(const double *a, const double *b, int d);
double hy_met_euclid(const double *a, const double *b, int d);
// Pearson r of x[i*sx], y[i*sy], i < n (0 when either has zero variance).
double hy_met_pearson(const double *x, int sx, const double *y, int sy, int n);
void hy_met_mean_se(const double *x, int n, double *mean, double *se);  // se = sd(ddof 1)/sqrt(n)
// ident (n): per-item 2-way identification accuracy.
void hy_met_ident2(const double *P, const double *T, int n, int d, double *ident);
// Mean pairwise cosine distance between rows of Z (n, d).
double hy_met_spread(const double *Z, int n, int d);
// Effective rank of the column-centred Z (n, d); < 0 on failure (error set).
double hy_met_effective_rank(const double *Z, int n, int d);
// p_item (n) and p_mean (mean-similarity null: one random latent against every item).
int hy_met_null(const double *P, const double *T, int n, int d, int n_null, uint64_t seed, double *p_item,
             double *p_mean);

typedef struct {
    int n, d;
    double *cosine, *sim_code, *sim_paper, *ident, *null_p;  // (n)
    double *dim_r;                                           // (d)
    double null_p_mean;
    double spread_pred, spread_true, erank_pred, erank_true;
    int n_bound;
    char (*bound_name)[128];
    double *bound_r;  // (n_bound)
} met_report;

// Computes everything above. bdirs (n_bound, d) may be NULL.
int hy_met_report_compute(met_report *r, const double *P, const double *T, int n, int d, int n_null,
                       uint64_t seed, const double *bdirs, char (*bnames)[128], int n_bound);
void hy_met_report_free(met_report *r);
// Readable table (stdout) and CSV files (summary: metric,mean,se,n ; items: one row per item).
void hy_met_report_print(const met_report *r, FILE *f);
int hy_met_report_write_csv(const met_report *r, const char *summary_path, const char *items_path);

// Loads every *.npy in bdir (sorted by name) as a unit d-vector (normalised); names are the
// file names without .npy. dirs (nb, d) and names are malloc'd.
int hy_met_load_boundaries(const char *bdir, int d, double **dirs, char (**names)[128], int *nb);

#endif
