// test_glm.c - the first-level GLM library (src/glm) against the float64 reference
// (convert/ref/glm_ref.py, itself checked against nilearn 0.10.4) and Nipy, through the fixtures
// written by convert/golden/golden_glm.py: tests/fixtures/glm_ref.bin and tests/fixtures/glm/.
#include <math.h>

#include "base/common.h"
#include "base/nifti.h"
#include "base/wfile.h"
#include "glm/design.h"
#include "glm/events.h"
#include "glm/fit.h"
#include "glm/glm.h"
#include "glm/hrf.h"
#include "glm/stats.h"
#include "testutil.h"

#define FIX "tests/fixtures/glm"
static wfile g_ref;
static int g_ok;

static void load(void) {
    if (!g_ok) g_ok = hy_wf_open(&g_ref, "tests/fixtures/glm_ref.bin") == 0 ? 1 : -1;
    ck_assert_msg(g_ok > 0, "cannot read tests/fixtures/glm_ref.bin: %s", hy_errmsg());
}

static const double *ref64(const char *name, int64_t *count) {
    const wf_tensor *t = hy_wf_find(&g_ref, name);
    ck_assert_msg(t && t->dtype == WF_F64, "fixture tensor %s missing or not f64", name);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    if (count) *count = n;
    return t->data;
}

static const char *ref_str(const char *key) {
    const char *s;
    ck_assert_msg(hy_wf_cfg_str(&g_ref, key, &s) == 0, "%s", hy_errmsg());
    return s;
}

// Largest |a - b| / (|b| + floor) over n values.
static double max_rel(const double *a, const double *b, int64_t n, double floor) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / (fabs(b[i]) + floor));
    return m;
}

