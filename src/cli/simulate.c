// simulate.c - `hyper simulate`: write a synthetic HYPER-design dataset with ground truth.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "models/pggan.h"
#include "study/simulate.h"
#include "study/simulate_bold.h"

static const char ABOUT[] =
    "Writes a dataset (DIR/{train,test}_{fmri,latents}.npy) from a known encoding model, plus\n"
    "the ground truth in DIR/truth/ (encoding.npy (V,D), strong_dirs.npy (k,D),\n"
    "train_clean.npy / test_clean.npy noise-free responses, boundaries/strong_XX.npy unit\n"
    "directions usable with `hyper score --boundaries`, params.txt).\n\n"
    "Model: z ~ N(0, I_D); voxel v responds r_v(z) + noise; noise is Gaussian with variance\n"
    "1/snr per trial, blurred on the voxel grid (3-D, near-cube). The encoding r_v:\n"
    "  linear  f(a_v . z), a_v = unit-norm rows of M (g_weak I + (g_strong - g_weak) U^T U) for\n"
    "          k random orthonormal directions U, f = --nonlinearity (default: none)\n"
    "  mlp     a random two-layer network of the latent: B_v . relu(W1 z + b1), --enc-hidden units\n"
    "          (W1's rows as a_v above, b1 ~ N(0, 1); B Gaussian with unit-norm rows)\n"
    "  gabor   the brain codes image features: each latent's face is rendered (-g G.bin),\n"
    "          its luminance at --gabor-size pixels filtered by quadrature Gabor pairs\n"
    "          (8 orientations, wavelengths size/16, /8, /4), energies on an 8 x 8 grid,\n"
    "          pooled by each voxel's Gaussian receptive field and positive band tuning\n"
    "Every tuned voxel's response has unit signal variance. The encodings share every other\n"
    "random draw (latents, directions, tuned voxels, noise) for a seed.\n"
    "truth/ also holds mlp_w1/mlp_b1/mlp_readout.npy or gabor_rf/gabor_tuning.npy.\n\n"
    "With --bold, writes instead a BIDS-like raw dataset in the HYPER design (9 runs of TR 1.5 s,\n"
    "the test faces repeated in runs 1-3, the training faces once in runs 4-9, 1.5 s events 9-13.5 s\n"
    "apart): the same encoding model's noise-free responses (in percent signal change, --amp per\n"
    "unit) convolved with a per-voxel haemodynamic response, plus AR(1) noise, slow drifts and\n"
    "motion-like confounds; DIR/sub-01/func/*_bold.nii.gz and *_events.tsv, DIR/derivatives/sim/\n"
    "(confounds, brain mask), DIR/split.tsv and DIR/truth/ (latents, true responses). Then:\n"
    "  hyper glm --bids DIR --sub 01 --task faces --derivatives DIR/derivatives/sim -o DIR/glm\n"
    "  hyper extract --glm DIR/glm --split DIR/split.tsv --train-latents DIR/truth/train_latents.npy\n"
    "                --test-latents DIR/truth/test_latents.npy --select-top 1000 -o DIR/data";

