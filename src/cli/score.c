// score.c - `hyper score`: latent-level metrics of predicted vs true latents.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "study/dataset.h"
#include "study/metrics.h"
#include "base/npy.h"

static const char ABOUT[] =
    "Scores predicted latents (N, D) against DIR/<split>_latents.npy (split default test):\n"
    "per item and mean +/- s.e. of cosine similarity, HYPER latent similarity 1/(1+MSE) (as its\n"
    "code computes it) and 1/(1+Euclidean distance) (as its paper defines it), 2-way\n"
    "identification (Pearson correlation), per-dimension Pearson r, a random-latent null\n"
    "(N random latents from N(0, I); p = (1 + #null at least as close) / (1 + N)),\n"
    "collapse diagnostics (mean pairwise cosine distance and effective rank of the predictions\n"
    "next to the true latents), and with --boundaries, for every BDIR/*.npy unit direction\n"
    "(1 x D, e.g. InterFaceGAN's), the Pearson r across items between true and predicted\n"
    "projections. Prints a table; --csv/--items-csv also write CSV.";

int cmd_score(int argc, char **argv) {
    const char *dir = NULL, *pred = NULL, *bdir = NULL, *csv = NULL, *icsv = NULL;
    long n_null = 1000, seed = 1;
    int split_train = 0;
    const opt table[] = {
        OPT_STR("data", 'd', &dir, "DIR", "dataset directory", OPT_REQUIRED),
        OPT_STR("pred", 0, &pred, "PRED.npy", "predicted latents (N, D)", OPT_REQUIRED),
        OPT_CHOICE("split", 0, &split_train, "test|train", "test|train", "which split of DIR (default test)"),
        OPT_STR("boundaries", 0, &bdir, "BDIR", "folder of 1 x D unit directions (*.npy) for attribute correlations", 0),
        OPT_STR("csv", 0, &csv, "SUMMARY.csv", "also write the summary as CSV", 0),
        OPT_STR("items-csv", 0, &icsv, "ITEMS.csv", "also write the per-item metrics as CSV", 0),
        {.name = "null", .type = OPT_T_LONG, .dest = &n_null, .metavar = "N", .lo = 1, .hi = 100000000,
         .help = "random latents of the null (cheap: no image is rendered)", .flags = OPT_DEF},
        {.name = "seed", .type = OPT_T_LONG, .dest = &seed, .metavar = "S", .lo = 0, .hi = OPT_MAXINT,
         .help = "seed of the null latents", .flags = OPT_DEF},
        OPT_END,
    };
    const cli_command cmd = {"score",
                             "-d DIR --pred PRED.npy [--split test|train] [--boundaries BDIR]\n"
                             "                   [--csv SUMMARY.csv] [--items-csv ITEMS.csv] [--null N] [--seed S]",
                             ABOUT, table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    const char *split = split_train ? "train" : "test";
    hy_dataset ds;
    if (hy_ds_load(&ds, dir, DS_TRAIN | DS_TEST | DS_LATENTS, 0, 0)) return cli_fail("score");
    ds_split *s = strcmp(split, "test") ? &ds.train : &ds.test;
    double *P = NULL, *bd = NULL;
    char(*bn)[128] = NULL;
    int pn, pd, nb = 0, rc;
    met_report r;
    memset(&r, 0, sizeof r);
    if ((rc = hy_ds_read_matrix(pred, &P, &pn, &pd))) goto fail;
    if (pn != s->n || pd != s->d) {
        rc = hy_err(HY_ESHAPE, "%s: shape (%d, %d) but %s/%s_latents.npy is (%d, %d)", pred, pn, pd, dir, split, s->n, s->d);
        goto fail;
    }
    if (bdir && (rc = hy_met_load_boundaries(bdir, s->d, &bd, &bn, &nb))) goto fail;
    if ((rc = hy_met_report_compute(&r, P, s->lat, s->n, s->d, (int)n_null, (uint64_t)seed, bd, bn, nb))) goto fail;
    hy_met_report_print(&r, stdout);
    if ((csv || icsv) && (rc = hy_met_report_write_csv(&r, csv, icsv))) goto fail;
    hy_met_report_free(&r);
    free(P);
    free(bd);
    free(bn);
    hy_ds_free(&ds);
    return 0;
fail:
    hy_met_report_free(&r);
    free(P);
    free(bd);
    free(bn);
    hy_ds_free(&ds);
    return cli_fail("score");
}
