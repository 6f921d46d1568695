// sweep.c - `hyper sweep` (the study's grid) and `hyper report` (merge shards, rank).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "study/sweep.h"

static const char ABOUT[] =
    "Trains every decoder of the grid on DIR's training split, predicts the test latents, renders and\n"
    "embeds the faces with every identity model (-e, repeatable; optionally face-api's age/gender model, -a)\n"
    "and ranks the runs by the first model's mean distance (the study's table). Default grid:\n"
    "models linear, linear-nobias, mlp x epochs 700,900,1200,1500 x batch 30 (named <model>_<epochs>_<batch>),\n"
    "plus ols, ridge and lasso once each. Resumable: finished runs (RESULTS/runs/<name>/run.csv) are skipped;\n"
    "an interrupted run (RESULTS/runs/<name>.tmp/) is redone. Writes RESULTS/results.csv, results.md,\n"
    "chart.svg and chart.png when every run of the grid is finished.";

static int parse_models(void *o, const char *v) { return hy_sweep_parse_models(o, v, 0); }
static int parse_closed(void *o, const char *v) { return hy_sweep_parse_models(o, v, 1); }
static int parse_epochs(void *dst, const char *v) {
    sweep_opts *o = dst;
    return cli_parse_int_list("--epochs", v, 1, 1000000, o->epochs, 32, &o->n_epochs);
}
static int parse_batches(void *dst, const char *v) {
    sweep_opts *o = dst;
    return cli_parse_int_list("--batch", v, 1, 1000000, o->batches, 16, &o->n_batches);
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

int cmd_sweep(int argc, char **argv) {
    sweep_opts o;
    hy_sweep_defaults(&o);
    const char *g = NULL, *attr = NULL;
    cli_list emb = {0};
    const char *det = NULL, *crop = NULL, *noface = NULL;
    long n_null = 100, seed = 1;
    int bf = 16, hid = 0;
    double lr = 0;
    const opt table[] = {
        OPT_STR("data", 'd', &o.data_dir, "DIR", "dataset directory", OPT_REQUIRED),
        OPT_STR("generator", 'g', &g, "G.bin", "PGGAN generator weights", OPT_REQUIRED),
        OPT_LIST("embedder", 'e', &emb, "[NAME=]F.bin",
                 "identity model (FaceNet, or face-api's descriptor from make weights); repeat\n"
                 "for several, e.g. -e facenet=F.bin -e faceapi=weights/faceapi_recognition.bin:\n"
                 "each gets its own distances; the first ranks (required)"),
        OPT_STR("attributes", 'a', &attr, "A.bin",
                "face-api's age/gender model (make weights): age and gender agreement\n"
                "of truth and reconstruction", 0),
        OPT_STR("out", 'o', &o.out_dir, "RESULTS", "results directory (created; resumed when it exists)", OPT_REQUIRED),
        OPT_SECTION("the grid"),
        OPT_FN("models", 0, parse_models, &o, "LIST", "iterative models (default linear,linear-nobias,mlp)"),
        OPT_FN("epochs", 0, parse_epochs, &o, "LIST", "epoch counts (default 700,900,1200,1500)"),
        OPT_FN("batch", 0, parse_batches, &o, "LIST", "training batch sizes (default 30)"),
        OPT_FN("closed", 0, parse_closed, &o, "LIST", "closed-form models run once (default ols,ridge,lasso; '' for none)"),
        OPT_FN("shard", 0, parse_shard, &o, "i/n", "run only runs k with k % n == i-1 (e.g. one shard per cluster job);\n"
               "then `hyper report RESULTS` merges"),
        OPT_FLAG("zscore", 0, &o.zscore, "z-score voxels with training statistics"),
        OPT_DOUBLE("lr", 0, &lr, "X", "Adam learning rate for every iterative model (default: the model's)", 0,
                   HUGE_VAL, OPT_GT),
        OPT_INT("hidden", 0, &hid, "H", "hidden units of the MLP (default: the trainer's)", 1, 100000),
        {.name = "seed", .type = OPT_T_LONG, .dest = &seed, .metavar = "S", .lo = 0, .hi = 4294967295.0,
         .help = "decoder initialisation/shuffling and null latents", .flags = OPT_DEF},
        OPT_SECTION("evaluation (as in hyper evaluate)"),
        CLI_OPTS_FACE_CROP(&det, &crop, &noface),
        {.name = "null", .type = OPT_T_LONG, .dest = &n_null, .metavar = "N", .lo = 0, .hi = 100000,
         .help = "random latents of the image-level null (0 = off)", .flags = OPT_DEF},
        CLI_OPT_FACE_BATCH(&bf),
        OPT_ALIAS("facenet", 'f', "embedder"),
        OPT_ALIAS("n-null", 0, "null"),
        OPT_ALIAS("batch-faces", 0, "face-batch"),
        OPT_ALIAS("mlp-hidden", 0, "hidden"),
        OPT_END,
    };
    const cli_command cmd = {"sweep", "-d DIR -g G.bin -e [NAME=]F.bin... -o RESULTS [-a A.bin] [options]", ABOUT, table,
                             NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    o.seed = (uint64_t)seed;
    o.lr = lr;
    o.mlp_hidden = hid;
    study_models m;
    if (!emb.n) return cli_usage_error(&cmd, "--embedder F.bin is required");
    if (hy_study_models_open(&m, g, emb.v, emb.n, attr, det, crop, noface)) return cli_fail("sweep");
    m.ctx.n_null = (int)n_null;
    m.ctx.seed = (uint64_t)seed;
    m.ctx.batch = bf;
    int r = hy_mkdir_p(o.out_dir);
    if (!r) r = hy_sweep_execute(&o, &m.ctx);
    hy_study_models_close(&m);
    return r ? cli_fail("sweep") : 0;
}

static const char ABOUT_REPORT[] =
    "Collects every finished run under RESULTS/runs/ (from one sweep or several --shard sweeps\n"
    "copied into the same RESULTS) and writes results.csv, results.md, chart.svg and chart.png.";

int cmd_report(int argc, char **argv) {
    const opt table[] = {OPT_END};
    const cli_command cmd = {"report", "RESULTS", ABOUT_REPORT, table, NULL, 1, 1, "RESULTS folder"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    int n;
    if (hy_sweep_report(args.pos[0], &n)) return cli_fail("report");
    printf("%d runs ranked: %s/results.md, results.csv, chart.svg, chart.png\n", n, args.pos[0]);
    return 0;
}
