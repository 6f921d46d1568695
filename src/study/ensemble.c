// ensemble.c - ensembles of a sweep's finished runs (`hyper sweep --ensemble A,B,...`).
//
// The PGGAN generator pixel-normalises z before its first layer, so a predicted latent's
// direction is all that reaches the face. The ensemble of runs r = 1..R therefore averages
// directions: for each test item,
//   e = sum_r p_r / |p_r|  (zero-length predictions count as zero),
//   ensemble = e / |e| * mean_r |p_r|
// (rescaled to the members' mean length, so latent-level metrics that look at the norm see a
// latent of the members' size). The run runs/ensemble-A+B+.../ holds pred.npy, members.txt and
// the evaluation every run has (study.h), and its run.csv row is ranked with the others (model
// "ensemble"). Made in runs/<name>.tmp and renamed into place when complete, like every run.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/npy.h"
#include "study/sweep.h"

// Splits "a,b,c" into members (at most 64); HY_EARG on an empty or repeated member.
static int members(const char *list, char (*m)[128], int *n) {
    *n = 0;
    const char *p = list;
    while (1) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) return hy_err(HY_EARG, "--ensemble %s: empty run name", list);
        if (len >= 128) return hy_err(HY_EARG, "--ensemble %s: run name too long", list);
        if (*n == 64) return hy_err(HY_EARG, "--ensemble %s: more than 64 members", list);
        memcpy(m[*n], p, len);
        m[*n][len] = 0;
        for (int i = 0; i < *n; i++)
            if (!strcmp(m[i], m[*n])) return hy_err(HY_EARG, "--ensemble %s: run '%s' is listed twice", list, m[i]);
        (*n)++;
        if (!e) break;
        p = e + 1;
    }
    if (*n < 2) return hy_err(HY_EARG, "--ensemble %s: an ensemble needs at least 2 runs", list);
    return HY_OK;
}

int hy_ensemble_name(const char *list, char *name, size_t cap) {
    char m[64][128];
    int n, r = members(list, m, &n);
    if (r) return r;
    size_t at = (size_t)snprintf(name, cap, "ensemble-");
    for (int i = 0; i < n && at < cap; i++) at += (size_t)snprintf(name + at, cap - at, "%s%s", i ? "+" : "", m[i]);
    if (at >= cap || at >= 128) return hy_err(HY_EARG, "--ensemble %s: the run name would exceed 127 characters", list);
    return HY_OK;
}

static int finished(const char *out_dir, const char *name) {
    char p[4400];
    snprintf(p, sizeof p, "%.4000s/runs/%.127s/run.csv", out_dir, name);
    return hy_path_exists(p);
}

// A run folder (or its .tmp) without run.csv: an interrupted or unfinished run.
static int started(const char *out_dir, const char *name) {
    char p[4400];
    snprintf(p, sizeof p, "%.4000s/runs/%.127s", out_dir, name);
    if (hy_path_exists(p)) return 1;
    snprintf(p, sizeof p, "%.4000s/runs/%.127s.tmp", out_dir, name);
    return hy_path_exists(p);
}

int hy_sweep_check_ensembles(const sweep_opts *o, const sweep_run *runs, int total) {
    for (int e = 0; e < o->n_ensembles; e++) {
        char m[64][128], name[256];
        int n, r;
        if ((r = members(o->ensembles[e], m, &n)) || (r = hy_ensemble_name(o->ensembles[e], name, sizeof name)))
            return r;
        for (int i = 0; i < n; i++) {
            int known = finished(o->out_dir, m[i]);
            for (int k = 0; k < total && !known; k++) known = !strcmp(runs[k].name, m[i]);
            for (int f = 0; f < e && !known; f++) {  // an earlier ensemble of this sweep
                char other[256];
                known = !hy_ensemble_name(o->ensembles[f], other, sizeof other) && !strcmp(other, m[i]);
            }
            if (!known && started(o->out_dir, m[i]))
                return hy_err(HY_EARG, "--ensemble %s: run '%s' is not finished (%s/runs has it without run.csv); "
                              "finish it with the sweep that made it, or leave it out", o->ensembles[e], m[i], o->out_dir);
            if (!known)
                return hy_err(HY_EARG, "--ensemble %s: unknown run '%s' (not in this sweep's grid nor finished in %s/runs)",
                              o->ensembles[e], m[i], o->out_dir);
        }
    }
    return HY_OK;
}

// The ensemble's predictions P (n, L) from its members' pred.npy files.
static int average(const char *out_dir, char (*m)[128], int nm, int n, int L, float *P) {
    double *acc = hy_calloc((size_t)n * L, sizeof(double)), *len = hy_calloc(n, sizeof(double));
    int r = acc && len ? HY_OK : HY_ENOMEM;
    for (int k = 0; k < nm && !r; k++) {
        char p[4400];
        snprintf(p, sizeof p, "%.4000s/runs/%.127s/pred.npy", out_dir, m[k]);
        npy_f32 a;
        if ((r = hy_npy_read_f32(p, &a, 0))) break;
        if (a.ndim != 2 || a.dims[0] != n || a.dims[1] != L) {
            r = hy_err(HY_ESHAPE, "%s: predictions are not (%d, %d) (the test split's items and latent width)", p, n, L);
        } else {
            for (int i = 0; i < n; i++) {
                const float *x = a.data + (size_t)i * L;
                double nn = 0;
                for (int c = 0; c < L; c++) nn += (double)x[c] * x[c];
                nn = sqrt(nn);
                len[i] += nn / nm;
                if (nn > 0)
                    for (int c = 0; c < L; c++) acc[(size_t)i * L + c] += x[c] / nn;
            }
        }
        hy_npy_free_f32(&a);
    }
    for (int i = 0; i < n && !r; i++) {
        double nn = 0;
        for (int c = 0; c < L; c++) nn += acc[(size_t)i * L + c] * acc[(size_t)i * L + c];
        nn = sqrt(nn);
        for (int c = 0; c < L; c++) P[(size_t)i * L + c] = nn > 0 ? (float)(acc[(size_t)i * L + c] / nn * len[i]) : 0.0f;
    }
    free(acc), free(len);
    return r;
}

