// sweep.c - `hyper sweep` (the study's grid) and `hyper report` (merge shards, rank).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "base/figure.h"
#include "study/sweep.h"

static const char ABOUT[] =
    "Trains every decoder of the grid on DIR's training split, predicts the test latents, renders and\n"
    "embeds the faces with every identity model (-e, repeatable; optionally face-api's age/gender model,\n"
    "-a) and ranks the runs by the first model's mean distance (the study's table). Default grid:\n"
    "models linear, linear-nobias, mlp:hidden=512, mlp:hidden=512:act=tanh,\n"
    "mlp:hidden=512x512:act=sigmoid:dropout=0.2 x epochs 700,900,1200,1500 x batch 30 with HYPER's\n"
    "recipe (named <model>_<epochs>_<batch>, plus _s<seed> with --seeds), and ols, ridge and lasso once\n"
    "each. One training per model, batch and seed runs to the largest epoch count and writes the run of\n"
    "each smaller one on the way (the same files a sweep of that epoch count alone writes). Every\n"
    "iterative run also gets curve.csv/png/svg (train and test loss per epoch).\n"
    "Resumable: finished runs (RESULTS/runs/<name>/run.csv) are skipped; an interrupted run\n"
    "(RESULTS/runs/<name>.tmp/) is redone. Writes RESULTS/results.csv, results.md, chart.svg and\n"
    "chart.png when every run of the grid is finished.";

static const char EPILOG[] =
    "Model specs: a model name, then optional :key=value settings. Adam models:\n"
    "  hidden=H[xH...] (mlp widths)  act=relu|leaky|tanh|sigmoid|elu|softplus|none  dropout=P\n"
    "  slope=S (leaky)  wd=W (weight decay)  lr=X  loss=cosine  skip=ridge (mlp on ridge's residual)\n"
    "Closed-form models: kernel=linear|rbf|poly gamma=G gammas=N degree=D coef0=C (kernel-ridge),\n"
    "  components=K (pls), cv=F (ridge, kernel-ridge, pls, lasso, elasticnet), alpha=A (fixed penalty)\n"
    "e.g. --models linear,mlp:hidden=2048x512:act=tanh:dropout=0.2 --closed ridge,kernel-ridge:kernel=rbf;\n"
    "the run name is made from the spec (mlp-h2048x512-tanh-do0.2_1500_30, kernel-ridge-rbf).\n"
    "Ensembles: --ensemble ridge,mlp-skip_200_30 ranks ensemble-ridge+mlp-skip_200_30, the members'\n"
    "unit-length predictions averaged and rescaled to their mean length.";

static int parse_models(void *o, const char *v) { return hy_sweep_parse_models(o, v, 0); }
static int parse_ensemble(void *dst, const char *v) {
    sweep_opts *o = dst;
    char name[256];
    int r = hy_ensemble_name(v, name, sizeof name);
    if (r) return r;
    if (o->n_ensembles == SWEEP_MAX_ENSEMBLES) return hy_err(HY_EARG, "--ensemble: at most %d", SWEEP_MAX_ENSEMBLES);
    snprintf(o->ensembles[o->n_ensembles++], sizeof o->ensembles[0], "%s", v);
    return HY_OK;
}
static int parse_closed(void *o, const char *v) { return hy_sweep_parse_models(o, v, 1); }
// A value listed twice would name the same run twice (one folder, two trainings): refused.
static int no_repeats(const char *what, const int *v, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (v[i] == v[j]) return hy_err(HY_EARG, "%s: %d is listed twice", what, v[i]);
    return HY_OK;
}
static int parse_epochs(void *dst, const char *v) {
    sweep_opts *o = dst;
    return cli_parse_int_list("--epochs", v, 1, 1000000, o->epochs, 32, &o->n_epochs) ||
                   no_repeats("--epochs", o->epochs, o->n_epochs)
               ? HY_EARG
               : HY_OK;
}
static int parse_seeds(void *dst, const char *v) {
    sweep_opts *o = dst;
    int s[32], r = cli_parse_int_list("--seeds", v, 0, 2147483647L, s, 32, &o->n_seeds);
    for (int i = 0; !r && i < o->n_seeds; i++) {
        o->seeds[i] = (uint64_t)s[i];
        for (int j = 0; j < i; j++)
            if (s[j] == s[i]) r = hy_err(HY_EARG, "--seeds: %d is listed twice", s[i]);
    }
    return r;
}
static int parse_batches(void *dst, const char *v) {
    sweep_opts *o = dst;
    return cli_parse_int_list("--batch", v, 1, 1000000, o->batches, 16, &o->n_batches) ||
                   no_repeats("--batch", o->batches, o->n_batches)
               ? HY_EARG
               : HY_OK;
}
static int parse_shard(void *dst, const char *v) {
    sweep_opts *o = dst;
    const char *slash = strchr(v, '/');
    char i_str[32];
    long i, n;
    if (!slash || (size_t)(slash - v) >= sizeof i_str) return hy_err(HY_EARG, "--shard: '%s' is not i/n", v);
    memcpy(i_str, v, (size_t)(slash - v));
    i_str[slash - v] = 0;
    if (cli_parse_long("--shard", i_str, 1, 1000000, &i) || cli_parse_long("--shard", slash + 1, 1, 1000000, &n))
        return hy_err(HY_EARG, "--shard: '%s' is not i/n with 1 <= i <= n", v);
    if (i > n) return hy_err(HY_EARG, "--shard: '%s' has i > n", v);
    o->shard_i = (int)i;
    o->shard_n = (int)n;
    return HY_OK;
}

