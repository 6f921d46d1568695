// sweep.c - running the decoder grid of include/study/sweep.h: train (once per model, batch and
// seed, writing every epoch count's run on the way), predict, evaluate, rank; resumable (finished
// runs are skipped) and shardable (by training). The grid itself is in sweep_grid.c.
#include "study/sweep.h"

#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/common.h"
#include "base/npy.h"
#include "decoders/decoders.h"
#include "study/curve.h"
#include "study/dataset.h"
#include "study/sweep_eta.h"
#include "study/results.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb, (void)flag, (void)f;
    return remove(path);
}
static int rm_rf(const char *path) {
    if (!hy_path_exists(path)) return HY_OK;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) return hy_err(HY_EIO, "%s: cannot remove", path);
    return HY_OK;
}

// --- one run's folder ------------------------------------------------------------------------

// What the runs of one training share: the data, the evaluation, the loss curve so far.
typedef struct {
    const sweep_opts *o;
    study_ctx *c;
    const hy_dataset *ds;
    const face_set *gt;
    const float *Tf;         // test latents (n_test, D) float32
    const sweep_run *runs;   // the training's runs, epochs ascending
    const int *todo;         // 1 for each run still to write
    int n_runs, next;        // next: the first run not yet passed
    loss_curve curve;
    double t0;
    sweep_eta *eta;
} group_job;

// Writes runs/<name>.tmp (decoder, predictions, evaluation, run.csv and, for iterative runs, the
// loss curve of its first run->epochs epochs), then renames it into place.
static int write_run(group_job *j, const sweep_run *run, const decoder *dec) {
    char tmp[4200], fin[4200], p[4400];
    snprintf(tmp, sizeof tmp, "%s/runs/%s.tmp", j->o->out_dir, run->name);
    snprintf(fin, sizeof fin, "%s/runs/%s", j->o->out_dir, run->name);
    int r, n = j->ds->test.n, L = j->ds->test.d;
    double t_start = hy_now();
    if ((r = rm_rf(tmp)) || (r = hy_mkdir_p(tmp))) return r;
    snprintf(p, sizeof p, "%s/decoder.bin", tmp);
    if ((r = hy_dec_save(dec, p))) return r;
    float *P = hy_malloc(sizeof(float) * (size_t)n * L);
    if (!P) return HY_ENOMEM;
    run_summary s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", run->name);
    snprintf(s.model, sizeof s.model, "%s", run->model->name);
    snprintf(s.config, sizeof s.config, "%s", run->config);
    s.seed = run->epochs ? (long long)run->seed : 0;  // 0: closed-form fits have no seed
    s.epochs = run->epochs;
    s.batch = run->batch;
    snprintf(p, sizeof p, "%s/pred.npy", tmp);
    if (!(r = hy_dec_predict(dec, j->ds->test.fmri, n, P)) && !(r = hy_npy_write_f32(p, 2, (int64_t[]){n, L}, P)))
        r = hy_study_evaluate(j->c, j->Tf, P, n, j->gt, tmp, NULL, NULL, 0, 0, &s);
    free(P);
    if (!r) {
        hy_outfile f;
        char line[2048];
        snprintf(p, sizeof p, "%s/run.csv", tmp);
        hy_report_format_csv(line, sizeof line, 0, &s);
        if (!(r = hy_out_open(&f, p))) {
            fprintf(f.fp, "%s\n%s\n", REPORT_CSV_HEADER, line);
            r = hy_out_commit(&f);
        }
    }
    if (!r && run->epochs) {
        char png[4400], svg[4400], title[256];
        snprintf(p, sizeof p, "%s/curve.csv", tmp);
        snprintf(png, sizeof png, "%s/curve.png", tmp);
        snprintf(svg, sizeof svg, "%s/curve.svg", tmp);
        snprintf(title, sizeof title, "%s: loss per epoch (recipe %s)", run->name, hy_dec_recipe_name(dec->recipe));
        const char *ylab = dec->recipe == DEC_RECIPE_HYPER ? "L2Loss (1/2 MSE)" : "MSE";
        if (!(r = hy_curve_write_csv(p, &j->curve, run->epochs)))
            r = hy_curve_plot(png, svg, &j->curve, run->epochs, title, ylab);
    }
    if (!r) {
        rm_rf(fin);
        if (rename(tmp, fin) != 0) r = hy_err(HY_EIO, "%s: cannot rename into place", fin);
    }
    if (!r) hy_note("sweep: %s  (dist %.4f, %.0f s into this training)", run->name, s.dist_mean, hy_now() - j->t0);
    if (!r) hy_sweep_eta_eval(j->eta, hy_now() - t_start);
    return r;
}

