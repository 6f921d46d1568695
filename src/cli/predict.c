// predict.c - `hyper predict`: apply a trained decoder to a dataset split.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "study/dataset.h"
#include "decoders/decoders.h"
#include "base/npy.h"

static const char ABOUT_PREDICT[] =
    "Applies a decoder (from `hyper train`) to DIR/<split>_fmri.npy and writes the predicted\n"
    "latents (N, D) as float32.";

int cmd_predict(int argc, char **argv) {
    const char *dpath = NULL, *dir = NULL, *out = NULL, *fmri = NULL;
    int split_train = 0;
    const opt table[] = {
        OPT_STR("decoder", 0, &dpath, "D.bin", "decoder file from `hyper train`", OPT_REQUIRED),
        OPT_STR("data", 'd', &dir, "DIR", "dataset directory", 0),
        OPT_CHOICE("split", 0, &split_train, "test|train", "test|train", "which split of DIR (default test)"),
        OPT_STR("fmri", 0, &fmri, "FILE.npy", "any (N, V) matrix instead of -d/--split", 0),
        OPT_STR("out", 'o', &out, "PRED.npy", "predicted latents (N, D) float32", OPT_REQUIRED),
        OPT_END,
    };
    const cli_command cmd = {"predict", "--decoder D.bin (-d DIR [--split test|train] | --fmri X.npy) -o PRED.npy",
                             ABOUT_PREDICT, table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (!dir == !fmri) return cli_usage_error(&cmd, "give one of -d DIR and --fmri FILE.npy");
    const char *split = split_train ? "train" : "test";
    decoder dec;
    if (hy_dec_load(&dec, dpath)) return cli_fail("predict");
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
    fprintf(stderr, "predict: wrote %s (%d x %d) with %s\n", out, n, dec.n_out, dec.model);
    free(X);
    hy_dec_free(&dec);
    return 0;
fail:
    free(X);
    hy_dec_free(&dec);
    return cli_fail("predict");
}
