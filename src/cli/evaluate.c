// evaluate.c - `hyper evaluate`: every latent-level and image-level metric of one set of
// predicted latents (the study's FaceNet distance, shuffled baseline, random-latent null,
// FaceNet identification, luminance pixel correlation) plus a comparison picture.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "base/figure.h"
#include "study/dataset.h"
#include "study/metrics.h"
#include "base/npy.h"
#include "study/study.h"

static const char ABOUT[] =
    "Renders the ground-truth faces (DIR/test_latents.npy) and the reconstructions (PRED.npy, (N, 512))\n"
    "with the generator, crops the faces, embeds them with every identity model (-e, repeatable) and\n"
    "writes to OUT:\n"
    "  summary.txt / summary.csv   means and standard errors of every metric per model (distance,\n"
    "                              shuffled baseline, identification, same-person rate at the model's\n"
    "                              threshold), the crop mode, the null; with -a the gender match rate,\n"
    "                              age Pearson r and mean |age difference| of truth vs reconstruction\n"
    "  metrics.csv                 per item: <model>_distance/_baseline/_ident/_same per model,\n"
    "                              luminance pixel r, latent cosine, (age and p_male of both faces),\n"
    "                              crop used (m mtcnn, f full, b box, s skipped), MTCNN's face\n"
    "                              probability of the reconstruction (mtcnn_prob)\n"
    "  latent_summary.csv, latent_items.csv   the latent-level metrics of `hyper score`\n"
    "  comparison.png              ground truth above, reconstruction below, labelled with the distance\n"
    "  gt/                         cached ground-truth faces and embeddings (reused when unchanged)";

int cmd_evaluate(int argc, char **argv) {
    int fig_scale = 1;
    const char *dir = NULL, *pred = NULL, *g = NULL, *attr = NULL, *det = NULL, *crop = NULL, *noface = NULL,
               *bdir = NULL, *out = NULL;
    long n_null = 100, seed = 1;
    int batch = 16, save_faces = 0;
    cli_list emb = {0};
    const opt table[] = {
        OPT_STR("data", 'd', &dir, "DIR", "dataset directory or .npz archive (test split)", OPT_REQUIRED),
        OPT_STR("pred", 0, &pred, "PRED.npy", "predicted latents (N_test, 512), float32/float64", OPT_REQUIRED),
        OPT_STR("generator", 'g', &g, "G.bin", "PGGAN generator weights", OPT_REQUIRED),
        CLI_OPTS_IDENTITY_MODELS(&emb, &attr),
        OPT_STR("out", 'o', &out, "OUT", "output directory", OPT_REQUIRED),
        CLI_OPTS_FACE_CROP(&det, &crop, &noface),
        OPT_STR("boundaries", 0, &bdir, "BDIR", "InterFaceGAN-style unit directions (*.npy) for attribute correlations",
                0),
        {.name = "null", .type = OPT_T_LONG, .dest = &n_null, .metavar = "N", .lo = 0, .hi = 100000,
         .help = "random latents of the image-level null, each rendered and embedded (0 = off)", .flags = OPT_DEF},
        {.name = "seed", .type = OPT_T_LONG, .dest = &seed, .metavar = "S", .lo = 0, .hi = 4294967295.0,
         .help = "seed of the null latents", .flags = OPT_DEF},
        CLI_OPT_FACE_BATCH(&batch),
        OPT_FLAG("save-faces", 0, &save_faces, "also write the reconstructed faces to OUT/pred_faces/"),
        OPT_ALIAS("facenet", 'f', "embedder"),
        OPT_ALIAS("n-null", 0, "null"),
        OPT_ALIAS("batch", 0, "face-batch"),
        CLI_OPT_SCALE(&fig_scale),
        OPT_END,
    };
    const cli_command cmd = {"evaluate", "-d DIR --pred PRED.npy -g G.bin -e [NAME=]F.bin... -o OUT [-a A.bin] [options]", ABOUT, table,
                             NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    hy_figure_set_scale(fig_scale);
    study_models m;
    hy_dataset ds = {0};
    double *P = NULL, *bd = NULL;
    char(*bn)[128] = NULL;
    int nb = 0, rows, cols, status = 1;
    float *Tf = NULL, *Pf = NULL;
    face_set gt = {0};
    if (!emb.n) return cli_usage_error(&cmd, "--embedder F.bin is required");
    if (hy_study_models_open(&m, g, emb.v, emb.n, attr, det, crop, noface)) return cli_fail("evaluate");
    m.ctx.n_null = (int)n_null;
    m.ctx.seed = (uint64_t)seed;
    m.ctx.batch = batch;
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
    m.ctx.progress_total = 2L * rows + m.ctx.n_null;  // faces: ground truth, reconstructions, null
    m.ctx.progress_t0 = hy_now();
    m.ctx.progress_label = "evaluate: faces";
    if (hy_mkdir_p(out) || hy_study_gt_faces(&m.ctx, Tf, rows, cache, &gt)) goto done;
    run_summary sum;  // names the comparison picture after the predictions
    memset(&sum, 0, sizeof sum);
    snprintf(sum.name, sizeof sum.name, "%.127s", pred);
    snprintf(sum.model, sizeof sum.model, "from %.100s", dir);
    if (hy_study_evaluate(&m.ctx, Tf, Pf, rows, &gt, out, bd, bn, nb, save_faces, &sum)) goto done;
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.txt", out);
    FILE *s = hy_fopen_read(p);
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
