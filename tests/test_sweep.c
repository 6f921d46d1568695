// test_sweep.c - the grid of `hyper sweep` (include/study/sweep.h): model specs and the run names
// they make, bad specs, seeds; and end to end on the tiny models: epoch snapshots are byte for
// byte the runs a sweep of that epoch count alone writes, loss curves are written, and --seeds
// repeats each configuration under names that differ only by _s<seed>.
#include <math.h>

#include "base/common.h"
#include "study/sweep.h"
#include "testutil.h"

#define GEN "tests/fixtures/pggan_tiny.bin"
#define NET "tests/fixtures/facenet_tiny.bin"

START_TEST(specs_and_names) {
    sweep_model m;
    ck_assert_msg(hy_sweep_parse_spec("mlp:hidden=1024:act=tanh:dropout=0.2", 0, &m) == 0, "%s", hy_errmsg());
    ck_assert_str_eq(m.name, "mlp-h1024-tanh-do0.2");
    ck_assert(m.kind == DEC_MLP && m.n_hidden == 1 && m.hidden[0] == 1024 && m.act == DEC_ACT_TANH && m.dropout == 0.2);
    ck_assert(isnan(m.wd) && isnan(m.lr) && isnan(m.slope));
    ck_assert_int_eq(hy_sweep_parse_spec("mlp:hidden=2048x512:act=leaky:slope=0.2:wd=0", 0, &m), 0);
    ck_assert_str_eq(m.name, "mlp-h2048x512-leaky-ls0.2-wd0");
    ck_assert(m.n_hidden == 2 && m.hidden[1] == 512 && m.slope == 0.2 && m.wd == 0);
    ck_assert_int_eq(hy_sweep_parse_spec("linear-nobias:lr=1e-4", 0, &m), 0);
    ck_assert_str_eq(m.name, "linear-nobias-lr0.0001");
    ck_assert_int_eq(hy_sweep_parse_spec("ridge", 1, &m), 0);
    ck_assert(m.kind == DEC_RIDGE && !strcmp(m.name, "ridge"));
    // the settings reach the training options; unset ones keep the recipe's defaults
    sweep_opts o;
    hy_sweep_defaults(&o);
    dec_opts d;
    ck_assert_int_eq(hy_sweep_parse_spec("mlp:hidden=64x32:act=elu:dropout=0.5", 0, &m), 0);
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.kind == DEC_MLP && d.n_hidden == 2 && d.hidden[0] == 64 && d.hidden[1] == 32 && d.act == DEC_ACT_ELU);
    ck_assert(d.dropout == 0.5 && d.recipe == DEC_RECIPE_HYPER && d.lr == 1e-5 && d.weight_decay == 0.01);
    // the default grid: 5 iterative models x 4 epoch counts + 3 closed-form = 23 runs
    ck_assert_int_eq(o.n_models, 5);
    ck_assert_str_eq(o.models[4].name, "mlp-h512x512-sigmoid-do0.2");
    static sweep_run runs[SWEEP_MAX_RUNS];
    ck_assert_int_eq(hy_sweep_runs(&o, runs, SWEEP_MAX_RUNS), 23);
    ck_assert_str_eq(runs[0].name, "linear_700_30");
    ck_assert_str_eq(runs[7].name, "linear-nobias_1500_30");
    ck_assert_str_eq(runs[22].name, "lasso");
    ck_assert(runs[3].group == 0 && runs[4].group == 1 && runs[20].group == 5 && runs[22].group == 7);
}
END_TEST

static void bad_spec(const char *spec, int closed, const char *needle) {
    sweep_model m;
    ck_assert_msg(hy_sweep_parse_spec(spec, closed, &m) == HY_EARG, "'%s' accepted", spec);
    ck_assert_msg(strstr(hy_errmsg(), needle) && strstr(hy_errmsg(), spec), "'%s': message '%s' lacks '%s'", spec,
                  hy_errmsg(), needle);
}

