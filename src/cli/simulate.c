// cmd_simulate.c - `hyper simulate`: write a synthetic HYPER-design dataset with ground truth.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "study/simulate.h"

static void help(FILE *f) {
    sim_params p;
    hy_sim_default(&p);
    fprintf(f,
            "usage: hyper simulate -o DIR [options]\n\n"
            "Writes a dataset (DIR/{train,test}_{fmri,latents}.npy) from a known encoding model, plus\n"
            "the ground truth in DIR/truth/ (encoding.npy (V,D), strong_dirs.npy (k,D),\n"
            "train_clean.npy / test_clean.npy noise-free responses, boundaries/strong_XX.npy unit\n"
            "directions usable with `hyper score --boundaries`, params.txt).\n\n"
            "Model: z ~ N(0, I_D); voxel v responds f(a_v . z) + noise, a_v = unit-norm rows of\n"
            "M (g_weak I + (g_strong - g_weak) U^T U) for k random orthonormal directions U; noise is\n"
            "Gaussian with variance 1/snr per trial, blurred on the voxel grid (3-D, near-cube).\n\n"
            "options (default):\n"
            "  -o, --out DIR          output directory (required)\n"
            "  --seed S               random seed (%llu)\n"
            "  --train N              training stimuli, each seen once (%d)\n"
            "  --test N               test stimuli (%d)\n"
            "  --reps R               test repetitions averaged (%d)\n"
            "  --voxels V             voxels (%d)\n"
            "  --latent-dim D         latent width (%d)\n"
            "  --strong K             strongly encoded latent directions (%d)\n"
            "  --gain-strong G        relative encoding gain of those directions (%g)\n"
            "  --gain-weak G          gain of all other directions (%g)\n"
            "  --informative F        fraction of voxels that are tuned at all (%g)\n"
            "  --snr S                single-trial signal/noise variance ratio of tuned voxels (%g)\n"
            "  --noise-smooth SIGMA   spatial noise correlation: Gaussian sigma in voxels, 0 = none (%g)\n"
            "  --nonlinearity F       none | relu | tanh | softplus applied to a_v . z (%s)\n",
            (unsigned long long)p.seed, p.n_train, p.n_test, p.test_reps, p.n_voxels, p.latent_dim, p.n_strong,
            p.gain_strong, p.gain_weak, p.informative, p.snr, p.noise_smooth, hy_sim_nonlin_name(p.nonlin));
}

int cmd_simulate(int argc, char **argv) {
    sim_params p;
    hy_sim_default(&p);
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "hyper simulate: %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--seed")) { rc = cli_int(a, v, 0, 2147483647L, &l); p.seed = (uint64_t)l; }
        else if (!strcmp(a, "--train")) { rc = cli_int(a, v, 2, 10000000, &l); p.n_train = (int)l; }
        else if (!strcmp(a, "--test")) { rc = cli_int(a, v, 2, 10000000, &l); p.n_test = (int)l; }
        else if (!strcmp(a, "--reps")) { rc = cli_int(a, v, 1, 100000, &l); p.test_reps = (int)l; }
        else if (!strcmp(a, "--voxels")) { rc = cli_int(a, v, 1, 10000000, &l); p.n_voxels = (int)l; }
        else if (!strcmp(a, "--latent-dim")) { rc = cli_int(a, v, 1, 100000, &l); p.latent_dim = (int)l; }
        else if (!strcmp(a, "--strong")) { rc = cli_int(a, v, 0, 100000, &l); p.n_strong = (int)l; }
        else if (!strcmp(a, "--gain-strong")) rc = cli_double(a, v, &p.gain_strong);
        else if (!strcmp(a, "--gain-weak")) rc = cli_double(a, v, &p.gain_weak);
        else if (!strcmp(a, "--informative")) rc = cli_double(a, v, &p.informative);
        else if (!strcmp(a, "--snr")) rc = cli_double(a, v, &p.snr);
        else if (!strcmp(a, "--noise-smooth")) rc = cli_double(a, v, &p.noise_smooth);
        else if (!strcmp(a, "--nonlinearity")) {
            int found = -1;
            for (int k = 0; k < 4; k++)
                if (!strcmp(v, hy_sim_nonlin_name(k))) found = k;
            if (found < 0) rc = hy_err(HY_EARG, "--nonlinearity: '%s' is not none|relu|tanh|softplus", v);
            else p.nonlin = found;
        } else {
            fprintf(stderr, "hyper simulate: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) {
            fprintf(stderr, "hyper simulate: %s\n", hy_errmsg());
            return 2;
        }
        i++;
    }
    if (!out) {
        fprintf(stderr, "hyper simulate: -o DIR is required (see --help)\n");
        return 2;
    }
    sim_data s;
    if (hy_sim_run(&p, &s)) return cli_fail("simulate");
    int rc = hy_sim_save(&p, &s, out);
    if (!rc)
        fprintf(stderr, "simulate: wrote %s (train %d x %d, test %d x %d averaged over %d reps, latent %d, seed %llu)\n",
                out, s.n_train, s.v, s.n_test, s.v, p.test_reps, s.d, (unsigned long long)p.seed);
    hy_sim_free(&s);
    return rc ? cli_fail("simulate") : 0;
}
