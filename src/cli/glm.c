// glm.c - `hyper glm`: first-level GLM from BOLD runs and events to per-condition maps
// (the library call is hy_glm_run, include/glm/glm.h).
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "glm/bids.h"
#include "glm/glm.h"
#include "glm/hrf.h"

static const char ABOUT[] =
    "Fits a first-level GLM to each run exactly as nilearn 0.10.4's FirstLevelModel does and writes\n"
    "one effect / variance / t / z map per condition (trial_type: each stimulus its own condition),\n"
    "conditions seen in several runs combined by nilearn's fixed effects (test repeats need no\n"
    "separate averaging):\n"
    "  OUT/conditions.tsv                 index (volume), trial_type, n_runs, n_events\n"
    "  OUT/{effect,variance,t,z}.nii.gz   4-D float32, one volume per condition, the BOLD's grid\n"
    "  OUT/mask.nii.gz                    the voxels fitted\n"
    "  OUT/design_run-K.tsv / .png        each run's design matrix and a picture of it\n"
    "  OUT/summary.txt                    runs, volumes, voxels, regressors, condition numbers,\n"
    "                                     AR(1) histogram, seconds\n\n"
    "Runs come from repeated --bold/--events (and --confounds) in the same order, or from a BIDS\n"
    "folder (--bids DIR --sub S --task T; --derivatives D for fMRIPrep outputs, whose confounds and\n"
    "brain mask are then used). Design: frame times TR * (i + slice_time_ref); one regressor per\n"
    "condition convolved with the HRF at oversampling 50; modulation column used when present;\n"
    "confounds; cosine / polynomial / no drift; a constant. Data: voxels of --mask (else those with a\n"
    "non-zero mean over the first run), each scaled to percent signal change (psc). Noise: OLS, or\n"
    "AR(1) (Yule-Walker on the OLS residuals, 100 bins, one whitened fit per bin). Estimator: LSA\n"
    "(all trials in one model) or LSS (Mumford 2012: per trial its own regressor plus one for all\n"
    "other trials). Nothing is written unless every input is valid.";

static int opt_hrf(void *dest, const char *v) {
    hy_design_opts *d = dest;
    return hy_hrf_parse(v, &d->hrf_family, &d->hrf_basis);
}