START_TEST(bad_specs) {
    bad_spec("mlp:act=swish", 0, "unknown activation 'swish' (none|relu|tanh|leaky|sigmoid|elu|softplus)");
    bad_spec("bogus", 0, "unknown decoder model 'bogus' (linear, linear-nobias, ols");
    bad_spec("linear:hidden=10", 0, "hidden= is for mlp (linear has no hidden layers)");
    bad_spec("mlp:hidden=10x", 0, "hidden=10x is not widths like 1024 or 2048x512");
    bad_spec("mlp:hidden=0", 0, "hidden=0 is not widths");
    bad_spec("mlp:dropout=1.5", 0, "dropout=1.5 is not a number in [0, 0.99]");
    bad_spec("mlp:lr=fast", 0, "lr=fast is not a number");
    bad_spec("mlp:foo=1", 0, "unknown setting 'foo' (hidden, act, dropout, slope, wd, lr, loss, skip, kernel,");
    bad_spec("mlp:hidden", 0, "'hidden' is not key=value");
    bad_spec("ridge", 0, "ridge is closed-form, listed with the iterative models");
    bad_spec("linear", 1, "linear is iterative, listed with the closed-form models");
    bad_spec("ridge:gamma=2", 1, "gamma= does not apply to ridge");
    bad_spec("linear:skip=ridge", 0, "skip= is for mlp (linear has no hidden layers)");
    bad_spec("mlp:loss=huber", 0, "unknown loss 'huber' (l2, cosine)");
    bad_spec("kernel-ridge:kernel=sigmoid", 1, "unknown kernel 'sigmoid' (linear, rbf, poly)");
    bad_spec("kernel-ridge:gamma=-1", 1, "gamma=-1 is not a number in");
    bad_spec("kernel-ridge:degree=0", 1, "degree=0 is not a number in [1, 1000]");
    bad_spec("pls:components=0", 1, "components=0 is not a number in [1, 1e+06]");
    bad_spec("pls:components=2.5", 1, "components=2.5 is not an integer");
    sweep_opts o;
    hy_sweep_defaults(&o);
    ck_assert_int_eq(hy_sweep_parse_models(&o, "mlp:hidden=8,mlp:hidden=8", 0), HY_EARG);
    ck_assert_str_eq(hy_errmsg(), "models 'mlp:hidden=8' and 'mlp:hidden=8' have the same run name 'mlp-h8'");
    // on the command line: exit 2, one line, naming the option
    char *out;
    int rc = run_hyper(&out, "sweep -d x -g x -e x -o x --models linear,mlp:act=swish");
    ck_assert_msg(rc == 2 && strstr(out, "--models: model 'mlp:act=swish': unknown activation 'swish'") &&
                      strchr(out, '\n') == out + strlen(out) - 1, "%d: %s", rc, out);
    free(out);
    rc = run_hyper(&out, "sweep -d x -g x -e x -o x --seeds 1,2,1");
    ck_assert_msg(rc == 2 && strstr(out, "--seeds: 1 is listed twice"), "%d: %s", rc, out);
    free(out);
}
END_TEST

START_TEST(seeds_name_runs) {
    sweep_opts o;
    hy_sweep_defaults(&o);
    ck_assert_int_eq(hy_sweep_parse_models(&o, "linear", 0), 0);
    ck_assert_int_eq(hy_sweep_parse_models(&o, "ols", 1), 0);
    o.n_epochs = 2, o.epochs[0] = 5, o.epochs[1] = 9;
    o.n_seeds = 2, o.seeds[0] = 3, o.seeds[1] = 11;
    sweep_run runs[8];
    ck_assert_int_eq(hy_sweep_runs(&o, runs, 8), 5);
    const char *names[5] = {"linear_5_30_s3", "linear_9_30_s3", "linear_5_30_s11", "linear_9_30_s11", "ols"};
    const char *configs[5] = {"linear_5_30", "linear_9_30", "linear_5_30", "linear_9_30", "ols"};
    for (int k = 0; k < 5; k++) {
        ck_assert_str_eq(runs[k].name, names[k]);
        ck_assert_str_eq(runs[k].config, configs[k]);
    }
    ck_assert(runs[0].seed == 3 && runs[3].seed == 11 && runs[4].seed == 0);
    ck_assert(runs[1].group == 0 && runs[2].group == 1 && runs[4].group == 2);
    // epoch lists are sorted and de-duplicated
    o.n_epochs = 4, o.epochs[0] = 9, o.epochs[1] = 5, o.epochs[2] = 9, o.epochs[3] = 1;
    hy_sweep_sort_epochs(&o);
    ck_assert(o.n_epochs == 3 && o.epochs[0] == 1 && o.epochs[1] == 5 && o.epochs[2] == 9);
}
END_TEST