// Appends arg to buf in single quotes when it has characters a shell would read specially.
static void shell_word(char *buf, size_t cap, const char *arg) {
    size_t at = strlen(buf);
    int plain = *arg != 0;
    for (const char *c = arg; *c; c++) plain &= !!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%", *c);
    if (plain) {
        snprintf(buf + at, cap - at, " %s", arg);
        return;
    }
    at += (size_t)snprintf(buf + at, cap - at, " '");
    for (const char *c = arg; *c && at + 5 < cap; c++) at += (size_t)snprintf(buf + at, cap - at, *c == '\'' ? "'\\''" : "%c", *c);
    snprintf(buf + at, cap - at, "'");
}

// RESULTS/command.txt: the command line that makes these results, without --shard (the same for
// every shard; hyper report shows it in report.html as the command that reproduces them).
static int write_command(const char *out_dir, int argc, char **argv) {
    char line[8192] = "hyper sweep", p[4200];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shard")) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--shard=", 8)) continue;
        shell_word(line, sizeof line, argv[i]);
    }
    snprintf(p, sizeof p, "%s/command.txt", out_dir);
    hy_outfile f;
    int r = hy_out_open(&f, p);
    if (r) return r;
    fprintf(f.fp, "%s\n", line);
    return hy_out_commit(&f);
}

