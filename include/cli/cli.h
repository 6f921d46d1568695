// cli.h - the subcommands of the `hyper` binary. Each lives in src/cli/<name>.c, declares its
// options as a table for the one parser (include/cli/opts.h), and returns a process exit status
// (0 ok, 1 error, 2 usage). Only src/cli/main.c exits; a new command is one file here plus one
// line in main.c's table.
#ifndef HY_CLI_H
#define HY_CLI_H

#include "cli/opts.h"

// -- weight files and the generator
int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);

// -- face models
int cmd_embed(int argc, char **argv);
int cmd_distance(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_attributes(int argc, char **argv);

// -- data, simulator, decoders
int cmd_simulate(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_glm(int argc, char **argv);

// -- the study
int cmd_reconstruct(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);

// Prints the library error (hy_errmsg) as "hyper <cmd>: <msg>" and returns 1.
int cli_fail(const char *cmd);

// OPT_FN parsers of --crop MODE and --on-no-face P (store the checked string).
int cli_opt_crop(void *dest, const char *v);
int cli_opt_noface(void *dest, const char *v);

// --- option rows shared by the commands that crop and embed faces -----------------------
// (embed, distance, evaluate, sweep): the same spelling, metavariable and help everywhere.
#define CLI_HELP_CROP                                                                             \
    "which part of each image the face model sees (default mtcnn):\n"                           \
    "  mtcnn            the largest face MTCNN detects; each model cuts its own box:\n"          \
    "                   FaceNet facenet-pytorch's extract_face (margin 0), face-api's\n"         \
    "                   descriptor the dlib face chip from the 5 landmarks, face-api's\n"        \
    "                   age/gender the detector box (include/models/facecrop.h)\n"               \
    "  full             the whole image\n"                                                        \
    "  box:x1,y1,x2,y2  a fixed pixel box, x1 <= x < x2, y1 <= y < y2"
#define CLI_OPTS_FACE_CROP(mtcnn, crop, noface)                                                   \
    OPT_STR("mtcnn", 'm', mtcnn, "M.bin",                                                         \
            "MTCNN weights for --crop mtcnn (default weights/mtcnn.bin; when neither\n"           \
            "exists, a warning is printed and the whole image is used)", 0),                     \
    OPT_FN("crop", 0, cli_opt_crop, crop, "MODE", CLI_HELP_CROP),                                \
    OPT_FN("on-no-face", 0, cli_opt_noface, noface, "P",                                          \
           "when MTCNN finds no face: fallback-full (default: warn, use the whole\n"              \
           "image) | skip (warn; the item gets NaN) | error (stop)"),                            \
    OPT_ALIAS("detect", 0, "mtcnn")
// -e/--embedder (repeatable: several identity models) and -a/--attributes, the rows of
// evaluate and sweep.
#define CLI_OPTS_IDENTITY_MODELS(list, attr)                                                          \
    OPT_LIST("embedder", 'e', list, "[NAME=]F.bin",                                                   \
             "identity model (FaceNet, or face-api's descriptor from make weights); repeat\n"         \
             "for several, e.g. -e facenet=F.bin -e faceapi=weights/faceapi_recognition.bin:\n"      \
             "each gets its own distances; the first ranks (required)"),                               \
        OPT_STR("attributes", 'a', attr, "A.bin",                                                     \
                "face-api's age/gender model (make weights): age and gender agreement\n"             \
                "of truth and reconstruction", 0)
// --scale S: PNG figures (charts, curves, comparison pictures) at S pixels per unit.
#define CLI_OPT_SCALE(dst)                                                                        \
    OPT_INT("scale", 0, dst, "S",                                                                 \
            "PNG figures at S x their size (1..8, default 1; 2 = 192 dpi for print);\n"           \
            "the SVG files are vector graphics either way", 1, 8)
#define CLI_OPT_FACE_BATCH(dst) OPT_INT("face-batch", 0, dst, "B", "images per face-model forward pass (default 16)", 1, 1024)

#endif
