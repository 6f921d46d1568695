// detect.c - `hyper detect`: MTCNN face detection on PNG images (include/models/mtcnn.h),
// printing boxes, probabilities and landmarks, optionally writing 160x160 FaceNet crops.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "base/image_io.h"
#include "models/mtcnn.h"

static const char ABOUT[] =
    "Finds faces with MTCNN (facenet-pytorch defaults: min face 20 px, factor 0.709,\n"
    "thresholds 0.6/0.7/0.7) and prints, per face: image, face index/count, box x1 y1 x2 y2\n"
    "(float pixels, not clipped), probability and 5 landmarks (x,y): left eye, right eye,\n"
    "nose, left and right mouth corner. Faces are ordered by box area, largest first.";
static const char EPILOG[] =
    "An image without faces (or smaller than 20 px) prints a warning and is not an error.\n"
    "Images larger than 4096x4096 pixels are refused (downscale them first).";

// "dir/name.png" -> "name"
static void stem(char *out, size_t n, const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

int cmd_detect(int argc, char **argv) {
    const char *wpath = NULL, *crops = NULL;
    int all = 0, tsv = 0, timing = 0;
    const opt table[] = {
        OPT_STR("mtcnn", 'm', &wpath, "M.bin", "MTCNN weight file (kind mtcnn; convert/mtcnn.py DIR -o M.bin)",
                OPT_REQUIRED),
        OPT_FLAG("all", 0, &all, "every face (default: only the largest, like keep_all=False)"),
        OPT_FLAG("tsv", 0, &tsv, "tab-separated output with a header row"),
        OPT_STR("save-crops", 0, &crops, "DIR",
                "write each printed face as DIR/<image>_<k>.png: the FaceNet crop\n"
                "(facenet-pytorch extract_face, margin 0) resized to 160x160 with\n"
                "Pillow's BILINEAR filter", 0),
        OPT_FLAG("time", 0, &timing, "print each image's detection time (without PNG decoding) to stderr"),
        OPT_ALIAS("weights", 'w', "mtcnn"),
        OPT_ALIAS("crops", 0, "save-crops"),
        OPT_END,
    };
    const cli_command cmd = {"detect", "-m M.bin IMAGE.png... [--all] [--tsv] [--save-crops DIR]", ABOUT, table,
                             EPILOG, 1, -1, "IMAGE"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    char **imgs = args.pos;
    int n_img = args.n_pos;

    mtcnn_model m;
    if (hy_mtcnn_load(&m, wpath)) return cli_fail("detect");
    if (crops && hy_mkdir_p(crops)) {
        hy_mtcnn_free(&m);
        return cli_fail("detect");
    }
    int status = 0;
    uint8_t crop[160 * 160 * 3];
    if (tsv) {
        printf("image\tface\tx1\ty1\tx2\ty2\tprob");
        for (int k = 1; k <= 5; k++) printf("\tlx%d\tly%d", k, k);
        printf("\n");
    }
    for (int ii = 0; ii < n_img && !status; ii++) {
        const char *path = imgs[ii];
        int w, h, nf = 0;
        uint8_t *rgb = NULL;
        mtcnn_face *f = NULL;
        double t0 = 0;
        if (hy_png_read_rgb8(path, &w, &h, &rgb) || ((t0 = hy_now()), hy_mtcnn_detect(&m, NULL, rgb, w, h, &f, &nf, NULL))) {
            // mtcnn errors do not name the file: add it
            if (rgb) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", hy_errmsg());  // hy_err writes the same buffer
                hy_err(HY_ESHAPE, "%s: %s", path, msg);
            }
            status = cli_fail("detect");
            free(rgb);
            break;
        }
        if (timing) fprintf(stderr, "time\t%s\t%dx%d\t%.2f ms\n", path, w, h, (hy_now() - t0) * 1e3);
        if (nf == 0) fprintf(stderr, "hyper detect: %s: no face found (%dx%d)\n", path, w, h);
        int show = all ? nf : (nf > 0);
        for (int i = 0; i < show; i++) {
            const mtcnn_face *fc = &f[i];
            if (tsv) {
                printf("%s\t%d\t%.6f\t%.6f\t%.6f\t%.6f\t%.8f", path, i + 1, fc->box[0], fc->box[1], fc->box[2],
                       fc->box[3], fc->prob);
                for (int k = 0; k < 5; k++) printf("\t%.6f\t%.6f", fc->lm[k], fc->lm[k + 5]);
                printf("\n");
            } else {
                printf("%s  face %d/%d  box %.4f %.4f %.4f %.4f  prob %.8f  landmarks", path, i + 1, nf, fc->box[0],
                       fc->box[1], fc->box[2], fc->box[3], fc->prob);
                for (int k = 0; k < 5; k++) printf(" %.3f,%.3f", fc->lm[k], fc->lm[k + 5]);
                printf("\n");
            }
            if (crops) {
                char s[1024], out[4096];
                stem(s, sizeof s, path);
                snprintf(out, sizeof out, "%s/%s_%d.png", crops, s, i + 1);
                int rc = hy_mtcnn_crop_face(crop, 160, rgb, w, h, fc->box, 0, NULL);
                if (rc == HY_EVALUE) {
                    fprintf(stderr, "hyper detect: %s face %d: %s; no crop written\n", path, i + 1, hy_errmsg());
                    continue;
                }
                if (rc || hy_png_write_rgb8(out, 160, 160, crop)) {
                    status = cli_fail("detect");
                    break;
                }
            }
        }
        fflush(stdout);
        free(f);
        free(rgb);
    }
    hy_mtcnn_free(&m);
    return status;
}
