// main.c - the `hyper` command-line tool: dispatches to subcommands (src/cli/<name>.c).
// This is the only place that exits the process.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/common.h"
#include "nn/cpu.h"  // hy_isa_init: HY_ISA

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
    {"embed", cmd_embed, "face images -> FaceNet 512-d embeddings (.npy)"},
    {"distance", cmd_distance, "L2 distance between the FaceNet embeddings of two faces"},
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
               "  HY_ISA=avx512|avx2|generic picks the CPU kernels (default: the best this CPU runs; see --version),\n"
               "  HY_CONV3X3=0 / HY_SGEMM=0 replace the own kernels (generator convs / FaceNet products)\n"
               "  by the generic im2col + OpenBLAS path\n");
}

int main(int argc, char **argv) {
    // Idle OpenMP and OpenBLAS threads must sleep, not spin (threads.h): both runtimes read that
    // from the environment when the process starts, so set it and start again (once), from the
    // binary's own path (valgrind answers readlink with its client's path, but would exec its own
    // tool for "/proc/self/exe"; without --trace-children the new process runs outside valgrind:
    // set OMP_WAIT_POLICY and OPENBLAS_THREAD_TIMEOUT to skip this step).
    char self[4096];
    ssize_t len;
    if (hy_threads_quiet_env() && !getenv("HY_REEXEC") && (len = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
        self[len] = 0;
        setenv("HY_REEXEC", "1", 1);
        execv(self, argv);  // on failure, carry on with spinning threads
    }
    unsetenv("HY_REEXEC");  // commands started from here (tests, scripts) decide for themselves
    if (hy_isa_init() != HY_OK) {
        fprintf(stderr, "hyper: %s\n", hy_errmsg());
        return 2;
    }
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
