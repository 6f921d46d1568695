// cmd_evaluate.c - `hyper evaluate`: every latent-level and image-level metric of one set of
// predicted latents (the study's FaceNet distance, shuffled baseline, random-latent null,
// FaceNet identification, luminance pixel correlation) plus a comparison picture.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "study/dataset.h"
#include "study/metrics.h"
#include "base/npy.h"
#include "study/study.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper evaluate -d DIR --pred PRED.npy -g G.bin -f F.bin -o OUT [options]\n\n"
            "Renders the ground-truth faces (DIR/test_latents.npy) and the reconstructions (PRED.npy, (N, 512))\n"
            "with the generator, crops the faces, embeds them with FaceNet and writes to OUT:\n"
            "  summary.txt / summary.csv   means and standard errors of every metric, the crop mode, the null\n"
            "  metrics.csv                 per item: FaceNet distance, shuffled baseline, identification,\n"
            "                              luminance pixel r, latent cosine, crop used (m mtcnn, f full, b box, s skipped)\n"
            "  latent_summary.csv, latent_items.csv   the latent-level metrics of `hyper score`\n"
            "  comparison.png              ground truth above, reconstruction below, labelled with the distance\n"
            "  gt/                         cached ground-truth faces and embeddings (reused when unchanged)\n\n"
            "  -d DIR               dataset directory (test split)\n"
            "  --pred PRED.npy      predicted latents (N_test, 512), float32/float64\n"
            "  -g G.bin             PGGAN generator weights;  -f F.bin  FaceNet weights\n"
            "  --detect M.bin       MTCNN weights (default weights/mtcnn.bin when present)\n"
            "  --crop MODE          mtcnn (default, as facenet-pytorch) | full | box:x1,y1,x2,y2\n"
            "  --on-no-face P       fallback-full (default) | skip | error\n"
            "  --boundaries BDIR    InterFaceGAN-style unit directions (*.npy) for attribute correlations\n"
            "  --n-null K           random latents for the image-level null (default 100; 0 = off)\n"
            "  --seed S             seed of the null latents (default 1)\n"
            "  --batch B            FaceNet batch size (default 16)\n"
            "  --save-faces         also write the reconstructed faces to OUT/pred_faces/\n"
            "  --threads T          threads (default: all cores)\n");
}

int cmd_evaluate(int argc, char **argv) {
    const char *dir = NULL, *pred = NULL, *g = NULL, *f = NULL, *det = NULL, *crop = NULL, *noface = NULL,
               *bdir = NULL, *out = NULL;
    long n_null = 100, seed = 1, batch = 16, threads = 0;
    int save_faces = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return 0;
        } else if (!strcmp(a, "--save-faces")) save_faces = 1, takes = 0;
        else if (!strcmp(a, "-d")) dir = v;
        else if (!strcmp(a, "--pred")) pred = v;
        else if (!strcmp(a, "-g")) g = v;
        else if (!strcmp(a, "-f")) f = v;
        else if (!strcmp(a, "--detect")) det = v;
        else if (!strcmp(a, "--crop")) crop = v;
        else if (!strcmp(a, "--on-no-face")) noface = v;
        else if (!strcmp(a, "--boundaries")) bdir = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--n-null")) r = cli_int(a, v, 0, 100000, &n_null);
        else if (!strcmp(a, "--seed")) r = cli_int(a, v, 0, 0xffffffffL, &seed);
        else if (!strcmp(a, "--batch")) r = cli_int(a, v, 1, 1024, &batch);
        else if (!strcmp(a, "--threads")) r = cli_int(a, v, 1, 1024, &threads);
        else {
            fprintf(stderr, "hyper evaluate: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (r) return cli_fail("evaluate");
        if (takes) {
            if (!v) {
                fprintf(stderr, "hyper evaluate: %s needs a value\n", a);
                return 2;
            }
            i++;
        }
    }
    if (!dir || !pred || !g || !f || !out) {
        fprintf(stderr, "hyper evaluate: need -d, --pred, -g, -f and -o\n\n");
        help(stderr);
        return 2;
    }
    if (threads) hy_set_threads((int)threads);
    study_models m;
    hy_dataset ds = {0};
    double *P = NULL, *bd = NULL;
    char(*bn)[128] = NULL;
    int nb = 0, rows, cols, status = 1;
    float *Tf = NULL, *Pf = NULL;
    face_set gt = {0};
    if (hy_study_models_open(&m, g, f, det, crop, noface)) return cli_fail("evaluate");
    m.ctx.n_null = (int)n_null;
    m.ctx.seed = (uint64_t)seed;
    m.ctx.batch = (int)batch;
    int L = m.gen.latent;
    if (hy_ds_load(&ds, dir, DS_TEST | DS_LATENTS, 0, L)) goto done;
    if (hy_ds_read_matrix(pred, &P, &rows, &cols)) goto done;
    if (rows != ds.test.n || cols != L) {
        hy_err(HY_ESHAPE, "%s: predictions have shape (%d, %d), the test set needs (%d, %d)", pred, rows, cols,
               ds.test.n, L);
        goto done;
    }
    if (bdir && hy_met_load_boundaries(bdir, L, &bd, &bn, &nb)) goto done;
    Tf = hy_study_to_f32(ds.test.lat, (size_t)rows * L);
    Pf = hy_study_to_f32(P, (size_t)rows * L);
    if (!Tf || !Pf) goto done;
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/gt", out);
    if (hy_mkdir_p(out) || hy_study_gt_faces(&m.ctx, Tf, rows, cache, &gt)) goto done;
    if (hy_study_evaluate(&m.ctx, Tf, Pf, rows, &gt, out, bd, bn, nb, save_faces, NULL)) goto done;
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.txt", out);
    FILE *s = fopen(p, "r");
    if (s) {
        char line[512];
        while (fgets(line, sizeof line, s)) fputs(line, stdout);
        fclose(s);
    }
    printf("wrote %s/{summary.txt,summary.csv,metrics.csv,comparison.png}\n", out);
    status = 0;
done:
    if (status) cli_fail("evaluate");
    hy_face_set_free(&gt);
    free(Tf), free(Pf), free(P), free(bd), free(bn);
    hy_ds_free(&ds);
    hy_study_models_close(&m);
    return status;
}
