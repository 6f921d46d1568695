// simulate.c - `hyper simulate`: write a synthetic HYPER-design dataset with ground truth.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "study/simulate.h"

static const char ABOUT[] =
    "Writes a dataset (DIR/{train,test}_{fmri,latents}.npy) from a known encoding model, plus\n"
    "the ground truth in DIR/truth/ (encoding.npy (V,D), strong_dirs.npy (k,D),\n"
    "train_clean.npy / test_clean.npy noise-free responses, boundaries/strong_XX.npy unit\n"
    "directions usable with `hyper score --boundaries`, params.txt).\n\n"
    "Model: z ~ N(0, I_D); voxel v responds f(a_v . z) + noise, a_v = unit-norm rows of\n"
    "M (g_weak I + (g_strong - g_weak) U^T U) for k random orthonormal directions U; noise is\n"
    "Gaussian with variance 1/snr per trial, blurred on the voxel grid (3-D, near-cube).";

int cmd_simulate(int argc, char **argv) {
    sim_params p;
    hy_sim_default(&p);
    const char *out = NULL;
    const opt table[] = {
        OPT_STR("out", 'o', &out, "DIR", "output directory", OPT_REQUIRED),
        {.name = "seed", .type = OPT_T_U64, .dest = &p.seed, .metavar = "S", .help = "random seed", .lo = 0,
         .hi = OPT_MAXINT, .flags = OPT_DEF},
        OPT_INT_D("train", 0, &p.n_train, "N", "training stimuli, each seen once", 2, 10000000),
        OPT_INT_D("test", 0, &p.n_test, "N", "test stimuli", 2, 10000000),
        OPT_INT_D("reps", 0, &p.test_reps, "R", "test repetitions averaged", 1, 100000),
        OPT_INT_D("voxels", 0, &p.n_voxels, "V", "voxels", 1, 10000000),
        OPT_INT_D("latent-dim", 0, &p.latent_dim, "D", "latent width", 1, 100000),
        OPT_INT_D("strong", 0, &p.n_strong, "K", "strongly encoded latent directions", 0, 100000),
        OPT_DOUBLE_D("gain-strong", 0, &p.gain_strong, "G", "relative encoding gain of those directions", 0, 1e6, 0),
        OPT_DOUBLE_D("gain-weak", 0, &p.gain_weak, "G", "gain of all other directions", 0, 1e6, 0),
        OPT_DOUBLE_D("informative", 0, &p.informative, "F", "fraction of voxels that are tuned at all", 0, 1, 0),
        OPT_DOUBLE_D("snr", 0, &p.snr, "S", "single-trial signal/noise variance ratio of tuned voxels", 0, 1e12,
                     OPT_GT),
        OPT_DOUBLE_D("noise-smooth", 0, &p.noise_smooth, "SIGMA",
                     "spatial noise correlation: Gaussian sigma in voxels, 0 = none", 0, 1000, 0),
        {.name = "nonlinearity", .type = OPT_T_CHOICE, .dest = &p.nonlin, .metavar = "F",
         .choices = "none|relu|tanh|softplus", .help = "none | relu | tanh | softplus applied to a_v . z",
         .flags = OPT_DEF},
        OPT_END,
    };
    const cli_command cmd = {"simulate", "-o DIR [options]", ABOUT, table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    sim_data s;
    if (hy_sim_run(&p, &s)) return cli_fail("simulate");
    int rc = hy_sim_save(&p, &s, out);
    if (!rc && !hy_quiet())
        fprintf(stderr, "simulate: wrote %s (train %d x %d, test %d x %d averaged over %d reps, latent %d, seed %llu)\n",
                out, s.n_train, s.v, s.n_test, s.v, p.test_reps, s.d, (unsigned long long)p.seed);
    hy_sim_free(&s);
    return rc ? cli_fail("simulate") : 0;
}
