// simulate_bold.c - the HYPER design simulated at the BOLD level (see include/study/simulate_bold.h).
#include "study/simulate_bold.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/common.h"
#include "base/nifti.h"
#include "base/npy.h"
#include "base/rng.h"
#include "glm/hrf.h"  // hy_hrf_gamma_difference: the response shapes

void hy_simb_default(simb_params *p) {
    hy_sim_default(&p->enc);
    p->n_runs = 9;
    p->test_runs = 3;
    p->tr = 1.5;
    p->event_s = 1.5;
    p->isi_min = 9;
    p->isi_max = 13.5;
    p->lead_s = 6;
    p->tail_s = 24;
    p->amp = 1.0;
    p->noise = 1.5;
    p->ar_min = 0.1;
    p->ar_max = 0.4;
    p->drift = 1.0;
    p->motion = 0.5;
    p->hrf_jitter = 0.5;
    p->n_hrf = 16;
}

// --- response shapes ----------------------------------------------------------------------

#define G_DT 0.01  // lag step of the tabulated event responses (s)

// g[k][m]: response of shape k at lag m * G_DT to one event of unit amplitude lasting event_s:
// the boxcar summed over a kernel normalised to sum 1 (nilearn's convention).
static int make_shapes(const simb_params *p, mt19937 *rng, double **g_out, int *len_out) {
    int hl = (int)rint(32.0 / G_DT), el = (int)rint(p->event_s / G_DT), len = hl + el;
    double *h = hy_malloc(sizeof(double) * hl), *g = hy_malloc(sizeof(double) * (size_t)len * p->n_hrf);
    if (!h || !g) {
        free(h);
        free(g);
        return HY_ENOMEM;
    }
    for (int k = 0; k < p->n_hrf; k++) {
        double delay = 6 + p->hrf_jitter * hy_mt_normal(rng);
        delay = delay < 4 ? 4 : delay > 8 ? 8 : delay;
        double disp = 1 + 0.1 * (2 * hy_mt_uniform_f64(rng) - 1);
        if (k == 0) delay = 6, disp = 1;  // shape 0 is the canonical SPM response
        // tr/oversampling = G_DT: nilearn's sampling on a 0.01 s grid
        hy_hrf_gamma_difference(h, hl, G_DT * 50, 50, 0, delay, 16, disp, 1, 0.167);
        double *gk = g + (size_t)k * len, run = 0;
        for (int m = 0; m < len; m++) {
            run += m < hl ? h[m] : 0;
            run -= m >= el && m - el < hl ? h[m - el] : 0;
            gk[m] = run;
        }
    }
    free(h);
    *g_out = g;
    *len_out = len;
    return HY_OK;
}

// --- the design ---------------------------------------------------------------------------

typedef struct {
    int n_events, n_scans;
    int *stim;        // (n_events) stimulus id: test s -> s, train s -> n_test + s
    double *onset;    // (n_events) seconds, rounded to ms
} run_plan;