// After each epoch: keep the losses; at a run's epoch count write that run (when still to do).
static int on_epoch(void *ctx, const decoder *dec, const dec_epoch *e) {
    group_job *j = ctx;
    int r = hy_curve_add(&j->curve, e->epoch, e->train_loss, e->test_loss);
    hy_sweep_eta_epoch(j->eta, e->epoch);
    hy_sweep_eta_report(j->eta, hy_now(), 0);
    while (!r && j->next < j->n_runs && j->runs[j->next].epochs == e->epoch) {
        if (j->todo[j->next]) r = write_run(j, &j->runs[j->next], dec);
        j->next++;
    }
    return r;
}

// Trains the group's model once, up to its largest epoch count still to do (a closed-form
// model: its one fit), writing each run that is still to do on the way.
static int do_group(group_job *j) {
    const sweep_run *first = &j->runs[0];
    dec_opts opts;
    hy_sweep_model_opts(j->o, first->model, &opts);
    int last = -1;
    for (int i = 0; i < j->n_runs; i++)
        if (j->todo[i]) last = i;
    if (last < 0) return HY_OK;
    if (first->epochs) {
        opts.epochs = j->runs[last].epochs;
        opts.batch_size = first->batch;
        opts.seed = first->seed;
        opts.X_test = j->ds->test.fmri;
        opts.Y_test = j->ds->test.lat;
        opts.n_test = j->ds->test.n;
        opts.on_epoch = on_epoch;
        opts.on_epoch_ctx = j;
    }
    const ds_split *tr = &j->ds->train;
    decoder dec;
    j->t0 = hy_now();
    int r = hy_dec_train(&dec, &opts, tr->fmri, tr->lat, tr->n, tr->v, tr->d);
    if (r) return r;
    if (!first->epochs) r = write_run(j, first, &dec);
    hy_dec_free(&dec);
    return r;
}

static int run_done(const char *out_dir, const char *name) {
    char p[4200];
    snprintf(p, sizeof p, "%.3900s/runs/%.127s/run.csv", out_dir, name);
    return hy_path_exists(p);
}