// Writes text to DIR/name and returns the path (static buffer rotation of 4).
static const char *put_file(const char *dir, const char *name, const char *text) {
    static char paths[4][600];
    static int k;
    char *p = paths[k++ % 4];
    snprintf(p, 600, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

// --- events and confounds -------------------------------------------------------------------

START_TEST(test_events_reader) {
    const char *txt = "onset\tduration\ttrial_type\tstim_file\r\n"
                      "10\t1.5\tb.png\tx\n"
                      "2.5\t0\ta.png\tx\n"
                      "\n"
                      "10\t1.5\tb.png\ty\n"   // duplicate of the first: merged, modulation 2
                      "4\t1.5\tc.png\tz\n";
    hy_events ev;
    ck_assert_msg(hy_events_parse("e.tsv", txt, strlen(txt), NULL, &ev) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(ev.n_rows, 4);
    ck_assert_int_eq(ev.n, 3);
    ck_assert_int_eq(ev.n_types, 3);
    ck_assert_str_eq(ev.names[0], "a.png");
    ck_assert_str_eq(ev.names[2], "c.png");
    ck_assert(ev.onset[0] == 10 && ev.modulation[0] == 2 && ev.type[0] == 1);  // first appearance kept
    ck_assert(ev.onset[1] == 2.5 && ev.duration[1] == 0 && ev.modulation[1] == 1);
    hy_events_free(&ev);
    // numeric conditions sort as numbers (as pandas reads them), other columns may name the condition
    const char *num = "onset\tduration\tface\n1\t1\t10\n2\t1\t9\n3\t1\t100\n";
    ck_assert_msg(hy_events_parse("n.tsv", num, strlen(num), "face", &ev) == 0, "%s", hy_errmsg());
    ck_assert_str_eq(ev.names[0], "9");
    ck_assert_str_eq(ev.names[1], "10");
    ck_assert_str_eq(ev.names[2], "100");
    hy_events_free(&ev);
}
END_TEST

START_TEST(test_events_errors) {
    static const struct {
        const char *text, *col, *needle;
    } bad[] = {
        {"onset\ttrial_type\n1\ta\n", NULL, "no 'duration' column (columns: onset, trial_type)"},
        {"onset\tduration\n1\t1\n", NULL, "no 'trial_type' column"},
        {"onset\tduration\ttrial_type\n1\t1\ta\n", "face", "no 'face' column"},
        {"onset\tduration\ttrial_type\nn/a\t1\ta\n", NULL, "line 2: onset is n/a"},
        {"onset\tduration\ttrial_type\n1\t-0.5\ta\n", NULL, "line 2: negative duration -0.5"},
        {"onset\tduration\ttrial_type\n1\t1x\ta\n", NULL, "duration '1x' is not a finite number"},
        {"onset\tduration\ttrial_type\nnan\t1\ta\n", NULL, "onset 'nan' is not a finite number"},
        {"onset\tduration\ttrial_type\n1\t1\n", NULL, "line 2 has 2 tab-separated fields, the header has 3"},
        {"onset\tduration\ttrial_type\n1\t1\tn/a\n", NULL, "trial_type is n/a"},
        {"onset\tduration\ttrial_type\n", NULL, "no events"},
        {"", NULL, "empty file"},
        {"onset\tduration\tonset\n", NULL, "names column 'onset' twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hy_events ev;
        int rc = hy_events_parse("bad.tsv", bad[i].text, strlen(bad[i].text), bad[i].col, &ev);
        ck_assert_msg(rc < 0, "case %zu accepted", i);
        ck_assert_msg(strstr(hy_errmsg(), bad[i].needle) && strstr(hy_errmsg(), "bad.tsv"), "case %zu: '%s' lacks '%s'", i,
                      hy_errmsg(), bad[i].needle);
    }
}
END_TEST

START_TEST(test_confounds_reader) {
    const char *txt = "a\tb\tc\nn/a\t1\t5\n2\t3\t6\n4\t5\t7\n";
    hy_confounds c;
    ck_assert(hy_confounds_parse("c.tsv", txt, strlen(txt), NULL, 0, &c) < 0);
    ck_assert_msg(strstr(hy_errmsg(), "line 2: confound 'a' is n/a (use --confounds-fill mean"), "%s", hy_errmsg());
    ck_assert_msg(hy_confounds_parse("c.tsv", txt, strlen(txt), "c,a", 1, &c) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(c.n_cols, 2);
    ck_assert_str_eq(c.names[0], "c");
    ck_assert(c.x[0] == 5 && c.x[1] == 3 && c.x[3] == 2 && c.n_filled == 1);  // n/a -> mean of 2 and 4
    hy_confounds_free(&c);
    ck_assert(hy_confounds_parse("c.tsv", txt, strlen(txt), "a,zz", 1, &c) < 0);
    ck_assert_msg(strstr(hy_errmsg(), "no confound column 'zz' (columns: a, b, c)"), "%s", hy_errmsg());
    const char *nan = "a\n1\nNaN\n";
    ck_assert(hy_confounds_parse("c.tsv", nan, strlen(nan), NULL, 1, &c) < 0);
    ck_assert_msg(strstr(hy_errmsg(), "line 3: confound 'a' value 'NaN' is not a finite number"), "%s", hy_errmsg());
}
END_TEST

// --- kernels and designs ----------------------------------------------------------------------

START_TEST(test_hrf_kernels) {
    load();
    int len = hy_hrf_length(2.0, 50);
    ck_assert_int_eq(len, 800);
    double *k = malloc(sizeof(double) * 3 * len);
    const char *fam[2] = {"hrf.spm.tr2", "hrf.glover.tr2"};
    for (int f = 0; f < 2; f++) {
        int64_t n;
        const double *r = ref64(fam[f], &n);
        ck_assert_int_eq(n, 3 * len);
        ck_assert_int_eq(hy_hrf_kernels(k, len, f, 3, 2.0, 50), 0);
        // same formulas in float64; only lgamma/exp/pow rounding differ (measured 2e-15 on values
        // of up to 0.13): 1e-12 of the largest value
        double e = 0, s = 0;
        for (int i = 0; i < 3 * len; i++) e = fmax(e, fabs(k[i] - r[i])), s = fmax(s, fabs(r[i]));
        printf("  %s kernels max diff %.3g of max %.3g\n", fam[f], e, s);
        ck_assert_msg(e < 1e-12 * s, "%s differs by %g", fam[f], e);
    }
    // Nipy's spm_hrf equals nilearn's at tr 2 s, oversampling 16 (int(32/dt) = rint(32/dt) there)
    int64_t n;
    const double *nipy = ref64("nipy.spm_hrf.tr2.os16", &n);
    ck_assert_int_eq(hy_hrf_length(2.0, 16), n);
    ck_assert_int_eq(hy_hrf_kernels(k, (int)n, HY_HRF_SPM, 1, 2.0, 16), 0);
    for (int i = 0; i < n; i++) ck_assert_msg(fabs(k[i] - nipy[i]) < 1e-13, "nipy spm_hrf[%d]: %g vs %g", i, k[i], nipy[i]);
    free(k);
    int fm, nb;
    ck_assert(hy_hrf_parse(" Glover+Derivative ", &fm, &nb) == 0 && fm == HY_HRF_GLOVER && nb == 2);
    ck_assert(hy_hrf_parse("canonical", &fm, &nb) < 0);
}
END_TEST

static void read_fixture_events(int run, hy_events *ev, hy_confounds *c) {
    char p[256];
    snprintf(p, sizeof p, FIX "/run-%d_events.tsv", run);
    ck_assert_msg(hy_events_read(p, NULL, ev) == 0, "%s", hy_errmsg());
    if (c) {
        snprintf(p, sizeof p, FIX "/run-%d_confounds.tsv", run);
        ck_assert_msg(hy_confounds_read(p, NULL, 1, c) == 0, "%s", hy_errmsg());
    }
}

// Builds one design case and compares columns and names with the reference.
static void check_design(const char *cas, int run, int with_conf, const char *hrf, int drift, double hp, int order,
                         double str) {
    hy_events ev;
    hy_confounds c;
    read_fixture_events(run, &ev, with_conf ? &c : NULL);
    hy_design_opts o;
    hy_design_defaults(&o);
    o.tr = 2.0;
    ck_assert_int_eq(hy_hrf_parse(hrf, &o.hrf_family, &o.hrf_basis), 0);
    o.drift = drift;
    o.high_pass = hp;
    o.drift_order = order;
    o.slice_time_ref = str;
    hy_design d;
    ck_assert_msg(hy_design_build(&d, &o, 60, &ev, with_conf ? &c : NULL, cas) == 0, "%s", hy_errmsg());
    char key[128];
    snprintf(key, sizeof key, "design.%s.X", cas);
    int64_t n;
    const double *X = ref64(key, &n);
    ck_assert_int_eq(n, (int64_t)d.n_scans * d.n_cols);
    snprintf(key, sizeof key, "design.%s.names", cas);
    char names[4096] = "";
    for (int j = 0; j < d.n_cols; j++) {
        strcat(names, j ? "\t" : "");
        strcat(names, d.names[j]);
    }
    ck_assert_str_eq(names, ref_str(key));
    double e = 0;
    for (int64_t i = 0; i < n; i++) e = fmax(e, fabs(d.x[i] - X[i]));
    printf("  design %-9s %2d columns, max |C - reference| %.3g, condition number %.4g\n", cas, d.n_cols, e, d.cond);
    // the bound for design columns; the two sides differ only in summation order (~1e-15)
    ck_assert_msg(e <= 1e-8, "design %s differs by %g", cas, e);
    hy_design_free(&d);
    hy_events_free(&ev);
    if (with_conf) hy_confounds_free(&c);
}

START_TEST(test_designs) {
    load();
    check_design("spm", 1, 1, "spm", HY_DRIFT_COSINE, 0.01, 1, 0);
    check_design("spm_d", 1, 1, "spm + derivative", HY_DRIFT_COSINE, 0.01, 1, 0);
    check_design("spm_dd", 1, 1, "spm + derivative + dispersion", HY_DRIFT_COSINE, 0.01, 1, 0);
    check_design("glover", 1, 1, "glover", HY_DRIFT_COSINE, 0.01, 1, 0);
    check_design("glover_d", 1, 1, "glover + derivative", HY_DRIFT_COSINE, 0.01, 1, 0);
    check_design("glover_dd", 1, 1, "glover + derivative + dispersion", HY_DRIFT_COSINE, 0.01, 1, 0);
    check_design("poly3", 1, 1, "spm", HY_DRIFT_POLY, 0.01, 3, 0);
    check_design("none", 1, 1, "spm", HY_DRIFT_NONE, 0.01, 1, 0);
    check_design("str05", 1, 1, "glover + derivative", HY_DRIFT_COSINE, 0.03, 1, 0.5);
    check_design("run2", 2, 0, "spm", HY_DRIFT_COSINE, 0.01, 1, 0);
}
END_TEST

// Nipy's polynomial drift is nilearn's; its cosine drift has one column fewer but the same first ones.
START_TEST(test_drifts_vs_nipy) {
    load();
    hy_events ev;
    read_fixture_events(1, &ev, NULL);
    hy_design_opts o;
    hy_design_defaults(&o);
    o.tr = 2.0;
    o.drift = HY_DRIFT_POLY;
    o.drift_order = 3;
    hy_design d;
    ck_assert_msg(hy_design_build(&d, &o, 60, &ev, NULL, "poly") == 0, "%s", hy_errmsg());
    int64_t n;
    const double *P = ref64("nipy.poly3", &n);
    ck_assert_int_eq(n, 60 * 4);
    for (int t = 0; t < 60; t++)
        for (int k = 0; k < 4; k++)
            ck_assert_msg(fabs(d.x[(size_t)t * d.n_cols + d.n_task + k] - P[t * 4 + k]) < 1e-12, "poly drift (%d,%d)", t, k);
    hy_design_free(&d);
    o.drift = HY_DRIFT_COSINE;
    o.high_pass = 0.01;
    ck_assert_msg(hy_design_build(&d, &o, 60, &ev, NULL, "cos") == 0, "%s", hy_errmsg());
    const double *C = ref64("nipy.cos", &n);
    int nc = (int)(n / 60);  // nipy: order - 1 cosines and the constant
    for (int t = 0; t < 60; t++)
        for (int k = 0; k < nc - 1; k++)
            ck_assert_msg(fabs(d.x[(size_t)t * d.n_cols + d.n_task + k] - C[t * nc + k]) < 1e-12, "cosine (%d,%d)", t, k);
    ck_assert_int_eq(d.n_cols - d.n_task, 3);  // floor(2 * 60 * 0.01 * 2) = 2 cosines + constant
    hy_design_free(&d);
    hy_events_free(&ev);
}
END_TEST

START_TEST(test_design_errors) {
    static const struct {
        const char *events, *needle;
    } bad[] = {
        {"onset\tduration\ttrial_type\n130\t1\ta\n", "event 'a' at onset 130 s is outside the run (onsets must be in [-24, 120)"},
        {"onset\tduration\ttrial_type\n-30\t1\ta\n", "event 'a' at onset -30 s is outside the run"},
        {"onset\tduration\ttrial_type\n10\t2\ta\n10\t2\tb\n50\t1\tc\n",
         "design is rank deficient (condition number "},
        {"onset\tduration\ttrial_type\n10\t2\ta\n10\t2\tb\n50\t1\tc\n", "columns 'a', 'b' are linearly dependent"},
        {"onset\tduration\ttrial_type\nonset\tduration\ttrial_type\n", "onset 'onset' is not a finite number"},
    };
    hy_design_opts o;
    hy_design_defaults(&o);
    o.tr = 2.0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hy_events ev;
        hy_design d;
        int rc = hy_events_parse("ev.tsv", bad[i].events, strlen(bad[i].events), NULL, &ev);
        if (!rc) {
            rc = hy_design_build(&d, &o, 60, &ev, NULL, "run 1 (r1.nii)");
            hy_events_free(&ev);
        }
        ck_assert_msg(rc < 0, "case %zu accepted", i);
        ck_assert_msg(strstr(hy_errmsg(), bad[i].needle), "case %zu: '%s' lacks '%s'", i, hy_errmsg(), bad[i].needle);
    }
    // 40 conditions of one event and 60 volumes: 40 + 2 drifts + constant columns fit; 70 do not
    char big[8192] = "onset\tduration\ttrial_type\n";
    for (int k = 0; k < 70; k++) snprintf(big + strlen(big), sizeof big - strlen(big), "%d\t1\tc%02d\n", k, k);
    hy_events ev;
    hy_design d;
    ck_assert_int_eq(hy_events_parse("big.tsv", big, strlen(big), NULL, &ev), 0);
    ck_assert(hy_design_build(&d, &o, 60, &ev, NULL, "run 1") < 0);
    ck_assert_msg(strstr(hy_errmsg(), "design has 73 columns but only 60 volumes"), "%s", hy_errmsg());
    hy_events_free(&ev);
}
END_TEST

// --- statistics -------------------------------------------------------------------------------

START_TEST(test_t_to_z) {
    load();
    // the reference's z (scipy) from its t for every condition and voxel of the AR(1) model
    int64_t n, nc;
    const double *t = ref64("glm.ar1.t", &n), *z = ref64("glm.ar1.z", NULL), *dof = ref64("glm.ar1.dof", &nc);
    double e_exact = 0, e_table = 0;
    for (int c = 0; c < nc; c++) {
        hy_tz_table tb;
        ck_assert_int_eq(hy_tz_table_init(&tb, dof[c]), 0);
        for (int64_t i = c * (n / nc); i < (c + 1) * (n / nc); i++) {
            e_exact = fmax(e_exact, fabs(hy_t_to_z(t[i], dof[c]) - z[i]));
            e_table = fmax(e_table, fabs(hy_tz_table_eval(&tb, t[i]) - z[i]));
        }
        hy_tz_table_free(&tb);
    }
    printf("  t->z vs scipy: exact path %.3g, table %.3g\n", e_exact, e_table);
    // the exact path reproduces scipy's t.sf / norm.isf to ~1e-14; the table adds < 1e-11 (measured)
    ck_assert_msg(e_exact < 1e-10 && e_table < 1e-9, "z differs from scipy: %g / %g", e_exact, e_table);
    // tails: clipped at isf(1e-300), symmetric, never infinite; t = 0 gives 0
    double zmax = hy_norm_isf(1e-300);
    ck_assert(fabs(zmax - 37.047096499) < 1e-6);
    ck_assert(hy_t_to_z(1e8, 50) == zmax && hy_t_to_z(-1e300, 3) == -zmax && hy_t_to_z(0, 10) == 0);
    ck_assert(hy_t_to_z(1e5, 50) < zmax && hy_t_to_z(1e5, 50) > 30);  // p = 5e-245: not clipped yet
    hy_tz_table tb;
    for (double d = 1; d < 1e5; d *= 3.7) {
        ck_assert_int_eq(hy_tz_table_init(&tb, d), 0);
        // dense sweep in t over 300 decades: table vs exact (bound measured 4e-11 at dof 2e4)
        double worst = 0;
        for (int k = 0; k <= 3000; k++) {
            double tt = pow(10, -4 + 300.0 * k / 3000);
            if (!isfinite(tt * tt)) break;
            worst = fmax(worst, fabs(hy_tz_table_eval(&tb, tt) - hy_t_to_z(tt, d)));
            ck_assert(hy_tz_table_eval(&tb, -tt) == -hy_tz_table_eval(&tb, tt));
        }
        ck_assert_msg(worst < 1e-9, "dof %g: table error %g", d, worst);
        ck_assert(isfinite(hy_tz_table_eval(&tb, INFINITY)) && hy_tz_table_eval(&tb, INFINITY) == zmax);
        hy_tz_table_free(&tb);
    }
}
END_TEST

// --- one run's fit ------------------------------------------------------------------------------

// Run 1's in-mask data, psc-scaled, voxel-major (V, n).
static double *run1_data(int *V) {
    nifti_img b, m;
    ck_assert_msg(hy_nifti_read(FIX "/run-1_bold.nii.gz", &b) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_nifti_read(FIX "/mask.nii.gz", &m) == 0, "%s", hy_errmsg());
    int n = (int)b.dim[3], g = (int)m.nvox, v = 0;
    double *Y = malloc(sizeof(double) * n * g);
    for (int i = 0; i < g; i++)
        if (m.data[i] != 0) {
            double s = 0;
            for (int t = 0; t < n; t++) s += b.data[(size_t)t * g + i];
            double mean = fmax(s / n, 1);
            for (int t = 0; t < n; t++) Y[(size_t)v * n + t] = 100 * (b.data[(size_t)t * g + i] / mean - 1);
            v++;
        }
    ck_assert_int_eq(v, g - 1);
    *V = v;
    hy_nifti_free(&b);
    hy_nifti_free(&m);
    return Y;
}

static void fit_run1(int noise, int lite, const char *pre, double tol_ref, const char *nipy, double tol_nipy) {
    load();
    int V;
    double *Y = run1_data(&V);
    hy_events ev;
    hy_confounds c;
    read_fixture_events(1, &ev, &c);
    hy_design_opts o;
    hy_design_defaults(&o);
    o.tr = 2.0;
    hy_design d;
    ck_assert_msg(hy_design_build(&d, &o, 60, &ev, &c, "run 1") == 0, "%s", hy_errmsg());
    int p = d.n_cols, *dest = malloc(sizeof(int) * p), *one = malloc(sizeof(int) * p);
    for (int j = 0; j < p; j++) dest[j] = j, one[j] = 1;
    hy_ffx acc;
    ck_assert_int_eq(hy_ffx_init(&acc, p, V, one), 0);
    hy_fit_opts fo = {noise, 100, 7, lite};  // blocks of 7 voxels: every block and tail path runs
    hy_fit_info info;
    ck_assert_msg(hy_fit_run(&acc, Y, 60, V, d.x, p, dest, &fo, &info) == 0, "%s", hy_errmsg());
    ck_assert(info.dof == ref64("fit.dof", NULL)[0] && acc.dof[0] == info.dof && acc.n_parts[0] == 1);
    double *eff = malloc(sizeof(double) * p * V), *var = malloc(sizeof(double) * p * V);
    for (int j = 0; j < p; j++)
        for (int v = 0; v < V; v++) hy_ffx_get(&acc, j, v, &eff[j * V + v], &var[j * V + v]);
    char k1[64], k2[64];
    snprintf(k1, sizeof k1, "%s.effect", pre);
    snprintf(k2, sizeof k2, "%s.variance", pre);
    double ee = max_rel(eff, ref64(k1, NULL), (int64_t)p * V, 1e-9), ev2 = max_rel(var, ref64(k2, NULL), (int64_t)p * V, 1e-12);
    snprintf(k1, sizeof k1, "%s.effect", nipy);
    snprintf(k2, sizeof k2, "%s.variance", nipy);
    double ne = max_rel(eff, ref64(k1, NULL), (int64_t)p * V, 1e-9), nv = max_rel(var, ref64(k2, NULL), (int64_t)p * V, 1e-12);
    printf("  %s (%s AR models): %d AR models; max rel diff vs reference: effect %.3g variance %.3g; vs Nipy: %.3g %.3g\n",
           pre, lite > 0 ? "lite" : lite < 0 ? "full" : "auto", info.n_models, ee, ev2, ne, nv);
    ck_assert_msg(ee < tol_ref && ev2 < tol_ref, "%s vs reference: %g %g", pre, ee, ev2);
    ck_assert_msg(ne < tol_nipy && nv < tol_nipy, "%s vs Nipy: %g %g", pre, ne, nv);
    if (noise == HY_NOISE_AR1) ck_assert_int_gt(info.n_models, 5);
    free(eff);
    free(var);
    free(dest);
    free(one);
    free(Y);
    hy_ffx_free(&acc);
    hy_design_free(&d);
    hy_events_free(&ev);
    hy_confounds_free(&c);
}

// Tolerances: single-run estimates are stored as float32 (relative rounding 6e-8), so 1e-6 vs the
// float64 reference; vs Nipy the bounds (OLS 1e-5, AR(1) 1e-4; measured ~1e-7).
START_TEST(test_fit_ols) { fit_run1(HY_NOISE_OLS, 0, "fit.ols", 1e-6, "nipy.ols", 1e-5); }
END_TEST
// both forms of the AR models: the per-voxel Cholesky solve (lite) and the explicit pseudo-inverse
START_TEST(test_fit_ar1) {
    fit_run1(HY_NOISE_AR1, 1, "fit.ar1", 1e-6, "nipy.ar1", 1e-4);
    fit_run1(HY_NOISE_AR1, -1, "fit.ar1", 1e-6, "nipy.ar1", 1e-4);
}
END_TEST

// --- the whole model ---------------------------------------------------------------------------

static void fixture_opts(hy_glm_opts *o, const char *out) {
    static char b[3][128], e[3][128], c[3][128];
    hy_glm_defaults(o);
    o->n_runs = 3;
    for (int k = 0; k < 3; k++) {
        snprintf(b[k], sizeof b[k], FIX "/run-%d_bold.nii.gz", k + 1);
        snprintf(e[k], sizeof e[k], FIX "/run-%d_events.tsv", k + 1);
        snprintf(c[k], sizeof c[k], FIX "/run-%d_confounds.tsv", k + 1);
        o->bold[k] = b[k];
        o->events[k] = e[k];
        o->confounds[k] = c[k];
    }
    o->mask = FIX "/mask.nii.gz";
    o->fill_mean = 1;
    o->out_dir = out;
}

// Reads OUT/<map>.nii.gz at the in-mask voxels into (n_cond, V).
static double *read_map(const char *out, const char *map, int n_cond, int *V) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s.nii.gz", out, map);
    nifti_img img, m;
    ck_assert_msg(hy_nifti_read(p, &img) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_nifti_read(FIX "/mask.nii.gz", &m), 0);
    ck_assert(img.ndim == 4 && img.dim[3] == n_cond && img.datatype == NII_FLOAT32);
    ck_assert(img.geom.sform_code == 1 && img.geom.srow[0] == -3 && img.geom.srow[3] == 90);  // the BOLD's affine
    int g = (int)m.nvox, v = 0;
    double *x = malloc(sizeof(double) * n_cond * g);
    for (int i = 0; i < g; i++)
        if (m.data[i] != 0) {
            for (int c = 0; c < n_cond; c++) x[(size_t)c * (g - 1) + v] = img.data[(size_t)c * g + i];
            v++;
        } else {
            for (int c = 0; c < n_cond; c++) ck_assert(img.data[(size_t)c * g + i] == 0);  // outside the mask: 0
        }
    *V = v;
    hy_nifti_free(&img);
    hy_nifti_free(&m);
    return x;
}

static void check_model(int noise, int est, const char *variant) {
    load();
    char *out = test_tmpdir();
    hy_glm_opts o;
    fixture_opts(&o, out);
    o.noise = noise;
    o.estimator = est;
    hy_glm_result r;
    ck_assert_msg(hy_glm_run(&o, &r) == 0, "%s", hy_errmsg());
    int64_t nref;
    const char *conds = ref_str("glm.conditions");
    int nc = 1;
    for (const char *q = conds; *q; q++) nc += *q == '\t';
    ck_assert_int_eq(r.n_cond, nc);
    ck_assert(r.n_vox == 59 && r.grid_vox == 60 && r.tr == 2.0 && r.total_volumes == 180);
    // conditions.tsv: index, name, runs, events in the reference's order
    char p[600], line[512], want[512];
    snprintf(p, sizeof p, "%s/conditions.tsv", out);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert(fgets(line, sizeof line, f) && !strcmp(line, "index\ttrial_type\tn_runs\tn_events\n"));
    const int64_t *rr = hy_wf_find(&g_ref, "glm.n_runs")->data, *re = hy_wf_find(&g_ref, "glm.n_events")->data;
    const char *q = conds;
    for (int c = 0; c < nc; c++) {
        const char *tab = strchr(q, '\t');
        int len = tab ? (int)(tab - q) : (int)strlen(q);
        snprintf(want, sizeof want, "%d\t%.*s\t%lld\t%lld\n", c, len, q, (long long)rr[c], (long long)re[c]);
        ck_assert(fgets(line, sizeof line, f));
        ck_assert_str_eq(line, want);
        q = tab ? tab + 1 : q + len;
    }
    fclose(f);
    static const char *maps[4] = {"effect", "variance", "t", "z"};
    for (int m = 0; m < 4; m++) {
        int V;
        double *x = read_map(out, maps[m], nc, &V);
        char key[64];
        snprintf(key, sizeof key, "glm.%s.%s", variant, maps[m]);
        const double *ref = ref64(key, &nref);
        ck_assert_int_eq(nref, (int64_t)nc * V);
        // float32 maps (6e-8) from float32/float64 sums: the 1e-5 relative bound
        double e = max_rel(x, ref, nref, 1e-12);
        printf("  %-8s %-8s max rel diff %.3g\n", variant, maps[m], e);
        ck_assert_msg(e < 1e-5, "%s %s differs by %g", variant, maps[m], e);
        free(x);
    }
    // the other outputs
    for (int k = 1; k <= 3; k++) {
        snprintf(p, sizeof p, "%s/design_run-%d.tsv", out, k);
        ck_assert(file_exists(p));
        snprintf(p, sizeof p, "%s/design_run-%d.png", out, k);
        ck_assert(file_exists(p));
    }
    snprintf(p, sizeof p, "%s/summary.txt", out);
    f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char all[8192] = "";
    size_t got = fread(all, 1, sizeof all - 1, f);
    all[got] = 0;
    fclose(f);
    ck_assert_msg(strstr(all, "runs\t3\nvolumes\t180\ntr\t2\nvoxels\t59 in mask of 60\n"), "%s", all);
    ck_assert_msg(strstr(all, noise == HY_NOISE_AR1 ? "noise ar1 (bins 100)" : "noise ols"), "%s", all);
    ck_assert_int_eq(dir_count(out), 3 * 2 + 1 + 1 + 4 + 1);  // designs, conditions, mask, maps, summary
}

START_TEST(test_model_ols) { check_model(HY_NOISE_OLS, HY_EST_LSA, "ols"); }
END_TEST
START_TEST(test_model_ar1) { check_model(HY_NOISE_AR1, HY_EST_LSA, "ar1"); }
END_TEST
START_TEST(test_model_lss_ols) { check_model(HY_NOISE_OLS, HY_EST_LSS, "lss_ols"); }
END_TEST
START_TEST(test_model_lss_ar1) { check_model(HY_NOISE_AR1, HY_EST_LSS, "lss_ar1"); }
END_TEST

// The design TSV holds the design (frame time, then the columns) at full precision.
START_TEST(test_design_tsv) {
    load();
    char *out = test_tmpdir();
    hy_glm_opts o;
    fixture_opts(&o, out);
    o.noise = HY_NOISE_OLS;
    hy_glm_result r;
    ck_assert_msg(hy_glm_run(&o, &r) == 0, "%s", hy_errmsg());
    char p[600], line[8192];
    snprintf(p, sizeof p, "%s/design_run-2.tsv", out);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert(fgets(line, sizeof line, f));
    ck_assert_msg(!strncmp(line, "frame_time\ttest_00.png\t", 23), "%s", line);
    for (int t = 0; t < 4; t++) ck_assert(fgets(line, sizeof line, f));  // row of volume 3
    int64_t n;
    const double *X = ref64("design.run2.X", &n);
    int pr = (int)(n / 60);
    char *s = line;
    ck_assert(strtod(s, &s) == 6.0);
    // the six task columns are those of the reference's run-2 design (which has no confounds);
    // %.17g round-trips the C value, which differs from numpy's by summation order only (1e-15)
    for (int j = 0; j < 6; j++) ck_assert(fabs(strtod(s, &s) - X[3 * pr + j]) < 1e-12);
    fclose(f);
}
END_TEST

// --- bad input to the whole model: one message, nothing written ------------------------------

static void expect_fail(hy_glm_opts *o, const char *needle) {
    hy_glm_result r;
    ck_assert_msg(hy_glm_run(o, &r) < 0, "accepted (expected '%s')", needle);
    ck_assert_msg(strstr(hy_errmsg(), needle), "'%s' lacks '%s'", hy_errmsg(), needle);
    ck_assert_msg(!strchr(hy_errmsg(), '\n'), "not one line: %s", hy_errmsg());
    ck_assert_msg(!file_exists(o->out_dir) || dir_count(o->out_dir) == 0, "%s: outputs left after '%s'", o->out_dir,
                  hy_errmsg());
}

// Writes run 1's data with one change: f(data, n_vox_grid, n_vol) edits in place.
static const char *edited_bold(const char *dir, const char *name, void (*f)(double *, int64_t, int64_t), double tr,
                               const int64_t *dim3) {
    static char path[600];
    nifti_img b;
    ck_assert_int_eq(hy_nifti_read(FIX "/run-1_bold.nii.gz", &b), 0);
    int64_t g = b.dim[0] * b.dim[1] * b.dim[2], n = b.dim[3];
    f(b.data, g, n);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int64_t d3[3] = {b.dim[0], b.dim[1], b.dim[2]};
    if (dim3) memcpy(d3, dim3, sizeof d3);
    int64_t gg = d3[0] * d3[1] * d3[2], nv = g * n / gg;
    nifti_writer *w;
    ck_assert_int_eq(hy_nifti_writer_open(&w, path, d3, nv, &b.geom, tr, "test", 1), 0);
    float *vol = malloc(sizeof(float) * gg);
    for (int64_t t = 0; t < nv; t++) {
        for (int64_t i = 0; i < gg; i++) vol[i] = (float)b.data[t * gg + i];
        ck_assert_int_eq(hy_nifti_writer_put(w, vol), 0);
    }
    ck_assert_int_eq(hy_nifti_writer_commit(w), 0);
    free(vol);
    hy_nifti_free(&b);
    return path;
}

static void no_edit(double *x, int64_t g, int64_t n) { (void)x, (void)g, (void)n; }
static void put_nan(double *x, int64_t g, int64_t n) { x[7 * g + 13] = NAN, (void)n; }
static void zero_voxel(double *x, int64_t g, int64_t n) {
    for (int64_t t = 0; t < n; t++) x[t * g + 5] = 0;
}

START_TEST(test_model_errors) {
    char *tmp = test_tmpdir(), out[600];
    snprintf(out, sizeof out, "%s/out", tmp);
    hy_glm_opts o;
    const char *ev_ok = FIX "/run-1_events.tsv";
    // events outside the run; negative duration; unknown condition column; unknown confound column
    fixture_opts(&o, out);
    o.events[1] = put_file(tmp, "late.tsv", "onset\tduration\ttrial_type\n10\t1\ta\n121\t1\tb\n");
    expect_fail(&o, "run 2 (" FIX "/run-2_bold.nii.gz): event 'b' at onset 121 s is outside the run");
    fixture_opts(&o, out);
    o.events[2] = put_file(tmp, "neg.tsv", "onset\tduration\ttrial_type\n10\t-1\ta\n");
    expect_fail(&o, "neg.tsv: line 2: negative duration -1");
    fixture_opts(&o, out);
    o.type_column = "stimulus";
    expect_fail(&o, "run-1_events.tsv: no 'stimulus' column (columns: onset, duration, trial_type, stim_file)");
    fixture_opts(&o, out);
    o.confound_columns = "trans_x,rot_y";
    expect_fail(&o, "run-1_confounds.tsv: no confound column 'rot_y' (columns: trans_x, rot_z)");
    // n/a in confounds without --confounds-fill; NaN in confounds
    fixture_opts(&o, out);
    o.fill_mean = 0;
    expect_fail(&o, "run-3_confounds.tsv: line 2: confound 'rot_z' is n/a");
    fixture_opts(&o, out);
    o.confounds[0] = put_file(tmp, "nanc.tsv", "a\nnan\n");
    expect_fail(&o, "nanc.tsv: line 2: confound 'a' value 'nan' is not a finite number");
    // confounds with the wrong row count
    fixture_opts(&o, out);
    o.confounds[0] = put_file(tmp, "short.tsv", "a\n1\n2\n3\n");
    expect_fail(&o, "run 1 (" FIX "/run-1_bold.nii.gz): confounds have 3 rows but the run has 60 volumes");
    // rank-deficient design: two conditions with the same events
    fixture_opts(&o, out);
    o.events[0] = put_file(tmp, "twin.tsv", "onset\tduration\ttrial_type\n10\t1\tx\n10\t1\ty\n60\t1\tz\n");
    expect_fail(&o, "run 1 (" FIX "/run-1_bold.nii.gz): design is rank deficient (condition number ");
    expect_fail(&o, "columns 'x', 'y' are linearly dependent");
    // runs on other grids or TRs; a 3-D "run"; a 4-D mask; TR 0 without --tr
    fixture_opts(&o, out);
    int64_t other[3] = {4, 5, 3};
    o.bold[1] = edited_bold(tmp, "grid.nii", no_edit, 2.0, other);
    expect_fail(&o, "grid.nii: voxel grid 4x5x3 (or its affine) differs from " FIX "/run-1_bold.nii.gz's 5x4x3");
    fixture_opts(&o, out);
    o.bold[2] = edited_bold(tmp, "tr.nii.gz", no_edit, 2.5, NULL);
    expect_fail(&o, "tr.nii.gz: TR 2.5 s differs from " FIX "/run-1_bold.nii.gz's 2 s");
    fixture_opts(&o, out);
    o.bold[1] = FIX "/mask.nii.gz";
    expect_fail(&o, "mask.nii.gz: a BOLD run must be a 4-D series (x, y, z, time); this file has 3 dimensions");
    fixture_opts(&o, out);
    o.mask = FIX "/run-2_bold.nii.gz";
    expect_fail(&o, "run-2_bold.nii.gz: the mask must be 3-D (x, y, z); this file has 4 dimensions with 60 volumes");
    fixture_opts(&o, out);
    o.n_runs = 1;
    o.bold[0] = edited_bold(tmp, "tr0.nii", no_edit, 2.0, NULL);
    FILE *f = fopen(o.bold[0], "r+b");  // pixdim[4] (offset 92) = 0
    float zero = 0;
    ck_assert(f && fseek(f, 92, SEEK_SET) == 0 && fwrite(&zero, 4, 1, f) == 1);
    fclose(f);
    expect_fail(&o, "tr0.nii: the header's TR (pixdim[4]) is 0; give the TR with --tr");
    o.tr = 2.0;  // --tr makes it usable
    char out_tr[600];
    snprintf(out_tr, sizeof out_tr, "%s/out_tr", tmp);
    o.out_dir = out_tr;
    hy_glm_result r;
    ck_assert_msg(hy_glm_run(&o, &r) == 0, "%s", hy_errmsg());
    ck_assert(r.tr == 2.0 && r.n_cond == 6);
    o.tr = 0;
    // NaN in the BOLD; an in-mask voxel that is zero throughout
    fixture_opts(&o, out);
    o.bold[1] = edited_bold(tmp, "nan.nii.gz", put_nan, 2.0, NULL);
    expect_fail(&o, "nan.nii.gz: non-finite value (nan) at volume 7, voxel (3, 2, 0)");
    fixture_opts(&o, out);
    o.bold[2] = edited_bold(tmp, "zero.nii", zero_voxel, 2.0, NULL);
    expect_fail(&o, "zero.nii: in-mask voxel (0, 1, 0) is zero in every volume");
    // an empty mask; without a mask the zero voxel of the first run is left out instead
    char out2[600];
    snprintf(out2, sizeof out2, "%s/out2", tmp);
    fixture_opts(&o, out2);
    char m0[600];
    snprintf(m0, sizeof m0, "%s/m0.nii", tmp);
    int64_t dm[3] = {5, 4, 3};
    double zeros[60] = {0};
    ck_assert_int_eq(hy_nifti_write(m0, 3, dm, NII_UINT8, zeros, 0, 0, 0), 0);
    o.mask = m0;
    expect_fail(&o, "m0.nii: the mask is empty (no non-zero voxel)");
    (void)ev_ok;
    fixture_opts(&o, out2);
    o.mask = NULL;
    o.n_runs = 1;
    o.bold[0] = edited_bold(tmp, "zero1.nii", zero_voxel, 2.0, NULL);
    ck_assert_msg(hy_glm_run(&o, &r) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(r.n_vox, 59);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("glm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_events_reader);
    tcase_add_test(tc, test_events_errors);
    tcase_add_test(tc, test_confounds_reader);
    tcase_add_test(tc, test_hrf_kernels);
    tcase_add_test(tc, test_designs);
    tcase_add_test(tc, test_drifts_vs_nipy);
    tcase_add_test(tc, test_design_errors);
    tcase_add_test(tc, test_t_to_z);
    tcase_add_test(tc, test_fit_ols);
    tcase_add_test(tc, test_fit_ar1);
    tcase_add_test(tc, test_model_ols);
    tcase_add_test(tc, test_model_ar1);
    tcase_add_test(tc, test_model_lss_ols);
    tcase_add_test(tc, test_model_lss_ar1);
    tcase_add_test(tc, test_design_tsv);
    tcase_add_test(tc, test_model_errors);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
