// main.c - the `hyper` command-line tool: dispatches to subcommands (src/cli/<name>.c).
// This is the only place that exits the process.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command COMMANDS[] = {
    // -- weight files and the generator
    {"info", cmd_info, "print a weight file's header and tensor table, verify checksums"},
    {"generate", cmd_generate, "latents -> face images with the PGGAN generator"},

    // -- face models
    {"embed", cmd_embed, "face images -> identity embeddings (.npy): FaceNet or face-api's descriptor"},
    {"distance", cmd_distance, "L2 distance between the embeddings of two faces (FaceNet or face-api)"},
    {"attributes", cmd_attributes, "age and gender of faces (face-api's age/gender network) -> CSV"},
    {"detect", cmd_detect, "MTCNN face detection: boxes, probabilities, landmarks, 160x160 crops"},

    // -- data, simulator, decoders
    {"simulate", cmd_simulate, "synthetic HYPER-design fMRI dataset with a known encoding model"},
    {"extract", cmd_extract, "NIfTI response maps + mask -> dataset (top-k voxels on training data)"},
    {"train", cmd_train, "fit a decoder (linear, ridge, lasso, elasticnet, ols, mlp) on a dataset"},
    {"predict", cmd_predict, "apply a decoder to a dataset split -> predicted latents .npy"},
    {"score", cmd_score, "latent-level metrics of predicted vs true latents"},

    // -- the study
    {"reconstruct", cmd_reconstruct, "decoder + fMRI -> predicted latents -> face images (+ ground truth)"},
    {"evaluate", cmd_evaluate, "FaceNet distance, baselines, null, identification, pixel r + comparison picture"},
    {"sweep", cmd_sweep, "the study: train/evaluate a grid of decoders, rank them, chart (resumable, shardable)"},
    {"report", cmd_report, "merge sweep shards: ranked results.csv/results.md and chart"},

    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f,
            "hyper - reconstruct perceived faces from fMRI through the PGGAN latent space\n\n"
            "usage: hyper <command> [options]    (hyper <command> --help for details)\n\n"
            "commands:\n");
    for (const command *c = COMMANDS; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\ncommon options of every command: --threads T, -q/--quiet, --version, -h/--help, --opt=value\n"
               "environment: HY_THREADS (default: the CPUs this process may use), HY_PROGRESS=1 forces progress output,\n"
               "  HY_CONV3X3=0 / HY_SGEMM=0 replace the AVX-512 kernels (generator convs / FaceNet products)\n"
               "  by the generic im2col + OpenBLAS path\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s\n", cli_version());
        return 0;
    }
    for (const command *c = COMMANDS; c->name; c++)
        if (!strcmp(c->name, argv[1])) return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "hyper: unknown command '%s' (try hyper --help)\n", argv[1]);
    return 2;
}