// One line naming everything a finished run's numbers depend on besides its own decoder settings
// (those are in its name): the data, the generator, the identity and age/gender model files (CRC-32s), the crop,
// the null and the decoder options shared by the grid, each exactly (exact_double: --lr
// 0.0010000004 is not --lr 0.001).
// The shortest decimal form of v that reads back as exactly v (0.001 stays "0.001", and
// 0.0010000004 is not mistaken for it).
static void exact_double(char *buf, size_t len, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static void setup_line(const sweep_opts *o, const study_ctx *c, const hy_dataset *ds, char *line, size_t len) {
    uint32_t d = 0;
    const ds_split *sp[2] = {&ds->train, &ds->test};
    for (int i = 0; i < 2; i++) {
        d = hy_crc32(d, sp[i]->fmri, sizeof(double) * (size_t)sp[i]->n * sp[i]->v);
        d = hy_crc32(d, sp[i]->lat, sizeof(double) * (size_t)sp[i]->n * sp[i]->d);
    }
    char crop[128], lr[32], models[512] = "";
    hy_face_crop_describe(&c->crop, crop, sizeof crop);
    exact_double(lr, sizeof lr, o->lr);
    // every identity model by name (one FaceNet: "facenet_crc=...", as before several models), then
    // the age/gender model
    for (int m = 0; m < c->n_models; m++)
        snprintf(models + strlen(models), sizeof models - strlen(models), "%s_crc=%08x ", c->model[m].name,
                 hy_crc32(0, c->model[m].e->wf->buf, c->model[m].e->wf->size));
    if (c->attr)
        snprintf(models + strlen(models), sizeof models - strlen(models), "attributes_crc=%08x ",
                 hy_crc32(0, c->attr->wf.buf, c->attr->wf.size));
    snprintf(line, len,
             "data_crc=%08x generator_crc=%08x %scrop=%s n_null=%d n_null_latent=%d null_seed=%llu "
             "zscore=%d recipe=%s seed=%llu lr=%s mlp_hidden=%d\n",
             d, c->gen->file_crc, models, crop, c->n_null, c->n_null_latent, (unsigned long long)c->seed, o->zscore,
             hy_dec_recipe_name(o->recipe), (unsigned long long)o->seed, lr, o->mlp_hidden);
}

// OUT/setup.txt records the setup of the runs in OUT. A sweep resumed (or a shard added) with
// another setup would rank runs made with different data, models or options side by side, so it
// is refused; a new OUT starts with the record.
static int check_setup(const sweep_opts *o, const study_ctx *c, const hy_dataset *ds) {
    char p[4200], want[2048], have[2048];
    setup_line(o, c, ds, want, sizeof want);
    snprintf(p, sizeof p, "%s/setup.txt", o->out_dir);
    FILE *f = hy_fopen_read(p);
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

// The runs of the grid's trainings in this shard (trainings k with k % n == i - 1) that are
// not finished: todo[k] = 1. Returns the number of trainings with work; counts runs.
static int plan(const sweep_opts *o, const sweep_run *runs, int total, int *todo, int *n_todo, int *n_done) {
    int groups = 0, last_group = -1;
    *n_todo = *n_done = 0;
    for (int k = 0; k < total; k++) {
        todo[k] = 0;
        if (runs[k].group % o->shard_n != o->shard_i - 1) continue;
        if (run_done(o->out_dir, runs[k].name)) {
            (*n_done)++;
            continue;
        }
        todo[k] = 1;
        (*n_todo)++;
        groups += runs[k].group != last_group;
        last_group = runs[k].group;
    }
    return groups;
}

// Takes runs/.<name>.lock for a training (named after its last run): held while it is
// computed, so two processes in one RESULTS never share a run folder. Returns 1 when another
// process holds it (the training is left to that process).
static int lock_group(const sweep_opts *o, const sweep_run *last, int *fd) {
    char p[4200];
    snprintf(p, sizeof p, "%s/runs/.%s.lock", o->out_dir, last->name);
    int r = hy_lock_take(p, 0, fd);
    if (r == 1) hy_note("sweep: %s is being computed by another process (%s is locked); leaving it to that process",
                        last->name, p);
    return r;
}

// Adds the trainings with work to the ETA model, in the order run_groups runs them.
static void plan_eta(sweep_eta *eta, const sweep_opts *o, const hy_dataset *ds, const sweep_run *runs, int total,
                     const int *todo) {
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < total;) {
            int n = 1, last = todo[k] ? k : -1;
            while (k + n < total && runs[k + n].group == runs[k].group) last = todo[k + n] ? k + n : last, n++;
            if (last >= 0 && (runs[k].epochs > 0) == pass) {
                int n_eval = 0;
                for (int q = k; q < k + n; q++) n_eval += todo[q];
                hy_sweep_eta_add(eta, runs[k].model, runs[k].batch, runs[last].epochs, n_eval,
                                 hy_sweep_eta_macs(o, runs[k].model, ds->train.n, ds->train.v, ds->train.d));
            }
            k += n;
        }
}

// Trains the runs[k..k+n) of one training (its lock held) and logs it as training g + 1.
static int train_group(const sweep_opts *o, study_ctx *c, const hy_dataset *ds, const face_set *gt, const float *Tf,
                       const sweep_run *runs, int *todo, int n, int g, int n_groups, sweep_eta *eta) {
    if (runs[0].epochs)
        hy_note("sweep: training %d/%d: %s, batch %d, seed %llu, to epoch %d%s", g + 1, n_groups, runs[0].model->spec,
                runs[0].batch, (unsigned long long)runs[0].seed, runs[n - 1].epochs,
                " (runs are written as their epoch counts pass)");
    else hy_note("sweep: training %d/%d: %s", g + 1, n_groups, runs[0].model->spec);
    hy_sweep_eta_report(eta, hy_now(), 0);
    group_job j = {o, c, ds, gt, Tf, runs, todo, n, 0, {0}, 0, eta};
    hy_curve_init(&j.curve);
    int r = do_group(&j);
    if (r) {
        char keep[1024];
        snprintf(keep, sizeof keep, "training %s (batch %d, seed %llu): %s", runs[0].model->spec, runs[0].batch,
                 (unsigned long long)runs[0].seed, hy_errmsg());
        hy_err(r, "%s", keep);
    }
    hy_curve_free(&j.curve);
    return r;
}

// Trains every group of the run list that has work, each under its lock: the closed-form fits
// first (usually quick, they give early results and the first measured costs for the ETA),
// then the iterative ones in grid order. Results do not depend on the order. *n_busy counts
// the runs left to other processes.
static int run_groups(const sweep_opts *o, study_ctx *c, const hy_dataset *ds, const face_set *gt, const float *Tf,
                      const sweep_run *runs, int total, int *todo, int n_groups, int *n_busy) {
    sweep_eta *eta = hy_calloc(1, sizeof *eta);
    if (!eta) return HY_ENOMEM;
    plan_eta(eta, o, ds, runs, total, todo);
    hy_sweep_eta_start(eta, hy_now());
    int r = HY_OK, g = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < total && !r;) {
            int n = 1, any = todo[k], fd = -1;
            while (k + n < total && runs[k + n].group == runs[k].group) any |= todo[k + n], n++;
            if (!any || (runs[k].epochs > 0) != pass) {
                k += n;
                continue;
            }
            if ((r = lock_group(o, &runs[k + n - 1], &fd)) == 1) {
                r = HY_OK;
                for (int i = 0; i < n; i++) *n_busy += todo[k + i];
                any = 0;
            }
            if (any && !r) {  // runs finished by another process while this one waited are not redone
                any = 0;
                for (int i = 0; i < n; i++) any |= todo[k + i] = todo[k + i] && !run_done(o->out_dir, runs[k + i].name);
            }
            if (any && !r) {
                r = train_group(o, c, ds, gt, Tf, runs + k, todo + k, n, g++, n_groups, eta);
                if (!r) hy_sweep_eta_done(eta, hy_now());
            } else if (!r) {
                hy_sweep_eta_skip(eta, hy_now());
            }
            if (fd >= 0) hy_lock_release(fd);
            k += n;
        }
    if (!r) hy_sweep_eta_report(eta, hy_now(), 1);
    free(eta);
    return r;
}

