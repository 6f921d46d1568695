// sweep.c - the decoder grid of include/study/sweep.h: train, predict, evaluate, rank; resumable
// (finished runs are skipped) and shardable (--shard i/n).
#include "study/sweep.h"

#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/common.h"
#include "study/dataset.h"
#include "decoders/decoders.h"
#include "base/npy.h"

void hy_sweep_defaults(sweep_opts *o) {
    memset(o, 0, sizeof *o);
    // the study's grid: HYPER's dense layer with and without bias, and an MLP; 4 epoch counts; batch 30
    hy_sweep_parse_models(o, "linear,linear-nobias,mlp", 0);
    hy_sweep_parse_models(o, "ols,ridge,lasso", 1);
    int n;
    hy_sweep_parse_ints(o->epochs, &n, 32, "--epochs", "700,900,1200,1500");
    o->n_epochs = n;
    hy_sweep_parse_ints(o->batches, &n, 16, "--batch", "30");
    o->n_batches = n;
    o->shard_i = o->shard_n = 1;
}

int hy_sweep_parse_models(sweep_opts *o, const char *list, int closed) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    int n = 0;
    char(*dst)[32] = closed ? o->closed : o->models;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!*tok) continue;
        if (!hy_dec_model_known(tok)) return hy_err(HY_EARG, "unknown decoder model '%s'", tok);
        if (closed == hy_dec_is_iterative(tok))
            return hy_err(HY_EARG, "'%s' is %s; list it in %s", tok, closed ? "iterative" : "closed-form",
                          closed ? "--models" : "--closed");
        if (n == 16) return hy_err(HY_EARG, "too many models (max 16)");
        snprintf(dst[n++], 32, "%s", tok);
    }
    if (closed) o->n_closed = n;
    else o->n_models = n;
    return HY_OK;
}

int hy_sweep_parse_ints(int *out, int *n, int max, const char *opt, const char *list) {
    *n = 0;
    const char *p = list;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000000 || (*end && *end != ','))
            return hy_err(HY_EARG, "%s %s: expected a comma list of positive integers", opt, list);
        if (*n == max) return hy_err(HY_EARG, "%s: too many values (max %d)", opt, max);
        out[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return *n ? HY_OK : hy_err(HY_EARG, "%s: empty list", opt);
}

int hy_sweep_runs(const sweep_opts *o, sweep_run *runs, int max) {
    int k = 0;
    for (int m = 0; m < o->n_models; m++)
        for (int e = 0; e < o->n_epochs; e++)
            for (int b = 0; b < o->n_batches && k < max; b++, k++) {
                snprintf(runs[k].model, sizeof runs[k].model, "%s", o->models[m]);
                runs[k].epochs = o->epochs[e];
                runs[k].batch = o->batches[b];
                snprintf(runs[k].name, sizeof runs[k].name, "%s_%d_%d", o->models[m], o->epochs[e], o->batches[b]);
            }
    for (int m = 0; m < o->n_closed && k < max; m++, k++) {
        memset(&runs[k], 0, sizeof runs[k]);
        snprintf(runs[k].model, sizeof runs[k].model, "%s", o->closed[m]);
        snprintf(runs[k].name, sizeof runs[k].name, "%s", o->closed[m]);
    }
    return k;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb, (void)flag, (void)f;
    return remove(path);
}
static int rm_rf(const char *path) {
    if (!hy_path_exists(path)) return HY_OK;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) return hy_err(HY_EIO, "%s: cannot remove", path);
    return HY_OK;
}