static void shuffle(int *a, int n, mt19937 *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(hy_mt_uniform_f64(rng) * (i + 1));
        if (j > i) j = i;
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

// Test repeats spread round-robin over the test runs, training stimuli in contiguous shares of
// the other runs, each run shuffled, onsets isi_min..isi_max apart.
static int plan_runs(const simb_params *p, mt19937 *rng, run_plan *plan) {
    int nte = p->enc.n_test, ntr = p->enc.n_train, R = p->n_runs, Rt = p->test_runs;
    int *count = hy_calloc((size_t)R, sizeof(int)), *order = hy_malloc(sizeof(int) * (size_t)ntr);
    if (!count || !order) {
        free(count);
        free(order);
        return HY_ENOMEM;
    }
    for (int r = 0; r < p->enc.test_reps; r++) count[r % Rt] += nte;
    for (int i = 0; i < ntr; i++) count[Rt + (int)((long)i * (R - Rt) / ntr)]++;
    int rc = HY_OK;
    for (int k = 0; k < R && !rc; k++) {
        plan[k].n_events = 0;
        plan[k].stim = hy_malloc(sizeof(int) * (size_t)(count[k] + 1));
        plan[k].onset = hy_malloc(sizeof(double) * (size_t)(count[k] + 1));
        if (!plan[k].stim || !plan[k].onset) rc = HY_ENOMEM;
    }
    for (int i = 0; i < ntr; i++) order[i] = i;
    shuffle(order, ntr, rng);
    for (int r = 0; r < p->enc.test_reps && !rc; r++)
        for (int s = 0; s < nte; s++) plan[r % Rt].stim[plan[r % Rt].n_events++] = s;
    for (int i = 0; i < ntr && !rc; i++) {
        int k = Rt + (int)((long)i * (R - Rt) / ntr);
        plan[k].stim[plan[k].n_events++] = nte + order[i];
    }
    for (int k = 0; k < R && !rc; k++) {
        shuffle(plan[k].stim, plan[k].n_events, rng);
        double t = p->lead_s;
        for (int e = 0; e < plan[k].n_events; e++) {
            plan[k].onset[e] = rint(t * 1000) / 1000;
            t += p->isi_min + (p->isi_max - p->isi_min) * hy_mt_uniform_f64(rng);
        }
        double end = plan[k].onset[plan[k].n_events - 1] + p->tail_s;
        plan[k].n_scans = (int)ceil(end / p->tr);
    }
    free(count);
    free(order);
    return rc;
}

// --- writing ------------------------------------------------------------------------------

static int write_text(const char *path, const char *text) {
    hy_outfile o;
    int rc = hy_out_open(&o, path);
    if (rc) return rc;
    fputs(text, o.fp);
    return hy_out_commit(&o);
}

static void stim_name(char *buf, size_t cap, int id, int nte) {
    if (id < nte) snprintf(buf, cap, "test_%03d.png", id);
    else snprintf(buf, cap, "train_%04d.png", id - nte);
}

static int write_events(const char *path, const run_plan *pl, const simb_params *p) {
    hy_outfile o;
    int rc = hy_out_open(&o, path);
    if (rc) return rc;
    fprintf(o.fp, "onset\tduration\ttrial_type\n");
    for (int e = 0; e < pl->n_events; e++) {
        char nm[32];
        stim_name(nm, sizeof nm, pl->stim[e], p->enc.n_test);
        fprintf(o.fp, "%.3f\t%g\t%s\n", pl->onset[e], p->event_s, nm);
    }
    return hy_out_commit(&o);
}

static int write_confounds(const char *path, const double *m, int n) {
    hy_outfile o;
    int rc = hy_out_open(&o, path);
    if (rc) return rc;
    fprintf(o.fp, "trans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\n");
    for (int t = 0; t < n; t++)
        fprintf(o.fp, "%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\n", m[t * 6], m[t * 6 + 1], m[t * 6 + 2], m[t * 6 + 3],
                m[t * 6 + 4], m[t * 6 + 5]);
    return hy_out_commit(&o);
}

// Per-voxel constants of the noise model.
typedef struct {
    double *base, *rho, *slope, *camp, *cper, *cphase, *w;  // (V) each; w (V, 6) motion weights
    int *shape;                                            // (V) response shape
} voxel_params;

// One run: signal from the events, AR(1) noise, drift and motion, written as float32 BOLD; the
// motion walks go to the confounds file.
static int simulate_run(const simb_params *p, const sim_data *s, const run_plan *pl, const voxel_params *vp,
                        const double *g, int glen, mt19937 *rng, const int64_t dim3[3], const char *bold,
                        const char *conf) {
    int n = pl->n_scans, V = s->v, nte = s->n_test;
    int64_t G = dim3[0] * dim3[1] * dim3[2];
    double *sig = hy_calloc((size_t)n * V, sizeof(double)), *mot = hy_malloc(sizeof(double) * 6 * (size_t)n);
    double *e = hy_malloc(sizeof(double) * V), *gk = hy_malloc(sizeof(double) * p->n_hrf);
    float *vol = hy_calloc((size_t)G, sizeof(float));
    int rc = HY_ENOMEM;
    if (!sig || !mot || !e || !gk || !vol) goto done;
    // 1. event responses: a[s, v] * g_shape(v)(t - onset), linear interpolation in the lag
    for (int ev = 0; ev < pl->n_events; ev++) {
        int id = pl->stim[ev];
        const double *clean = id < nte ? s->cte + (size_t)id * V : s->ctr + (size_t)(id - nte) * V;
        int j0 = (int)ceil(pl->onset[ev] / p->tr);
        for (int j = j0 < 0 ? 0 : j0; j < n; j++) {
            double lag = j * p->tr - pl->onset[ev], f = lag / G_DT;
            int m = (int)f;
            if (m >= glen - 1) break;
            for (int k = 0; k < p->n_hrf; k++) gk[k] = g[(size_t)k * glen + m] * (1 - (f - m)) + g[(size_t)k * glen + m + 1] * (f - m);
            double *row = sig + (size_t)j * V;
            for (int v = 0; v < V; v++) row[v] += p->amp * clean[v] * gk[vp->shape[v]];
        }
    }
    // 2. motion-like walks (centred), then noise, drift and motion per voxel
    for (int k = 0; k < 6; k++) {
        double x = 0, mean = 0;
        for (int t = 0; t < n; t++) {
            x += 0.05 * hy_mt_normal(rng);
            mot[t * 6 + k] = x;
            mean += x / n;
        }
        for (int t = 0; t < n; t++) mot[t * 6 + k] -= mean;
    }
    for (int v = 0; v < V; v++) e[v] = p->noise * hy_mt_normal(rng);
    nifti_writer *w = NULL;
    nifti_geom geom = {.pixdim = {1, 3, 3, 3, 0, 0, 0, 0}, .xyzt_units = 2 | 8, .sform_code = 1,
                       .srow = {3, 0, 0, -24, 0, 3, 0, -24, 0, 0, 3, -24}};
    if ((rc = hy_nifti_writer_open(&w, bold, dim3, n, &geom, p->tr, "hyper simulate --bold", 1))) goto done;
    double T = n * p->tr;
    for (int t = 0; t < n && !rc; t++) {
        double time = t * p->tr;
        for (int v = 0; v < V; v++) {
            if (t > 0) e[v] = vp->rho[v] * e[v] + p->noise * sqrt(1 - vp->rho[v] * vp->rho[v]) * hy_mt_normal(rng);
            double drift = vp->slope[v] * (2 * time / T - 1) + vp->camp[v] * cos(2 * M_PI * time / vp->cper[v] + vp->cphase[v]);
            double motion = 0;
            for (int k = 0; k < 6; k++) motion += vp->w[v * 6 + k] * mot[t * 6 + k];
            vol[v] = (float)(vp->base[v] * (1 + (sig[(size_t)t * V + v] + e[v] + drift + motion) / 100));
        }
        rc = hy_nifti_writer_put(w, vol);
    }
    if (!rc) rc = hy_nifti_writer_commit(w);
    else hy_nifti_writer_abort(w);
    if (!rc) rc = write_confounds(conf, mot, n);
done:
    free(sig);
    free(mot);
    free(e);
    free(gk);
    free(vol);
    return rc;
}

// --- the whole dataset --------------------------------------------------------------------

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

// Removes a partly written tree (best effort).
static void remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int check_params(const simb_params *p) {
    if (p->n_runs < 2 || p->n_runs > 100 || p->test_runs < 1 || p->test_runs >= p->n_runs)
        return hy_err(HY_EARG, "need 2..100 runs and 1..runs-1 test runs (got %d and %d)", p->n_runs, p->test_runs);
    if (!(p->tr > 0) || !(p->event_s >= 0) || !(p->isi_min > 0) || !(p->isi_max >= p->isi_min) || !(p->lead_s >= 0) ||
        !(p->tail_s >= 0))
        return hy_err(HY_EARG, "TR, event duration and inter-stimulus intervals must be positive, isi-max >= isi-min");
    if (!(p->noise >= 0) || !(p->amp >= 0) || !(p->drift >= 0) || !(p->motion >= 0) || !(p->hrf_jitter >= 0))
        return hy_err(HY_EARG, "amplitudes and noise levels must be >= 0");
    if (!(p->ar_min > -1 && p->ar_max < 1 && p->ar_min <= p->ar_max))
        return hy_err(HY_EARG, "AR(1) range [%g, %g] must lie inside (-1, 1)", p->ar_min, p->ar_max);
    if (p->n_hrf < 1 || p->n_hrf > 1000) return hy_err(HY_EARG, "--hrf-shapes must be in 1..1000");
    return HY_OK;
}

static int voxel_params_make(voxel_params *vp, const simb_params *p, int V, mt19937 *rng) {
    memset(vp, 0, sizeof *vp);
    double **a[6] = {&vp->base, &vp->rho, &vp->slope, &vp->camp, &vp->cper, &vp->cphase};
    for (int i = 0; i < 6; i++)
        if (!(*a[i] = hy_malloc(sizeof(double) * V))) return HY_ENOMEM;
    vp->w = hy_malloc(sizeof(double) * 6 * (size_t)V);
    vp->shape = hy_malloc(sizeof(int) * V);
    if (!vp->w || !vp->shape) return HY_ENOMEM;
    for (int v = 0; v < V; v++) {
        vp->base[v] = 1000 * (1 + 0.1 * (2 * hy_mt_uniform_f64(rng) - 1));
        vp->rho[v] = p->ar_min + (p->ar_max - p->ar_min) * hy_mt_uniform_f64(rng);
        vp->slope[v] = p->drift * hy_mt_normal(rng);
        vp->camp[v] = p->drift * hy_mt_normal(rng);
        vp->cper[v] = 200 + 200 * hy_mt_uniform_f64(rng);
        vp->cphase[v] = 2 * M_PI * hy_mt_uniform_f64(rng);
        for (int k = 0; k < 6; k++) vp->w[v * 6 + k] = p->motion * hy_mt_normal(rng);  // percent per unit of walk
        vp->shape[v] = (int)(hy_mt_uniform_f64(rng) * p->n_hrf) % p->n_hrf;
    }
    return HY_OK;
}

static void voxel_params_free(voxel_params *vp) {
    free(vp->base);
    free(vp->rho);
    free(vp->slope);
    free(vp->camp);
    free(vp->cper);
    free(vp->cphase);
    free(vp->w);
    free(vp->shape);
}

// Split file, latents, true responses (amp * clean, the GLM's target) and the parameters.
static int write_truth(const simb_params *p, const sim_data *s, const char *root, int n_volumes) {
    char path[1400];
    int rc, nte = s->n_test, ntr = s->n_train, V = s->v, D = s->d;
    snprintf(path, sizeof path, "%s/split.tsv", root);
    hy_outfile o;
    if ((rc = hy_out_open(&o, path))) return rc;
    fprintf(o.fp, "trial_type\tsplit\trow\n");
    for (int i = 0; i < nte; i++) fprintf(o.fp, "test_%03d.png\ttest\t%d\n", i, i);
    for (int i = 0; i < ntr; i++) fprintf(o.fp, "train_%04d.png\ttrain\t%d\n", i, i);
    if ((rc = hy_out_commit(&o))) return rc;
    snprintf(path, sizeof path, "%s/truth", root);
    if ((rc = hy_mkdir_p(path))) return rc;
    double *a = hy_malloc(sizeof(double) * (size_t)(ntr > nte ? ntr : nte) * V);
    if (!a) return HY_ENOMEM;
    int64_t dl[2] = {ntr, D}, dr[2] = {ntr, V};
    for (size_t i = 0; i < (size_t)ntr * V; i++) a[i] = p->amp * s->ctr[i];
    snprintf(path, sizeof path, "%s/truth/train_latents.npy", root);
    rc = hy_npy_write_f64(path, 2, dl, s->ytr);
    snprintf(path, sizeof path, "%s/truth/train_responses.npy", root);
    if (!rc) rc = hy_npy_write_f64(path, 2, dr, a);
    dl[0] = dr[0] = nte;
    for (size_t i = 0; i < (size_t)nte * V; i++) a[i] = p->amp * s->cte[i];
    snprintf(path, sizeof path, "%s/truth/test_latents.npy", root);
    if (!rc) rc = hy_npy_write_f64(path, 2, dl, s->yte);
    snprintf(path, sizeof path, "%s/truth/test_responses.npy", root);
    if (!rc) rc = hy_npy_write_f64(path, 2, dr, a);
    free(a);
    snprintf(path, sizeof path, "%s/truth", root);
    if (!rc) rc = hy_sim_encoding_save(s, path);  // the mlp/gabor encodings' weights (nothing for linear)
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/truth/params.txt", root);
    if ((rc = hy_out_open(&o, path))) return rc;
    fprintf(o.fp,
            "# hyper simulate --bold ground truth\nseed=%llu\nn_train=%d\nn_test=%d\ntest_reps=%d\nvoxels=%d\nlatent_dim=%d\n"
            "strong=%d\ngain_strong=%g\ngain_weak=%g\ninformative=%g\nnonlinearity=%s\nruns=%d\ntest_runs=%d\ntr=%g\n"
            "event_s=%g\nisi=%g..%g\namp_percent=%g\nnoise_percent=%g\nar1=%g..%g\ndrift_percent=%g\nmotion_percent=%g\n"
            "hrf_jitter_s=%g\nhrf_shapes=%d\nvolumes=%d\n",
            (unsigned long long)p->enc.seed, ntr, nte, p->enc.test_reps, V, D, p->enc.n_strong, p->enc.gain_strong,
            p->enc.gain_weak, p->enc.informative, hy_sim_nonlin_name(p->enc.nonlin), p->n_runs, p->test_runs, p->tr,
            p->event_s, p->isi_min, p->isi_max, p->amp, p->noise, p->ar_min, p->ar_max, p->drift, p->motion,
            p->hrf_jitter, p->n_hrf, n_volumes);
    return hy_out_commit(&o);
}

// Everything is written into DIR.tmp.PID and renamed to DIR at the end, so a failed or killed
// run leaves no dataset that looks complete. Long because it lays out the BIDS tree file by file.
int hy_simb_run(const simb_params *p, const char *dir, int *n_volumes) {
    *n_volumes = 0;
    int rc = check_params(p);
    if (rc) return rc;
    struct stat st;
    if (stat(dir, &st) == 0 && (!S_ISDIR(st.st_mode) || rmdir(dir) != 0))
        return hy_err(HY_EIO, "%s: exists and is not an empty folder; choose a new output folder", dir);
    char root[1100], func[1200], dfunc[1300], path[1500], link[600];
    if ((size_t)snprintf(root, sizeof root, "%s.tmp.%ld", dir, (long)getpid()) >= sizeof root)
        return hy_err(HY_EARG, "%s: path too long", dir);
    snprintf(func, sizeof func, "%s/sub-01/func", root);
    snprintf(dfunc, sizeof dfunc, "%s/derivatives/sim/sub-01/func", root);
    sim_data s;
    memset(&s, 0, sizeof s);
    voxel_params vp;
    memset(&vp, 0, sizeof vp);
    run_plan *plan = hy_calloc((size_t)p->n_runs, sizeof(run_plan));
    double *g = NULL;
    int glen = 0;
    mt19937 rng;
    hy_mt_seed(&rng, p->enc.seed * 2654435761u + 16);  // a stream apart from the encoding model's
    if (!plan) return HY_ENOMEM;
    if ((rc = hy_sim_run(&p->enc, &s)) || (rc = hy_mkdir_p(func)) || (rc = hy_mkdir_p(dfunc)) ||
        (rc = make_shapes(p, &rng, &g, &glen)) || (rc = plan_runs(p, &rng, plan)) ||
        (rc = voxel_params_make(&vp, p, s.v, &rng)))
        goto done;
    int64_t dim3[3] = {s.grid[2], s.grid[1], s.grid[0]};
    for (int k = 0; k < p->n_runs && !rc; k++) {
        char bold[1500], conf[1500];
        snprintf(bold, sizeof bold, "%s/sub-01_task-faces_run-%d_bold.nii.gz", func, k + 1);
        snprintf(conf, sizeof conf, "%s/sub-01_task-faces_run-%d_desc-confounds_timeseries.tsv", dfunc, k + 1);
        if ((rc = simulate_run(p, &s, &plan[k], &vp, g, glen, &rng, dim3, bold, conf))) break;
        snprintf(path, sizeof path, "%s/sub-01_task-faces_run-%d_events.tsv", func, k + 1);
        if ((rc = write_events(path, &plan[k], p))) break;
        snprintf(path, sizeof path, "%s/sub-01_task-faces_run-%d_desc-preproc_bold.nii.gz", dfunc, k + 1);
        snprintf(link, sizeof link, "../../../../sub-01/func/sub-01_task-faces_run-%d_bold.nii.gz", k + 1);
        if (symlink(link, path) != 0) rc = hy_err(HY_EIO, "%s: cannot create link: %s", path, strerror(errno));
        *n_volumes += plan[k].n_scans;
    }
    if (!rc) {
        // the brain mask: the V simulated voxels of the grid
        int64_t G = dim3[0] * dim3[1] * dim3[2];
        double *m = hy_calloc((size_t)G, sizeof(double));
        if (!m) rc = HY_ENOMEM;
        for (int v = 0; m && v < s.v; v++) m[v] = 1;
        snprintf(path, sizeof path, "%s/sub-01_task-faces_run-1_desc-brain_mask.nii.gz", dfunc);
        if (!rc) rc = hy_nifti_write(path, 3, dim3, NII_UINT8, m, 0, 0, 0);
        free(m);
    }
    snprintf(path, sizeof path, "%s/dataset_description.json", root);
    if (!rc) rc = write_text(path, "{\n  \"Name\": \"hyper simulate --bold: the HYPER design with known responses\",\n"
                                   "  \"BIDSVersion\": \"1.8.0\",\n  \"DatasetType\": \"raw\"\n}\n");
    snprintf(path, sizeof path, "%s/participants.tsv", root);
    if (!rc) rc = write_text(path, "participant_id\nsub-01\n");
    snprintf(path, sizeof path, "%s/derivatives/sim/dataset_description.json", root);
    if (!rc) rc = write_text(path, "{\n  \"Name\": \"hyper simulate --bold derivatives (the raw runs, confounds, mask)\",\n"
                                   "  \"BIDSVersion\": \"1.8.0\",\n  \"DatasetType\": \"derivative\",\n"
                                   "  \"GeneratedBy\": [{\"Name\": \"hyper simulate --bold\"}]\n}\n");
    if (!rc) rc = write_truth(p, &s, root, *n_volumes);
    if (!rc && rename(root, dir) != 0) rc = hy_err(HY_EIO, "%s: cannot rename %s into place: %s", dir, root, strerror(errno));
done:
    if (rc) remove_tree(root);
    for (int k = 0; k < p->n_runs; k++) {
        free(plan[k].stim);
        free(plan[k].onset);
    }
    free(plan);
    free(g);
    voxel_params_free(&vp);
    hy_sim_free(&s);
    return rc;
}
