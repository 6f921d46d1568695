// cmd_sweep.c - `hyper sweep` (the study's grid) and `hyper report` (merge shards, rank).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "study/sweep.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper sweep -d DIR -g G.bin -f F.bin -o RESULTS [options]\n\n"
            "Trains every decoder of the grid on DIR's training split, predicts the test latents, renders and\n"
            "embeds the faces and ranks the runs by mean FaceNet distance (the study's table). Default grid:\n"
            "models linear, linear-nobias, mlp x epochs 700,900,1200,1500 x batch 30 (named <model>_<epochs>_<batch>),\n"
            "plus ols, ridge and lasso once each. Resumable: finished runs (RESULTS/runs/<name>/run.csv) are skipped;\n"
            "an interrupted run (RESULTS/runs/<name>.tmp/) is redone. Writes RESULTS/results.csv, results.md,\n"
            "chart.svg and chart.png when every run of the grid is finished.\n\n"
            "  --models LIST        iterative models (default linear,linear-nobias,mlp)\n"
            "  --epochs LIST        epoch counts (default 700,900,1200,1500)\n"
            "  --batch LIST         batch sizes (default 30)\n"
            "  --closed LIST        closed-form models run once (default ols,ridge,lasso; '' for none)\n"
            "  --shard i/n          run only runs k with k %% n == i-1 (e.g. one shard per cluster job);\n"
            "                       then `hyper report RESULTS` merges\n"
            "  --zscore             z-score voxels with training statistics\n"
            "  --lr X               Adam learning rate for every iterative model (default: the model's)\n"
            "  --mlp-hidden H       hidden units of the MLP (default: the trainer's)\n"
            "  --seed S             decoder initialisation/shuffling and null latents (default 1)\n"
            "  --detect M.bin, --crop MODE, --on-no-face P, --n-null K, --batch-faces B   as in hyper evaluate\n"
            "  --threads T          threads (default: all cores)\n");
}

int cmd_sweep(int argc, char **argv) {
    sweep_opts o;
    hy_sweep_defaults(&o);
    const char *g = NULL, *f = NULL, *det = NULL, *crop = NULL, *noface = NULL;
    long n_null = 100, seed = 1, bf = 16, threads = 0, hid = 0;
    double lr = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return 0;
        } else if (!strcmp(a, "--zscore")) o.zscore = 1, takes = 0;
        else if (!v) {
            fprintf(stderr, "hyper sweep: %s needs a value (or is unknown; see --help)\n", a);
            return 2;
        } else if (!strcmp(a, "-d")) o.data_dir = v;
        else if (!strcmp(a, "-o")) o.out_dir = v;
        else if (!strcmp(a, "-g")) g = v;
        else if (!strcmp(a, "-f")) f = v;
        else if (!strcmp(a, "--detect")) det = v;
        else if (!strcmp(a, "--crop")) crop = v;
        else if (!strcmp(a, "--on-no-face")) noface = v;
        else if (!strcmp(a, "--models")) r = hy_sweep_parse_models(&o, v, 0);
        else if (!strcmp(a, "--closed")) r = hy_sweep_parse_models(&o, v, 1);
        else if (!strcmp(a, "--epochs")) r = hy_sweep_parse_ints(o.epochs, &o.n_epochs, 32, a, v);
        else if (!strcmp(a, "--batch")) r = hy_sweep_parse_ints(o.batches, &o.n_batches, 16, a, v);
        else if (!strcmp(a, "--shard")) {
            char tail;
            if (sscanf(v, "%d/%d%c", &o.shard_i, &o.shard_n, &tail) != 2 || o.shard_n < 1 || o.shard_i < 1 ||
                o.shard_i > o.shard_n)
                r = hy_err(HY_EARG, "--shard %s: expected i/n with 1 <= i <= n", v);
        } else if (!strcmp(a, "--lr")) r = cli_double(a, v, &lr);
        else if (!strcmp(a, "--mlp-hidden")) r = cli_int(a, v, 1, 100000, &hid);
        else if (!strcmp(a, "--n-null")) r = cli_int(a, v, 0, 100000, &n_null);
        else if (!strcmp(a, "--seed")) r = cli_int(a, v, 0, 0xffffffffL, &seed);
        else if (!strcmp(a, "--batch-faces")) r = cli_int(a, v, 1, 1024, &bf);
        else if (!strcmp(a, "--threads")) r = cli_int(a, v, 1, 1024, &threads);
        else {
            fprintf(stderr, "hyper sweep: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (r) return cli_fail("sweep");
        if (takes) i++;
    }
    if (!o.data_dir || !o.out_dir || !g || !f) {
        fprintf(stderr, "hyper sweep: need -d, -g, -f and -o\n\n");
        help(stderr);
        return 2;
    }
    if (threads) hy_set_threads((int)threads);
    o.seed = (uint64_t)seed;
    o.lr = lr;
    o.mlp_hidden = (int)hid;
    study_models m;
    if (hy_study_models_open(&m, g, f, det, crop, noface)) return cli_fail("sweep");
    m.ctx.n_null = (int)n_null;
    m.ctx.seed = (uint64_t)seed;
    m.ctx.batch = (int)bf;
    int r = hy_mkdir_p(o.out_dir);
    if (!r) r = hy_sweep_execute(&o, &m.ctx);
    hy_study_models_close(&m);
    return r ? cli_fail("sweep") : 0;
}

int cmd_report(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc == 2 ? stdout : stderr;
        fprintf(f, "usage: hyper report RESULTS\n\n"
                   "Collects every finished run under RESULTS/runs/ (from one sweep or several --shard sweeps\n"
                   "copied into the same RESULTS) and writes results.csv, results.md, chart.svg and chart.png.\n");
        return argc == 2 ? 0 : 2;
    }
    int n;
    if (hy_sweep_report(argv[1], &n)) return cli_fail("report");
    printf("%d runs ranked: %s/results.md, results.csv, chart.svg, chart.png\n", n, argv[1]);
    return 0;
}
