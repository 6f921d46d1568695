// test_report.c - the ranked results table and chart: ranking order, CSV round trip,
// Markdown content, chart PNG size and SVG presence.
#include <math.h>

#include "base/image_io.h"
#include "study/report.h"
#include "testutil.h"

START_TEST(ranked_outputs) {
    run_summary rows[3] = {
        // no per-model list and no attributes (NaN): the columns a FaceNet-only sweep fills
        {"mlp_700_30", "mlp", 700, 30, 1.10, 0.01, 1.21, NAN, 0.10, 0.55, 0.20, 0.10, .gender_match = NAN, .age_r = NAN},
        {"ridge", "ridge", 0, 0, 0.90, 0.02, 1.22, 0.001, 0.37, 0.82, 0.80, 0.31, .gender_match = NAN, .age_r = NAN},
        {"linear_1500_30", "linear", 1500, 30, 0.92, 0.02, 1.21, 0.01, 0.35, 0.80, 0.90, 0.30, .gender_match = NAN, .age_r = NAN},
    };
    char *d = test_tmpdir();
    ck_assert_int_eq(hy_report_write(d, rows, 3, "test study"), 0);
    ck_assert_str_eq(rows[0].name, "ridge");  // sorted in place by mean distance
    ck_assert_str_eq(rows[2].name, "mlp_700_30");
    char p[300];
    snprintf(p, sizeof p, "%s/results.csv", d);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(strncmp(line, REPORT_CSV_HEADER, strlen(REPORT_CSV_HEADER)), 0);
    run_summary back;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(hy_report_parse_csv(line, &back), 0);
    ck_assert_str_eq(back.name, "ridge");
    ck_assert_double_eq_tol(back.dist_mean, 0.90, 1e-9);
    ck_assert_double_eq_tol(back.null_p, 0.001, 1e-9);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(hy_report_parse_csv(line, &back), 0);
    ck_assert(isnan(back.null_p) && back.epochs == 700 && back.batch == 30);
    fclose(f);
    ck_assert_int_ne(hy_report_parse_csv("1,garbage", &back), 0);
    snprintf(p, sizeof p, "%s/results.md", d);
    f = fopen(p, "r");
    char md[8192] = {0};
    ck_assert_uint_gt(fread(md, 1, sizeof md - 1, f), 100);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(md, "| 1 | ridge | 0.9000 |"));
    ck_assert_ptr_nonnull(strstr(md, "| 3 | mlp_700_30 | 1.1000 |"));
    snprintf(p, sizeof p, "%s/chart.png", d);
    int w, h;
    uint8_t *rgb;
    ck_assert_int_eq(hy_png_read_rgb8(p, &w, &h, &rgb), 0);
    ck_assert(w == 480 && h == 420);
    // the chart is not blank: some pixels are the error-bar blue
    int blue = 0;
    for (int i = 0; i < w * h; i++) blue += rgb[3 * i] == 31 && rgb[3 * i + 1] == 78 && rgb[3 * i + 2] == 156;
    ck_assert_int_gt(blue, 50);
    free(rgb);
    snprintf(p, sizeof p, "%s/chart.svg", d);
    ck_assert(file_exists(p));
    ck_assert_int_eq(dir_count(d), 4);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ranked_outputs);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