// Trains, predicts and evaluates one run inside runs/<name>.tmp, then renames it into place.
static int do_run(const sweep_opts *o, study_ctx *c, const hy_dataset *ds, const sweep_run *run, const face_set *gt,
                  const float *Tf) {
    char tmp[4200], fin[4200], p[4400];
    snprintf(tmp, sizeof tmp, "%s/runs/%s.tmp", o->out_dir, run->name);
    snprintf(fin, sizeof fin, "%s/runs/%s", o->out_dir, run->name);
    int r;
    if ((r = rm_rf(tmp)) || (r = hy_mkdir_p(tmp))) return r;
    dec_opts opts;
    hy_dec_opts_default(&opts, run->model);
    opts.quiet = 1;
    opts.zscore = o->zscore;
    opts.seed = o->seed;
    if (run->epochs) opts.epochs = run->epochs, opts.batch_size = run->batch;
    if (o->lr > 0) opts.lr = o->lr;
    if (o->mlp_hidden > 0 && !strcmp(run->model, "mlp")) opts.hidden[0] = o->mlp_hidden, opts.n_hidden = 1;
    decoder dec;
    memset(&dec, 0, sizeof dec);
    if ((r = hy_dec_train(&dec, &opts, ds->train.fmri, ds->train.lat, ds->train.n, ds->train.v, ds->train.d))) return r;
    snprintf(p, sizeof p, "%s/decoder.bin", tmp);
    if ((r = hy_dec_save(&dec, p))) goto out;
    int n = ds->test.n, L = ds->test.d;
    float *P = hy_malloc(sizeof(float) * (size_t)n * L);
    if (!P) {
        r = HY_ENOMEM;
        goto out;
    }
    if (!(r = hy_dec_predict(&dec, ds->test.fmri, n, P))) {
        snprintf(p, sizeof p, "%s/pred.npy", tmp);
        if (!(r = hy_npy_write_f32(p, 2, (int64_t[]){n, L}, P))) {
            run_summary s;
            memset(&s, 0, sizeof s);
            snprintf(s.name, sizeof s.name, "%s", run->name);
            snprintf(s.model, sizeof s.model, "%s", run->model);
            s.epochs = run->epochs;
            s.batch = run->batch;
            if (!(r = hy_study_evaluate(c, Tf, P, n, gt, tmp, NULL, NULL, 0, 0, &s))) {
                hy_outfile f;
                char line[2048];
                snprintf(p, sizeof p, "%s/run.csv", tmp);
                hy_report_format_csv(line, sizeof line, 0, &s);
                if (!(r = hy_out_open(&f, p))) {
                    fprintf(f.fp, "%s\n%s\n", REPORT_CSV_HEADER, line);
                    r = hy_out_commit(&f);
                }
            }
        }
    }
    free(P);
    if (!r) {
        rm_rf(fin);
        if (rename(tmp, fin) != 0) r = hy_err(HY_EIO, "%s: cannot rename into place", fin);
    }
out:
    hy_dec_free(&dec);
    return r;
}

static int run_done(const char *out_dir, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%.3900s/runs/%.127s/run.csv", out_dir, name);
    return hy_path_exists(p);
}

// One line naming everything a finished run's numbers depend on besides its own decoder settings
// (those are in its name): the data, the generator, identity and age/gender model files, the crop, the null and the
// decoder options shared by the grid.
static void setup_line(const sweep_opts *o, const study_ctx *c, const hy_dataset *ds, char *line, size_t len) {
    uint32_t d = 0;
    const ds_split *sp[2] = {&ds->train, &ds->test};
    for (int i = 0; i < 2; i++) {
        d = hy_crc32(d, sp[i]->fmri, sizeof(double) * (size_t)sp[i]->n * sp[i]->v);
        d = hy_crc32(d, sp[i]->lat, sizeof(double) * (size_t)sp[i]->n * sp[i]->d);
    }
    char crop[128], models[512] = "";
    hy_face_crop_describe(&c->crop, crop, sizeof crop);
    for (int m = 0; m < c->n_models; m++)  // every identity model by name, then the age/gender model
        snprintf(models + strlen(models), sizeof models - strlen(models), "%s_crc=%08x ", c->model[m].name,
                 hy_crc32(0, c->model[m].e->wf->buf, c->model[m].e->wf->size));
    if (c->attr)
        snprintf(models + strlen(models), sizeof models - strlen(models), "attributes_crc=%08x ",
                 hy_crc32(0, c->attr->wf.buf, c->attr->wf.size));
    snprintf(line, len,
             "data_crc=%08x generator_crc=%08x %scrop=%s n_null=%d n_null_latent=%d null_seed=%llu "
             "zscore=%d seed=%llu lr=%g mlp_hidden=%d\n",
             d, hy_crc32(0, c->gen->wf.buf, c->gen->wf.size), models, crop, c->n_null, c->n_null_latent,
             (unsigned long long)c->seed, o->zscore, (unsigned long long)o->seed, o->lr, o->mlp_hidden);
}