int cmd_simulate(int argc, char **argv) {
    simb_params b;
    hy_simb_default(&b);
    sim_params p = b.enc;
    int bold = 0;
    const char *out = NULL, *gpath = NULL;
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
         .choices = "none|relu|tanh|softplus", .help = "none | relu | tanh | softplus applied to a_v . z (linear)",
         .flags = OPT_DEF},
        {.name = "encoding", .type = OPT_T_CHOICE, .dest = &p.encoding, .metavar = "E", .choices = "linear|mlp|gabor",
         .help = "how voxels respond to the latent (see above)", .flags = OPT_DEF},
        OPT_INT_D("enc-hidden", 0, &p.enc_hidden, "H", "hidden units of the mlp encoding", 1, 100000),
        OPT_INT_D("gabor-size", 0, &p.gabor_size, "S", "gabor: analysis resolution in pixels (a power of two >= 16;\n"
                  "at most the generator's)", 16, 1024),
        OPT_STR("generator", 'g', &gpath, "G.bin", "PGGAN generator that renders the faces (gabor)", 0),
        OPT_SECTION("BOLD-level simulation (--bold; --snr and --noise-smooth are not used)"),
        OPT_FLAG("bold", 0, &bold, "write BOLD runs + events (BIDS-like) instead of response matrices"),
        OPT_INT_D("runs", 0, &b.n_runs, "R", "runs", 2, 100),
        OPT_INT_D("test-runs", 0, &b.test_runs, "R", "runs holding the test repeats (the first ones)", 1, 99),
        OPT_DOUBLE_D("tr", 0, &b.tr, "S", "repetition time (s)", 0, 100, OPT_GT),
        OPT_DOUBLE_D("event", 0, &b.event_s, "S", "event duration (s)", 0, 100, 0),
        OPT_DOUBLE_D("isi-min", 0, &b.isi_min, "S", "shortest onset-to-onset interval (s)", 0, 1000, OPT_GT),
        OPT_DOUBLE_D("isi-max", 0, &b.isi_max, "S", "longest onset-to-onset interval (s)", 0, 1000, OPT_GT),
        OPT_DOUBLE_D("amp", 0, &b.amp, "P", "response in percent signal change per unit of the encoding response", 0,
                     1e4, 0),
        OPT_DOUBLE_D("noise", 0, &b.noise, "P", "sd of the AR(1) noise, percent", 0, 1e4, 0),
        OPT_DOUBLE_D("ar-min", 0, &b.ar_min, "R", "smallest AR(1) coefficient", -1, 1, OPT_GT | OPT_LT),
        OPT_DOUBLE_D("ar-max", 0, &b.ar_max, "R", "largest AR(1) coefficient", -1, 1, OPT_GT | OPT_LT),
        OPT_DOUBLE_D("drift", 0, &b.drift, "P", "slow drift sd, percent", 0, 1e4, 0),
        OPT_DOUBLE_D("motion", 0, &b.motion, "P", "motion confound weight sd, percent per unit", 0, 1e4, 0),
        OPT_DOUBLE_D("hrf-jitter", 0, &b.hrf_jitter, "S", "sd of the per-voxel HRF peak delay (s)", 0, 10, 0),
        OPT_INT_D("hrf-shapes", 0, &b.n_hrf, "K", "distinct response shapes over the voxels", 1, 1000),
        OPT_END,
    };
    const cli_command cmd = {"simulate", "-o DIR [options]   (or --bold -o DIR [options])", ABOUT, table, NULL, 0, 0,
                             NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (p.encoding == SIM_ENC_GABOR && !gpath)
        return cli_usage_error(&cmd, "--encoding gabor renders faces: give the generator (-g G.bin)");
    if (p.encoding != SIM_ENC_GABOR && gpath) return cli_usage_error(&cmd, "-g/--generator is for --encoding gabor");
    if (p.encoding != SIM_ENC_LINEAR && p.nonlin != SIM_NONE)
        return cli_usage_error(&cmd, "--nonlinearity applies to --encoding linear only");
    if (p.gabor_size & (p.gabor_size - 1)) return cli_usage_error(&cmd, "--gabor-size %d is not a power of two", p.gabor_size);
    pggan gen;
    if (gpath) {
        if (hy_pggan_load(&gen, gpath)) return cli_fail("simulate");
        p.gen = &gen;
    }
    if (bold) {
        b.enc = p;
        int nvol, rc = hy_simb_run(&b, out, &nvol);
        if (gpath) hy_pggan_free(&gen);
        if (rc) return cli_fail("simulate");
        if (!hy_quiet())
            fprintf(stderr, "simulate: wrote %s (BOLD: %d runs, %d volumes of %g s, %d voxels; %d training and %d test "
                            "stimuli x %d; seed %llu)\n", out, b.n_runs, nvol, b.tr, p.n_voxels, p.n_train, p.n_test,
                    p.test_reps, (unsigned long long)p.seed);
        return 0;
    }
    sim_data s;
    int rc = hy_sim_run(&p, &s);
    if (gpath) hy_pggan_free(&gen);
    if (rc) return cli_fail("simulate");
    rc = hy_sim_save(&p, &s, out);
    if (!rc && !hy_quiet())
        fprintf(stderr, "simulate: wrote %s (train %d x %d, test %d x %d averaged over %d reps, latent %d, seed %llu)\n",
                out, s.n_train, s.v, s.n_test, s.v, p.test_reps, s.d, (unsigned long long)p.seed);
    hy_sim_free(&s);
    return rc ? cli_fail("simulate") : 0;
}
