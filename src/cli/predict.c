// cmd_predict.c - `hyper predict`: apply a trained decoder to a dataset split.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "study/dataset.h"
#include "decoders/decoders.h"
#include "base/npy.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper predict --decoder D.bin -d DIR [--split test|train] -o PRED.npy\n\n"
            "Applies a decoder (from `hyper train`) to DIR/<split>_fmri.npy and writes the predicted\n"
            "latents (N, D) as float32. The split defaults to test. --fmri FILE.npy instead of -d/--split\n"
            "applies it to any (N, V) matrix.\n");
}

int cmd_predict(int argc, char **argv) {
    const char *dpath = NULL, *dir = NULL, *split = "test", *out = NULL, *fmri = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "hyper predict: %s needs a value or is unknown (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--decoder")) dpath = v;
        else if (!strcmp(a, "-d") || !strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--split")) split = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--fmri")) fmri = v;
        else {
            fprintf(stderr, "hyper predict: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        i++;
    }
    if (!dpath || !out || (!dir && !fmri)) {
        fprintf(stderr, "hyper predict: --decoder, -d DIR (or --fmri FILE) and -o are required (see --help)\n");
        return 2;
    }
    if (strcmp(split, "test") && strcmp(split, "train")) {
        fprintf(stderr, "hyper predict: --split must be test or train\n");
        return 2;
    }
    decoder dec;
    if (hy_dec_load(&dec, dpath)) return hy_cli_fail("predict");
    double *X = NULL;
    int n = 0, v = 0, rc;
    char path[1200];
    if (fmri) snprintf(path, sizeof path, "%s", fmri);
    else {
        char name[64];
        snprintf(name, sizeof name, "%s_fmri.npy", split);
        if ((rc = hy_ds_path(path, sizeof path, dir, name))) goto fail;
    }
    if ((rc = hy_ds_read_matrix(path, &X, &n, &v))) goto fail;
    if (v != dec.n_in) {
        rc = hy_err(HY_ESHAPE, "%s: %d voxels but decoder %s expects %d", path, v, dpath, dec.n_in);
        goto fail;
    }
    float *P = hy_malloc(sizeof(float) * (size_t)n * dec.n_out);
    if (!P) {
        rc = HY_ENOMEM;
        goto fail;
    }
    rc = hy_dec_predict(&dec, X, n, P);
    if (!rc) {
        int64_t dims[2] = {n, dec.n_out};
        rc = hy_npy_write_f32(out, 2, dims, P);
    }
    free(P);
    if (rc) goto fail;
    fprintf(stderr, "predict: wrote %s (%d x %d) with %s\n", out, n, dec.n_out, hy_dec_kind(dec.kind)->name);
    free(X);
    hy_dec_free(&dec);
    return 0;
fail:
    free(X);
    hy_dec_free(&dec);
    return hy_cli_fail("predict");
}