static int members_finished(const sweep_opts *o, const char *list) {
    char m[64][128];
    int n;
    if (members(list, m, &n)) return 0;
    for (int i = 0; i < n; i++)
        if (!finished(o->out_dir, m[i])) return 0;
    return 1;
}

// Makes one ensemble run in runs/<name>.tmp and renames it into place.
static int make_one(const sweep_opts *o, study_ctx *c, const hy_dataset *ds, const face_set *gt, const float *Tf,
                    const char *list, const char *name) {
    char m[64][128], tmp[4400], fin[4400], p[4600];
    int nm, r = members(list, m, &nm);
    if (r) return r;
    for (int i = 0; i < nm; i++)
        if (!finished(o->out_dir, m[i]))
            return hy_err(HY_EARG, "--ensemble %s: run '%s' is not finished (with --shard, make ensembles in the last "
                          "shard or a later sweep)", list, m[i]);
    const int n = ds->test.n, L = ds->test.d;
    snprintf(tmp, sizeof tmp, "%.4000s/runs/%s.tmp", o->out_dir, name);
    snprintf(fin, sizeof fin, "%.4000s/runs/%s", o->out_dir, name);
    float *P = hy_malloc(sizeof(float) * (size_t)n * L);
    if (!P) return HY_ENOMEM;
    if (!(r = average(o->out_dir, m, nm, n, L, P)) && !(r = hy_mkdir_p(tmp))) {
        snprintf(p, sizeof p, "%s/pred.npy", tmp);
        r = hy_npy_write_f32(p, 2, (int64_t[]){n, L}, P);
    }
    run_summary s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%.127s", name);
    snprintf(s.model, sizeof s.model, "ensemble");
    if (!r) r = hy_study_evaluate(c, Tf, P, n, gt, tmp, NULL, NULL, 0, 0, &s);
    hy_outfile f;
    if (!r) {
        snprintf(p, sizeof p, "%s/members.txt", tmp);
        if (!(r = hy_out_open(&f, p))) {
            for (int i = 0; i < nm; i++) fprintf(f.fp, "%s\n", m[i]);
            r = hy_out_commit(&f);
        }
    }
    if (!r) {
        char line[1024];
        snprintf(p, sizeof p, "%s/run.csv", tmp);
        hy_report_format_csv(line, sizeof line, 0, &s);
        if (!(r = hy_out_open(&f, p))) {
            fprintf(f.fp, "%s\n%s\n", REPORT_CSV_HEADER, line);
            r = hy_out_commit(&f);
        }
    }
    if (!r && rename(tmp, fin) != 0) r = hy_err(HY_EIO, "%s: cannot rename into place", fin);
    if (!r) hy_note("sweep: %s  (dist %.4f)", name, s.dist_mean);
    free(P);
    return r;
}

int hy_sweep_run_ensembles(const sweep_opts *o, study_ctx *c, const hy_dataset *ds) {
    int r = HY_OK, todo = 0;
    char name[256];
    for (int e = 0; e < o->n_ensembles && !r; e++)
        if (!(r = hy_ensemble_name(o->ensembles[e], name, sizeof name))) todo += !finished(o->out_dir, name);
    if (r || !todo) return r;
    float *Tf = hy_study_to_f32(ds->test.lat, (size_t)ds->test.n * ds->test.d);
    face_set gt = {0};
    char p[4200];
    if (!Tf) return HY_ENOMEM;
    snprintf(p, sizeof p, "%s/gt", o->out_dir);
    r = hy_study_gt_faces(c, Tf, ds->test.n, p, &gt);
    for (int e = 0; e < o->n_ensembles && !r; e++) {
        hy_ensemble_name(o->ensembles[e], name, sizeof name);
        if (finished(o->out_dir, name)) continue;
        if (o->shard_n > 1 && !members_finished(o, o->ensembles[e])) {
            hy_note("sweep: %s waits for runs of other shards; run the sweep again when every shard is done", name);
            continue;
        }
        // one process per ensemble, like the runs (shards finishing together may all get here)
        int fd = -1;
        snprintf(p, sizeof p, "%s/runs/.%s.lock", o->out_dir, name);
        if ((r = hy_lock_take(p, 0, &fd)) == 1) {
            hy_note("sweep: %s is being made by another process", name);
            r = HY_OK;
            continue;
        }
        if (!r && !finished(o->out_dir, name))
            r = make_one(o, c, ds, &gt, Tf, o->ensembles[e], name);  // (an interrupted .tmp is overwritten)
        if (fd >= 0) hy_lock_release(fd);
    }
    hy_face_set_free(&gt);
    free(Tf);
    return r;
}