int cmd_glm(int argc, char **argv) {
    hy_glm_opts o;
    hy_glm_defaults(&o);
    cli_list bold = {0}, events = {0}, conf = {0};
    const char *bids = NULL, *sub = NULL, *task = NULL, *deriv = NULL, *space = NULL;
    const opt table[] = {
        OPT_SECTION("runs"),
        OPT_LIST("bold", 0, &bold, "RUN.nii[.gz]", "a 4-D BOLD run (repeat per run)"),
        OPT_LIST("events", 0, &events, "RUN_events.tsv", "its events (onset, duration, trial_type[, modulation])"),
        OPT_LIST("confounds", 0, &conf, "RUN.tsv", "its confounds (numeric columns), for every run or none"),
        OPT_STR("bids", 0, &bids, "DIR", "take the runs from a BIDS dataset instead", 0),
        OPT_STR("sub", 0, &sub, "S", "BIDS subject label (01 or sub-01)", 0),
        OPT_STR("task", 0, &task, "T", "BIDS task label", 0),
        OPT_STR("derivatives", 0, &deriv, "D", "fMRIPrep folder: its desc-preproc BOLD, confounds and brain mask", 0),
        OPT_STR("space", 0, &space, "SPACE", "with --derivatives: the space-<SPACE> runs", 0),
        OPT_STR("mask", 0, &o.mask, "MASK.nii[.gz]", "3-D mask (default: voxels with a non-zero mean in run 1)", 0),
        OPT_STR("out", 'o', &o.out_dir, "OUT", "output folder", OPT_REQUIRED),
        OPT_SECTION("design"),
        OPT_DOUBLE("tr", 0, &o.tr, "S", "repetition time in seconds (default: the header's pixdim[4])", 0, 1e4, OPT_GT),
        OPT_DOUBLE_D("slice-time-ref", 0, &o.design.slice_time_ref, "F", "reference slice time as a fraction of TR", 0,
                     1, 0),
        OPT_FN("hrf", 0, opt_hrf, &o.design, "MODEL",
               "spm (default) | spm + derivative | spm + derivative + dispersion |\n"
               "glover | glover + derivative | glover + derivative + dispersion"),
        {.name = "drift", .type = OPT_T_CHOICE, .dest = &o.design.drift, .metavar = "D",
         .choices = "cosine|polynomial|none", .help = "cosine | polynomial | none", .flags = OPT_DEF},
        OPT_DOUBLE_D("high-pass", 0, &o.design.high_pass, "HZ", "cosine drift cut-off", 0, 1e3, 0),
        OPT_INT_D("drift-order", 0, &o.design.drift_order, "K", "polynomial drift order", 0, 20),
        OPT_DOUBLE_D("min-onset", 0, &o.design.min_onset, "S", "earliest onset (s, <= 0) relative to the first frame", -1e6,
                     0, 0),
        OPT_STR("trial-type-column", 0, &o.type_column, "NAME", "events column naming the condition (trial_type)", 0),
        OPT_STR("confounds-columns", 0, &o.confound_columns, "A,B,...", "use only these confound columns", 0),
        {.name = "confounds-fill", .type = OPT_T_CHOICE, .dest = &o.fill_mean, .metavar = "F", .choices = "none|mean",
         .help = "none: refuse n/a in confounds; mean: replace n/a by the column mean", .flags = OPT_DEF},
        OPT_SECTION("estimation"),
        {.name = "noise", .type = OPT_T_CHOICE, .dest = &o.noise, .metavar = "N", .choices = "ols|ar1",
         .help = "ols | ar1", .flags = OPT_DEF},
        OPT_INT_D("ar-bins", 0, &o.bins, "B", "AR(1) coefficient bins", 1, 100000),
        {.name = "estimator", .type = OPT_T_CHOICE, .dest = &o.estimator, .metavar = "E", .choices = "lsa|lss",
         .help = "lsa (one model per run) | lss (one model per trial)", .flags = OPT_DEF},
        {.name = "scaling", .type = OPT_T_CHOICE, .dest = &o.scaling, .metavar = "S", .choices = "psc|none",
         .help = "psc: percent of each voxel's mean | none", .flags = OPT_DEF},
        OPT_INT_D("gzip-level", 0, &o.gz_level, "L", "compression of the maps: 1 fast .. 9 small; 0 = plain .nii maps", 0, 9),
        OPT_END,
    };
    const cli_command cmd = {"glm",
                             "(--bold RUN.nii.gz --events RUN_events.tsv [--confounds RUN.tsv])... -o OUT [options]\n"
                             "       hyper glm --bids DIR --sub S --task T [--derivatives D --space SPACE] -o OUT [options]",
                             ABOUT, table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    static hy_bids_runs found;
    if (bids) {
        if (bold.n || events.n || conf.n) return cli_usage_error(&cmd, "--bids excludes --bold, --events and --confounds");
        if (!sub || !task) return cli_usage_error(&cmd, "--bids needs --sub and --task");
        if (space && !deriv) return cli_usage_error(&cmd, "--space needs --derivatives");
        if (hy_bids_find(bids, sub, task, deriv, space, &found)) return cli_fail("glm");
        o.n_runs = found.n_runs;
        for (int k = 0; k < found.n_runs; k++) {
            o.bold[k] = found.bold[k];
            o.events[k] = found.events[k];
            o.confounds[k] = found.confounds[k][0] ? found.confounds[k] : NULL;
        }
        if (!o.mask && found.mask[0]) o.mask = found.mask;
    } else {
        if (sub || task || deriv || space) return cli_usage_error(&cmd, "--sub, --task, --derivatives and --space need --bids");
        if (!bold.n) return cli_usage_error(&cmd, "give the runs with --bold/--events, or --bids DIR --sub S --task T");
        if (events.n != bold.n)
            return cli_usage_error(&cmd, "%d --bold but %d --events: give one events file per run, in the same order",
                                   bold.n, events.n);
        if (conf.n && conf.n != bold.n)
            return cli_usage_error(&cmd, "%d --bold but %d --confounds: give confounds for every run or for none", bold.n,
                                   conf.n);
        o.n_runs = bold.n;
        for (int k = 0; k < bold.n; k++) {
            o.bold[k] = bold.v[k];
            o.events[k] = events.v[k];
            o.confounds[k] = conf.n ? conf.v[k] : NULL;
        }
    }
    hy_glm_result r;
    if (hy_glm_run(&o, &r)) return cli_fail("glm");
    if (!hy_quiet())
        fprintf(stderr, "glm: %d runs, %d volumes, %lld voxels, %d conditions -> %s (read %.1f s, fit %.1f s, write %.1f s)\n",
                r.n_runs, r.total_volumes, (long long)r.n_vox, r.n_cond, o.out_dir, r.seconds_read, r.seconds_fit,
                r.seconds_write);
    return 0;
}