int hy_sweep_execute(const sweep_opts *o, study_ctx *c) {
    static sweep_run runs[SWEEP_MAX_RUNS];
    static int todo[SWEEP_MAX_RUNS];
    int total = hy_sweep_runs(o, runs, SWEEP_MAX_RUNS), r;
    if (total < 0) return total;
    if (total == 0) return hy_err(HY_EARG, "the sweep has no runs (no models)");
    for (int k = 1; k < total; k++)
        if (runs[k].epochs && runs[k].group == runs[k - 1].group && runs[k].epochs <= runs[k - 1].epochs)
            return hy_err(HY_EARG, "the grid's epoch counts must be ascending and distinct (hy_sweep_sort_epochs)");
    if ((r = hy_sweep_check_ensembles(o, runs, total))) return r;
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
    if ((r = hy_mkdir_p(p))) {
        hy_ds_free(&ds);
        return r;
    }
    // Several processes may work in one RESULTS (shards, or the same sweep started twice): the
    // setup record and the ground-truth cache are made under RESULTS/.lock, one process at a
    // time, and each run under its own lock (below), so no two processes share a run's folder.
    int setup_fd;
    snprintf(p, sizeof p, "%s/.lock", o->out_dir);
    if ((r = hy_lock_take(p, 0, &setup_fd)) == 1) {
        hy_note("sweep: waiting for another process to finish setting up %s (%s)", o->out_dir, p);
        r = hy_lock_take(p, 1, &setup_fd);
    }
    if (r || (r = check_setup(o, c, &ds))) {
        hy_lock_release(setup_fd);
        hy_ds_free(&ds);
        return r;
    }
    int n_todo, n_done, n_groups = plan(o, runs, total, todo, &n_todo, &n_done), n_busy = 0;
    hy_note("sweep: %d runs in the grid; shard %d/%d has %d, %d already finished, %d to do in %d training(s)", total,
            o->shard_i, o->shard_n, n_todo + n_done, n_done, n_todo, n_groups);
    float *Tf = hy_study_to_f32(ds.test.lat, (size_t)ds.test.n * ds.test.d);
    face_set gt = {0};
    if (!Tf) r = HY_ENOMEM;
    if (!r && n_todo) {  // the ground-truth cache is made under the setup lock too
        snprintf(p, sizeof p, "%s/gt", o->out_dir);
        hy_note("sweep: ground-truth faces (%d) -> %s", ds.test.n, p);
        r = hy_study_gt_faces(c, Tf, ds.test.n, p, &gt);
    }
    hy_lock_release(setup_fd);
    if (!r && n_todo) r = run_groups(o, c, &ds, &gt, Tf, runs, total, todo, n_groups, &n_busy);
    hy_face_set_free(&gt);
    free(Tf);
    if (!r) r = hy_sweep_run_ensembles(o, c, &ds);  // after the runs: ensembles read their predictions
    hy_ds_free(&ds);
    if (r) return r;
    int all = 1;
    for (int k = 0; k < total; k++) all &= run_done(o->out_dir, runs[k].name);
    for (int e = 0; e < o->n_ensembles; e++) {
        char name[256];
        all &= !hy_ensemble_name(o->ensembles[e], name, sizeof name) && run_done(o->out_dir, name);
    }
    if (all) {
        int n;
        if ((r = hy_sweep_report(o->out_dir, &n))) return r;
        hy_note("sweep: all %d runs finished; report: %s/report.html (and results.md, results.csv, pairs.csv, charts)", n,
                o->out_dir);
    } else if (n_busy) {
        hy_note("sweep: %d run%s left to other processes working in %s; the last to finish writes the report "
                "(or run `hyper report %s`)", n_busy, n_busy == 1 ? "" : "s", o->out_dir, o->out_dir);
    } else {
        hy_note("sweep: shard %d/%d finished; when every shard is done run `hyper report %s`", o->shard_i,
                o->shard_n, o->out_dir);
    }
    return HY_OK;
}

int hy_sweep_report(const char *out_dir, int *n_runs) {
    study_results res;
    int r = hy_results_load(&res, out_dir);
    if (r) return r;
    char title[96];
    snprintf(title, sizeof title, "Decoders ranked by %s distance", hy_report_rank_model(&res));
    r = hy_report_write(out_dir, &res, title);
    if (n_runs) *n_runs = res.n_runs;
    hy_results_free(&res);
    return r;
}
