// main.c - the `hyper` command-line tool: dispatches to subcommands (src/cli/<name>.c).
// This is the only place that exits the process. Around every command it
//   - records the files and directories the command writes (the output journal, common.h) and
//     removes them again when the command fails, so a failed run leaves none of its output;
//   - checks that everything printed reached standard output (a full disk, /dev/full, a closed
//     pipe's EPIPE): if not, the command fails with one line and exit status 1.
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>  // __fpending
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
    {"embed", cmd_embed, "face images -> identity embeddings (.npy): FaceNet or face-api's descriptor"},
    {"distance", cmd_distance, "L2 distance between the embeddings of two faces (FaceNet or face-api)"},
    {"attributes", cmd_attributes, "age and gender of faces (face-api's age/gender network) -> CSV"},
    {"detect", cmd_detect, "MTCNN face detection: boxes, probabilities, landmarks, 160x160 crops"},

    // -- data, simulator, decoders
    {"simulate", cmd_simulate, "synthetic HYPER-design fMRI dataset with a known encoding model"},
    {"glm", cmd_glm, "first-level GLM: BOLD runs + events -> per-condition effect/variance/t/z maps"},
    {"extract", cmd_extract, "NIfTI response maps + mask -> dataset (top-k voxels on training data)"},
    {"train", cmd_train, "fit a decoder (linear, ridge, lasso, elasticnet, ols, mlp) on a dataset"},
    {"predict", cmd_predict, "apply a decoder to a dataset split -> predicted latents .npy"},
    {"score", cmd_score, "latent-level metrics of predicted vs true latents"},
    {"export", cmd_export, "decoder file -> .npz (weight, bias, z-score stats) for numpy"},
    {"import", cmd_import, ".npz weights (e.g. scikit-learn coef_/intercept_) -> decoder file"},

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
               "environment: HY_THREADS (default: the CPUs this process may use),\n"
               "  HY_PROGRESS=1|0 (progress line as on a terminal | none), HY_PROGRESS_EVERY=S (seconds between\n"
               "  logged progress lines when stderr is not a terminal; default 10),\n"
               "  HY_ISA=avx512|avx2|generic picks the CPU kernels (default: the best this CPU runs; see --version),\n"
               "  HY_CONV3X3=0 / HY_SGEMM=0 replace the own kernels (generator convs / FaceNet products)\n"
               "  by the generic im2col + OpenBLAS path, HY_WINOGRAD=0 runs FaceNet's 3x3, 1x7 and 7x1 convs\n"
               "  by im2col\n");
}

// Exit status `rc` of `what`, turned into 1 when standard output could not be written: an
// earlier write failed, or the final flush does. A closed stdout (>&-) is only an error when
// something was to be written to it (the rule of gnulib's close_stdout).
static int check_stdout(const char *what, int rc) {
    const int pending = __fpending(stdout) != 0, failed_before = ferror(stdout) != 0;
    errno = 0;
    const int close_failed = fclose(stdout) != 0;
    const int e = errno ? errno : EIO;
    if (!failed_before && !(close_failed && (pending || e != EBADF))) return rc;
    fprintf(stderr, "%s: cannot write to standard output: %s\n", what, strerror(e));
    return rc ? rc : 1;
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
        return check_stdout("hyper", 0);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s\n", cli_version());
        return check_stdout("hyper", 0);
    }
    for (const command *c = COMMANDS; c->name; c++)
        if (!strcmp(c->name, argv[1])) {
            char what[64];
            snprintf(what, sizeof what, "hyper %s", c->name);
            hy_out_journal_start();
            int rc = check_stdout(what, c->fn(argc - 1, argv + 1));
            if (rc) hy_out_journal_rollback();
            else hy_out_journal_stop();
            return rc;
        }
    fprintf(stderr, "hyper: unknown command '%s' (try hyper --help)\n", argv[1]);
    return 2;
}