static int same_file(const char *a, const char *b) {
    char cmd[2100];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static void sweep(const char *data, const char *out, const char *extra) {
    char *msg;
    int rc = run_hyper(&msg, "sweep -d %s -g " GEN " -e " NET " -o %s --closed '' --null 4 --crop full --threads 1 %s",
                       data, out, extra);
    ck_assert_msg(rc == 0, "sweep %s: %s", extra, msg);
    free(msg);
}

// One training to 5 epochs writes the 2-epoch runs exactly as a sweep of 2 epochs alone does.
START_TEST(snapshots_equal_separate_runs) {
    char *d = test_tmpdir(), *msg, data[300], a[300], b[300], p[700], q[700];
    snprintf(data, sizeof data, "%s/data", d);
    int rc = run_hyper(&msg, "simulate -o %s --train 70 --test 6 --voxels 64 --seed 2", data);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    snprintf(a, sizeof a, "%s/a", d);
    snprintf(b, sizeof b, "%s/b", d);
    const char *models = "--models linear,mlp:hidden=8:act=tanh:dropout=0.1 --lr 1e-3";
    char extra[300];
    snprintf(extra, sizeof extra, "%s --epochs 5,2", models);
    sweep(data, a, extra);
    snprintf(extra, sizeof extra, "%s --epochs 2", models);
    sweep(data, b, extra);
    const char *runs[2] = {"linear_2_30", "mlp-h8-tanh-do0.1_2_30"};
    const char *files[6] = {"pred.npy", "metrics.csv", "decoder.bin", "run.csv", "curve.csv", "summary.csv"};
    for (int r = 0; r < 2; r++)
        for (int f = 0; f < 6; f++) {
            snprintf(p, sizeof p, "%s/runs/%s/%s", a, runs[r], files[f]);
            snprintf(q, sizeof q, "%s/runs/%s/%s", b, runs[r], files[f]);
            ck_assert_msg(file_exists(p) && same_file(p, q), "%s differs from %s", p, q);
        }
    // the 5-epoch run's curve continues the 2-epoch one, and has its pictures
    snprintf(p, sizeof p, "%s/runs/linear_5_30/curve.csv", a);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int rows = 0;
    while (fgets(line, sizeof line, f)) rows++;
    fclose(f);
    ck_assert_int_eq(rows, 6);
    snprintf(p, sizeof p, "head -3 %s/runs/linear_5_30/curve.csv | cmp -s - %s/runs/linear_2_30/curve.csv", a, b);
    ck_assert_int_eq(system(p), 0);
    const char *pics[2] = {"curve.png", "curve.svg"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/runs/linear_5_30/%s", a, pics[k]);
        ck_assert_msg(file_exists(p), "%s missing", p);
    }
    // the 5-epoch run differs (training went on)
    snprintf(p, sizeof p, "%s/runs/linear_5_30/pred.npy", a);
    snprintf(q, sizeof q, "%s/runs/linear_2_30/pred.npy", a);
    ck_assert(!same_file(p, q));
}
END_TEST

// --seeds repeats a configuration; the run of seed s is the run of a sweep with --seed s.
START_TEST(seeds_repeat_configurations) {
    char *d = test_tmpdir(), *msg, data[300], a[300], b[300], p[700], q[700];
    snprintf(data, sizeof data, "%s/data", d);
    int rc = run_hyper(&msg, "simulate -o %s --train 70 --test 6 --voxels 64 --seed 2", data);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    snprintf(a, sizeof a, "%s/a", d);
    snprintf(b, sizeof b, "%s/b", d);
    sweep(data, a, "--models linear --epochs 2 --seeds 3,4 --lr 1e-3");
    sweep(data, b, "--models linear --epochs 2 --seed 4 --lr 1e-3");
    snprintf(p, sizeof p, "%s/runs/linear_2_30_s4/pred.npy", a);
    snprintf(q, sizeof q, "%s/runs/linear_2_30/pred.npy", b);
    ck_assert_msg(same_file(p, q), "seed 4 of --seeds differs from --seed 4");
    snprintf(q, sizeof q, "%s/runs/linear_2_30_s3/pred.npy", a);
    ck_assert_msg(file_exists(q) && !same_file(p, q), "seeds 3 and 4 gave the same predictions");
    // run.csv records the seed and the configuration; the report groups the two seeds
    snprintf(p, sizeof p, "%s/runs/linear_2_30_s3/run.csv", a);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char header[1024], line[1024];
    ck_assert(fgets(header, sizeof header, f) && fgets(line, sizeof line, f));
    fclose(f);
    run_summary r;
    ck_assert_msg(hy_report_parse_csv(p, header, line, &r) == 0, "%s", hy_errmsg());
    ck_assert(r.seed == 3 && !strcmp(r.config, "linear_2_30") && !strcmp(r.name, "linear_2_30_s3"));
    snprintf(p, sizeof p, "%s/results.csv", a);
    f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    int found = 0;
    while (fgets(line, sizeof line, f)) found |= strstr(line, ",linear_2_30,linear,2,30,2,") != NULL;  // n_seeds 2
    fclose(f);
    ck_assert_msg(found, "results.csv lacks the configuration over 2 seeds");
}
END_TEST

static Suite *sweep_suite(void) {
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("grid");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, specs_and_names);
    tcase_add_test(tc, bad_specs);
    tcase_add_test(tc, seeds_name_runs);
    tcase_add_test(tc, snapshots_equal_separate_runs);
    tcase_add_test(tc, seeds_repeat_configurations);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(sweep_suite)