// OUT/setup.txt records the setup of the runs in OUT. A sweep resumed (or a shard added) with
// another setup would rank runs made with different data, models or options side by side, so it
// is refused; a new OUT starts with the record.
static int check_setup(const sweep_opts *o, const study_ctx *c, const hy_dataset *ds) {
    char p[4200], want[2048], have[2048];
    setup_line(o, c, ds, want, sizeof want);
    snprintf(p, sizeof p, "%s/setup.txt", o->out_dir);
    FILE *f = fopen(p, "r");
    if (f) {
        const int ok = fgets(have, sizeof have, f) != NULL;
        fclose(f);
        if (ok && !strcmp(have, want)) return HY_OK;
        // name the first field that differs
        char *a = ok ? have : (char *)"", *b = want, *sa, *sb;
        char *ta = strtok_r(a, " \n", &sa), *tb = strtok_r(b, " \n", &sb);
        while (ta && tb && !strcmp(ta, tb)) ta = strtok_r(NULL, " \n", &sa), tb = strtok_r(NULL, " \n", &sb);
        return hy_err(HY_EARG, "%s: the runs there were made with another setup (%s, now %s); use a new --out, or "
                      "delete that folder to start over", o->out_dir, ta ? ta : "?", tb ? tb : "?");
    }
    // no record: only a new (or empty) OUT may start one
    DIR *dir;
    snprintf(have, sizeof have, "%.1000s/runs", o->out_dir);
    if ((dir = opendir(have))) {
        struct dirent *e;
        int any = 0;
        while (!any && (e = readdir(dir))) {
            char q[4400];
            snprintf(q, sizeof q, "%s/%s/run.csv", have, e->d_name);
            any = e->d_name[0] != '.' && hy_path_exists(q);
        }
        closedir(dir);
        if (any)
            return hy_err(HY_EARG, "%s: has finished runs but no setup.txt (made by an older hyper): their setup is "
                          "unknown; use a new --out, or delete that folder to start over", o->out_dir);
    }
    hy_outfile out;
    int r = hy_out_open(&out, p);
    if (r) return r;
    if (fputs(want, out.fp) == EOF) {
        hy_out_abort(&out);
        return hy_err(HY_EIO, "%s: write failed", p);
    }
    return hy_out_commit(&out);
}