int cmd_sweep(int argc, char **argv) {
    sweep_opts o;
    hy_sweep_defaults(&o);
    const char *g = NULL, *attr = NULL;
    cli_list emb = {0};
    const char *det = NULL, *crop = NULL, *noface = NULL;
    long n_null = 100, seed = 1;
    int bf = 16, hid = 0, recipe = DEC_RECIPE_HYPER, scale = 1;
    double lr = 0;
    const opt table[] = {
        OPT_STR("data", 'd', &o.data_dir, "DIR", "dataset directory or .npz archive", OPT_REQUIRED),
        OPT_STR("generator", 'g', &g, "G.bin", "PGGAN generator weights", OPT_REQUIRED),
        CLI_OPTS_IDENTITY_MODELS(&emb, &attr),
        OPT_STR("out", 'o', &o.out_dir, "RESULTS", "results directory (created; resumed when it exists)", OPT_REQUIRED),
        OPT_SECTION("the grid"),
        OPT_FN("models", 0, parse_models, &o, "LIST", "iterative model specs (default: see above; specs below)"),
        OPT_FN("epochs", 0, parse_epochs, &o, "LIST", "epoch counts (default 700,900,1200,1500)"),
        OPT_FN("batch", 0, parse_batches, &o, "LIST", "training batch sizes (default 30)"),
        OPT_FN("seeds", 0, parse_seeds, &o, "LIST",
               "repeat every iterative configuration for each seed (initialisation and\n"
               "shuffling); runs are named ..._s<seed> (default: once, with --seed)"),
        OPT_FN("closed", 0, parse_closed, &o, "LIST", "closed-form models run once (default ols,ridge,lasso; '' for none)"),
        OPT_FN("ensemble", 0, parse_ensemble, &o, "A,B,...",
               "also the run ensemble-A+B+...: the mean direction of runs A, B, ...\n"
               "(runs of the grid or finished in RESULTS); repeatable"),
        OPT_CHOICE("recipe", 0, &recipe, "R", "hyper|torch",
                   "how the iterative models train (default hyper: HYPER's MXNet notebook;\n"
                   "torch: PyTorch's rules; see hyper train --help)"),
        OPT_FN("shard", 0, parse_shard, &o, "i/n",
               "run only trainings k with k % n == i-1 (a training: one model, batch and\n"
               "seed, all its epoch counts; e.g. one shard per cluster job); then\n"
               "`hyper report RESULTS` merges"),
        OPT_FLAG("zscore", 0, &o.zscore, "z-score voxels with training statistics"),
        OPT_DOUBLE("lr", 0, &lr, "X", "Adam learning rate for every iterative model (default: the model's)", 0,
                   HUGE_VAL, OPT_GT),
        OPT_INT("hidden", 0, &hid, "H", "hidden units of the MLP (default: the trainer's)", 1, 100000),
        {.name = "seed", .type = OPT_T_LONG, .dest = &seed, .metavar = "S", .lo = 0, .hi = 4294967295.0,
         .help = "null latents, and decoder initialisation/shuffling without --seeds", .flags = OPT_DEF},
        OPT_SECTION("evaluation (as in hyper evaluate)"),
        CLI_OPTS_FACE_CROP(&det, &crop, &noface),
        {.name = "null", .type = OPT_T_LONG, .dest = &n_null, .metavar = "N", .lo = 0, .hi = 100000,
         .help = "random latents of the image-level null (0 = off)", .flags = OPT_DEF},
        CLI_OPT_FACE_BATCH(&bf),
        CLI_OPT_SCALE(&scale),
        OPT_ALIAS("facenet", 'f', "embedder"),
        OPT_ALIAS("n-null", 0, "null"),
        OPT_ALIAS("batch-faces", 0, "face-batch"),
        OPT_ALIAS("mlp-hidden", 0, "hidden"),
        OPT_END,
    };
    const cli_command cmd = {"sweep", "-d DIR -g G.bin -e [NAME=]F.bin... -o RESULTS [-a A.bin] [options]", ABOUT, table,
                             EPILOG, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    hy_sweep_sort_epochs(&o);
    o.recipe = (dec_recipe)recipe;
    if (hy_sweep_runs(&o, NULL, SWEEP_MAX_RUNS) < 0) return cli_usage_error(&cmd, "%s", hy_errmsg());
    // options no run of this grid reads: not an error, but worth a word
    int has_mlp = 0;
    for (int k = 0; k < o.n_models; k++) has_mlp |= o.models[k].kind == DEC_MLP;
    if (hid && !has_mlp) hy_note("sweep: note: --hidden is ignored: no mlp in --models");
    static const char *iterative_only[] = {"lr", "epochs", "batch"};
    for (int k = 0; k < 3 && !o.n_models; k++)
        if (cli_given(argc, argv, iterative_only[k]))
            hy_note("sweep: note: --%s is ignored: --models is empty (closed-form models only)", iterative_only[k]);
    o.seed = (uint64_t)seed;
    o.lr = lr;
    o.mlp_hidden = hid;
    hy_figure_set_scale(scale);
    study_models m;
    if (!emb.n) return cli_usage_error(&cmd, "--embedder F.bin is required");
    if (hy_study_models_open(&m, g, emb.v, emb.n, attr, det, crop, noface)) return cli_fail("sweep");
    m.ctx.n_null = (int)n_null;
    m.ctx.seed = (uint64_t)seed;
    m.ctx.batch = bf;
    // A sweep keeps what it finished when it fails later (resuming skips finished runs), so its
    // outputs are not rolled back like other commands' (src/cli/main.c).
    hy_out_journal_stop();
    int r = hy_mkdir_p(o.out_dir);
    if (!r) r = write_command(o.out_dir, argc, argv);
    if (!r) r = hy_sweep_execute(&o, &m.ctx);
    hy_study_models_close(&m);
    return r ? cli_fail("sweep") : 0;
}

static const char ABOUT_REPORT[] =
    "Collects every finished run under RESULTS/runs/ (from one sweep or several --shard sweeps\n"
    "copied into the same RESULTS), groups the seeds of each configuration and writes the report:\n"
    "results.csv and results.md (configurations ranked by the first identity model's mean distance,\n"
    "FaceNet by default, with every model's distance and same-person rate; collapsed ones and\n"
    "ones not better than the shuffled baseline flagged, not ranked), pairs.csv (Wilcoxon and\n"
    "sign-flip p for every two configurations, Holm-adjusted), runs.csv, chart.svg/png, when\n"
    "runs have loss curves curves.svg/png, and report.html: all of it in one self-contained page\n"
    "(images embedded, no network, no JavaScript) with each run's comparison strip and curve, the\n"
    "setup (data, models, checksums) and the commands that reproduce it.";

int cmd_report(int argc, char **argv) {
    int scale = 1;
    const opt table[] = {CLI_OPT_SCALE(&scale), OPT_END};
    const cli_command cmd = {"report", "RESULTS [--scale S]", ABOUT_REPORT, table, NULL, 1, 1, "RESULTS folder"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    hy_figure_set_scale(scale);
    int n;
    if (hy_sweep_report(args.pos[0], &n)) return cli_fail("report");
    printf("%d runs reported: %s/report.html (open it), results.md, results.csv, pairs.csv, runs.csv, chart.svg, "
           "chart.png\n", n, args.pos[0]);
    return 0;
}
