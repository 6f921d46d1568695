// cmd_score.c - `hyper score`: latent-level metrics of predicted vs true latents.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "dataset.h"
#include "metrics.h"
#include "npy.h"

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

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Loads every *.npy in bdir as a D-vector (normalised to unit length).
static int load_boundaries(const char *bdir, int d, double **dirs, char (**names)[128], int *nb) {
    *dirs = NULL;
    *names = NULL;
    *nb = 0;
    DIR *dp = opendir(bdir);
    if (!dp) return hy_err(HY_EIO, "%s: cannot open boundary directory", bdir);
    char *list[1024];
    int cnt = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && cnt < 1024) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".npy") && l < 120) list[cnt++] = strdup(e->d_name);
    }
    closedir(dp);
    if (!cnt) return hy_err(HY_EFORMAT, "%s: no .npy boundary files", bdir);
    qsort(list, cnt, sizeof *list, cmp_str);
    int rc = HY_OK;
    *dirs = hy_malloc(sizeof(double) * (size_t)cnt * d);
    *names = hy_malloc(sizeof(**names) * cnt);
    if (!*dirs || !*names) rc = HY_ENOMEM;
    for (int i = 0; i < cnt && !rc; i++) {
        char path[1400];
        npy_f64 a;
        if ((rc = ds_path(path, sizeof path, bdir, list[i]))) break;
        if ((rc = npy_read_f64(path, &a, 0))) break;
        if (a.size != d) {
            rc = hy_err(HY_ESHAPE, "%s: %lld values, expected a 1 x %d direction", path, (long long)a.size, d);
            npy_free_f64(&a);
            break;
        }
        double nn = 0;
        for (int k = 0; k < d; k++) nn += a.data[k] * a.data[k];
        nn = sqrt(nn);
        if (!(nn > 0)) {
            rc = hy_err(HY_EVALUE, "%s: zero direction", path);
            npy_free_f64(&a);
            break;
        }
        for (int k = 0; k < d; k++) (*dirs)[(size_t)i * d + k] = a.data[k] / nn;
        npy_free_f64(&a);
        snprintf((*names)[i], 128, "%.*s", (int)(strlen(list[i]) - 4), list[i]);
    }
    for (int i = 0; i < cnt; i++) free(list[i]);
    if (rc) {
        free(*dirs);
        free(*names);
        *dirs = NULL;
        *names = NULL;
        return rc;
    }
    *nb = cnt;
    return HY_OK;
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
    if (ds_load(&ds, dir, DS_TRAIN | DS_TEST | DS_LATENTS, 0, 0)) return cli_fail("score");
    ds_split *s = strcmp(split, "test") ? &ds.train : &ds.test;
    double *P = NULL, *bd = NULL;
    char(*bn)[128] = NULL;
    int pn, pd, nb = 0, rc;
    met_report r;
    memset(&r, 0, sizeof r);
    if ((rc = ds_read_matrix(pred, &P, &pn, &pd))) goto fail;
    if (pn != s->n || pd != s->d) {
        rc = hy_err(HY_ESHAPE, "%s: shape (%d, %d) but %s/%s_latents.npy is (%d, %d)", pred, pn, pd, dir, split, s->n, s->d);
        goto fail;
    }
    if (bdir && (rc = load_boundaries(bdir, s->d, &bd, &bn, &nb))) goto fail;
    if ((rc = met_report_compute(&r, P, s->lat, s->n, s->d, (int)n_null, (uint64_t)seed, bd, bn, nb))) goto fail;
    met_report_print(&r, stdout);
    if ((csv || icsv) && (rc = met_report_write_csv(&r, csv, icsv))) goto fail;
    met_report_free(&r);
    free(P);
    free(bd);
    free(bn);
    ds_free(&ds);
    return 0;
fail:
    met_report_free(&r);
    free(P);
    free(bd);
    free(bn);
    ds_free(&ds);
    return cli_fail("score");
}