int hy_sweep_execute(const sweep_opts *o, study_ctx *c) {
    static sweep_run runs[SWEEP_MAX_RUNS];
    int total = hy_sweep_runs(o, runs, SWEEP_MAX_RUNS), r;
    if (total == 0) return hy_err(HY_EARG, "the sweep has no runs (empty --models/--closed)");
    hy_dataset ds = {0};
    if ((r = hy_ds_load(&ds, o->data_dir, DS_TRAIN | DS_TEST | DS_FMRI | DS_LATENTS, 0, 0))) return r;
    if (ds.test.d != c->gen->latent) {
        r = hy_err(HY_ESHAPE, "%s: latents are %d-d but the generator %s takes %d", o->data_dir, ds.test.d,
                   c->gen->wf.path, c->gen->latent);
        hy_ds_free(&ds);
        return r;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/runs", o->out_dir);
    if ((r = hy_mkdir_p(p)) || (r = check_setup(o, c, &ds))) {
        hy_ds_free(&ds);
        return r;
    }
    // this shard's runs, minus the finished ones
    int mine[SWEEP_MAX_RUNS], n_mine = 0, n_done = 0;
    for (int k = 0; k < total; k++) {
        if (k % o->shard_n != o->shard_i - 1) continue;
        if (run_done(o->out_dir, runs[k].name)) n_done++;
        else mine[n_mine++] = k;
    }
    hy_note("sweep: %d runs in the grid; shard %d/%d has %d, %d already finished, %d to do", total,
            o->shard_i, o->shard_n, n_mine + n_done, n_done, n_mine);
    float *Tf = hy_study_to_f32(ds.test.lat, (size_t)ds.test.n * ds.test.d);
    face_set gt = {0};
    if (!Tf) r = HY_ENOMEM;
    if (!r && n_mine) {
        snprintf(p, sizeof p, "%s/gt", o->out_dir);
        hy_note("sweep: ground-truth faces (%d) -> %s", ds.test.n, p);
        r = hy_study_gt_faces(c, Tf, ds.test.n, p, &gt);
    }
    double t0 = hy_now();
    for (int i = 0; i < n_mine && !r; i++) {
        const sweep_run *run = &runs[mine[i]];
        double el = hy_now() - t0;
        if (i) hy_note("sweep: [%d/%d] %s  (%.0f s elapsed, ETA %.0f s)", i + 1, n_mine, run->name, el,
                       el / i * (n_mine - i));
        else hy_note("sweep: [%d/%d] %s", i + 1, n_mine, run->name);
        if ((r = do_run(o, c, &ds, run, &gt, Tf))) {
            char keep[1024];
            snprintf(keep, sizeof keep, "run %s: %s", run->name, hy_errmsg());
            hy_err(r, "%s", keep);
        }
    }
    hy_face_set_free(&gt);
    free(Tf);
    hy_ds_free(&ds);
    if (r) return r;
    int all = 1;
    for (int k = 0; k < total; k++) all &= run_done(o->out_dir, runs[k].name);
    if (all) {
        int n;
        if ((r = hy_sweep_report(o->out_dir, &n))) return r;
        hy_note("sweep: all %d runs finished; report: %s/results.md, results.csv, chart.svg, chart.png", n,
                o->out_dir);
    } else {
        hy_note("sweep: shard %d/%d finished; when every shard is done run `hyper report %s`", o->shard_i,
                o->shard_n, o->out_dir);
    }
    return HY_OK;
}

int hy_sweep_report(const char *out_dir, int *n_runs) {
    char p[4200];
    snprintf(p, sizeof p, "%s/runs", out_dir);
    DIR *d = opendir(p);
    if (!d) return hy_err(HY_EIO, "%s: no runs directory (is this a sweep's output?)", out_dir);
    run_summary *rows = NULL;
    int n = 0, cap = 0, r = HY_OK;
    struct dirent *e;
    while ((e = readdir(d)) && !r) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || (len > 4 && !strcmp(e->d_name + len - 4, ".tmp"))) continue;
        snprintf(p, sizeof p, "%s/runs/%s/run.csv", out_dir, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;  // unfinished
        char line[2048];
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            run_summary *q = realloc(rows, sizeof *rows * (size_t)cap);
            if (!q) {
                fclose(f);
                r = hy_err(HY_ENOMEM, "out of memory");
                break;
            }
            rows = q;
        }
        if (!fgets(line, sizeof line, f) || !fgets(line, sizeof line, f) || hy_report_parse_csv(line, &rows[n])) {
            r = hy_err(HY_EFORMAT, "%s: damaged run summary", p);
        } else {
            n++;
        }
        fclose(f);
    }
    closedir(d);
    if (!r && n == 0) r = hy_err(HY_EFORMAT, "%s: no finished runs", out_dir);
    if (!r) {
        char title[96];
        snprintf(title, sizeof title, "Decoders ranked by %s distance", rows[0].n_models ? rows[0].models[0].name : "FaceNet");
        r = hy_report_write(out_dir, rows, n, title);
    }
    free(rows);
    if (n_runs) *n_runs = n;
    return r;
}
