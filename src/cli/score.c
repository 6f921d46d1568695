// cmd_score.c - `hyper score`: latent-level metrics of predicted vs true latents.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "study/dataset.h"
#include "study/metrics.h"
#include "base/npy.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper score -d DIR --pred PRED.npy [--split test|train] [--boundaries BDIR]\n"
            "                   [--csv SUMMARY.csv] [--items-csv ITEMS.csv] [--null N] [--seed S]\n\n"
            "Scores predicted latents (N, D) against DIR/<split>_latents.npy (split default test):\n"
            "per item and mean +/- s.e. of cosine similarity, HYPER latent similarity 1/(1+MSE) (as its\n"
            "code computes it) and 1/(1+Euclidean distance) (as its paper defines it), 2-way\n"
            "identification (Pearson correlation), per-dimension Pearson r, a random-latent null\n"
            "(N random latents from N(0, I), default 1000; p = (1 + #null at least as close) / (1 + N)),\n"
            "collapse diagnostics (mean pairwise cosine distance and effective rank of the predictions\n"
            "next to the true latents), and with --boundaries, for every BDIR/*.npy unit direction\n"
            "(1 x D, e.g. InterFaceGAN's), the Pearson r across items between true and predicted\n"
            "projections. Prints a table; --csv/--items-csv also write CSV.\n");
}


int cmd_score(int argc, char **argv) {
    const char *dir = NULL, *pred = NULL, *split = "test", *bdir = NULL, *csv = NULL, *icsv = NULL;
    long n_null = 1000, seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "hyper score: %s needs a value or is unknown (see --help)\n", a);
            return 2;
        }
        int rc = 0;
        if (!strcmp(a, "-d") || !strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--pred")) pred = v;
        else if (!strcmp(a, "--split")) split = v;
        else if (!strcmp(a, "--boundaries")) bdir = v;
        else if (!strcmp(a, "--csv")) csv = v;
        else if (!strcmp(a, "--items-csv")) icsv = v;
        else if (!strcmp(a, "--null")) rc = cli_int(a, v, 1, 100000000, &n_null);
        else if (!strcmp(a, "--seed")) rc = cli_int(a, v, 0, 2147483647L, &seed);
        else {
            fprintf(stderr, "hyper score: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) {
            fprintf(stderr, "hyper score: %s\n", hy_errmsg());
            return 2;
        }
        i++;
    }
    if (!dir || !pred) {
        fprintf(stderr, "hyper score: -d DIR and --pred PRED.npy are required (see --help)\n");
        return 2;
    }
    if (strcmp(split, "test") && strcmp(split, "train")) {
        fprintf(stderr, "hyper score: --split must be test or train\n");
        return 2;
    }
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
