// reconstruct.c - `hyper reconstruct`: a trained decoder's predicted latents -> faces,
// next to the ground-truth faces (rendered once and cached).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "base/figure.h"
#include "study/dataset.h"
#include "decoders/decoders.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "models/pggan.h"
#include "study/study.h"

static const char ABOUT[] =
    "Predicts the latents of DIR's split with the decoder and renders them with the generator:\n"
    "  OUT/pred_latents.npy        (N, 512) float32\n"
    "  OUT/faces/NNNNNN.png        reconstructions\n"
    "  OUT/gt/NNNNNN.png           ground-truth faces from the true latents\n"
    "  OUT/comparison.png          ground truth above, reconstruction below (first 36 items)";

static int render_all(pggan *g, const float *z, int n, const char *dir, uint8_t *rgb_all) {
    int R = g->resolution, r = hy_mkdir_p(dir);
    float *img = hy_malloc(sizeof(float) * 3 * (size_t)R * R);
    if (!img) return HY_ENOMEM;
    double t0 = hy_now();
    for (int i = 0; i < n && !r; i++) {
        uint8_t *rgb = rgb_all + (size_t)i * R * R * 3;
        char p[4200];
        snprintf(p, sizeof p, "%s/%06d.png", dir, i);
        if (!(r = hy_pggan_forward(g, z + (size_t)i * g->latent, img, NULL, NULL))) {
            hy_img_f32_to_rgb8(rgb, img, R, R);
            r = hy_png_write_rgb8(p, R, R, rgb);
        }
        hy_progress("render", i + 1, n, t0);
    }
    free(img);
    return r;
}

int cmd_reconstruct(int argc, char **argv) {
    int fig_scale = 1;
    const char *dpath = NULL, *dir = NULL, *g = NULL, *out = NULL;
    int split_train = 0;
    const opt table[] = {
        OPT_STR("decoder", 0, &dpath, "D.bin", "decoder file from `hyper train`", OPT_REQUIRED),
        OPT_STR("data", 'd', &dir, "DIR", "dataset directory or .npz archive", OPT_REQUIRED),
        OPT_STR("generator", 'g', &g, "G.bin", "PGGAN generator weights", OPT_REQUIRED),
        OPT_STR("out", 'o', &out, "OUT", "output directory", OPT_REQUIRED),
        OPT_CHOICE("split", 0, &split_train, "test|train", "test|train", "which split of DIR (default test)"),
        CLI_OPT_SCALE(&fig_scale),
        OPT_END,
    };
    const cli_command cmd = {"reconstruct", "--decoder D.bin -d DIR -g G.bin -o OUT [--split test|train]", ABOUT, table,
                             NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    hy_figure_set_scale(fig_scale);
    const char *split = split_train ? "train" : "test";
    int status = 1, is_test = !strcmp(split, "test");
    decoder dec;
    pggan gen;
    hy_dataset ds = {0};
    float *P = NULL, *T = NULL;
    uint8_t *grgb = NULL, *prgb = NULL;
    memset(&dec, 0, sizeof dec);
    if (hy_dec_load(&dec, dpath)) return cli_fail("reconstruct");
    if (hy_pggan_load(&gen, g)) {
        hy_dec_free(&dec);
        return cli_fail("reconstruct");
    }
    if (dec.n_out != gen.latent) {
        hy_err(HY_ESHAPE, "%s predicts %d-d latents but the generator %s takes %d", dpath, dec.n_out, g, gen.latent);
        goto done;
    }
    if (hy_ds_load(&ds, dir, (is_test ? DS_TEST : DS_TRAIN) | DS_FMRI | DS_LATENTS, dec.n_in, gen.latent)) goto done;
    ds_split *s = is_test ? &ds.test : &ds.train;
    int n = s->n, R = gen.resolution;
    P = hy_malloc(sizeof(float) * (size_t)n * gen.latent);
    T = hy_study_to_f32(s->lat, (size_t)n * gen.latent);
    grgb = hy_malloc((size_t)n * R * R * 3);
    prgb = hy_malloc((size_t)n * R * R * 3);
    if (!P || !T || !grgb || !prgb || hy_mkdir_p(out) || hy_dec_predict(&dec, s->fmri, n, P)) goto done;
    char p[4200];
    snprintf(p, sizeof p, "%s/pred_latents.npy", out);
    if (hy_npy_write_f32(p, 2, (int64_t[]){n, gen.latent}, P)) goto done;
    snprintf(p, sizeof p, "%s/faces", out);
    if (render_all(&gen, P, n, p, prgb)) goto done;
    snprintf(p, sizeof p, "%s/gt", out);
    if (render_all(&gen, T, n, p, grgb)) goto done;
    face_set gs = {.n = n, .R = R, .rgb = grgb}, ps = {.n = n, .R = R, .rgb = prgb};
    snprintf(p, sizeof p, "%s/comparison.png", out);
    char title[1200];
    snprintf(title, sizeof title, "Decoder %.1000s: ground truth vs reconstruction", dpath);
    if (hy_study_comparison_png(p, &gs, &ps, NULL, NULL, 36, title)) goto done;
    printf("reconstructed %d faces: %s/faces/, ground truth %s/gt/, %s/comparison.png\n", n, out, out, out);
    status = 0;
done:
    if (status) cli_fail("reconstruct");
    free(P), free(T), free(grgb), free(prgb);
    hy_ds_free(&ds);
    hy_pggan_free(&gen);
    hy_dec_free(&dec);
    return status;
}
