// test_figure.c - report figures: round ticks, SVG and PNG drawn from one layout (same size,
// same items, the scale option), no label over a marker or another label, the colour-blind-safe
// palette, and the comparison picture's title and legend line.
#include <math.h>

#include "base/common.h"
#include "base/figure.h"
#include "base/image_io.h"
#include "base/lineplot.h"
#include "study/study.h"
#include "testutil.h"

static void expect_ticks(double lo, double hi, int log_axis, const double *want, int n_want, double a0, double a1) {
    double t[32], b0, b1;
    int n, dec;
    hy_plot_ticks(log_axis ? log10(lo) : lo, log_axis ? log10(hi) : hi, log_axis, t, &n, 32, &b0, &b1, &dec);
    ck_assert_msg(n == n_want, "[%g, %g]: %d ticks, want %d", lo, hi, n, n_want);
    for (int i = 0; i < n; i++) {
        double v = log_axis ? pow(10, t[i]) : t[i];
        // tick values are sums of a round step; 1e-9 relative covers the rounding of those sums
        ck_assert_msg(fabs(v - want[i]) <= 1e-9 * fmax(1, fabs(want[i])), "[%g, %g]: tick %d is %.12g, want %g", lo,
                      hi, i, v, want[i]);
    }
    double e0 = log_axis ? pow(10, b0) : b0, e1 = log_axis ? pow(10, b1) : b1;
    ck_assert_msg(fabs(e0 - a0) < 1e-9 && fabs(e1 - a1) < 1e-9, "[%g, %g]: axis %g..%g, want %g..%g", lo, hi, e0, e1,
                  a0, a1);
}

START_TEST(round_ticks) {
    // the smallest 1-2-5 step with at most 6 intervals, axes ending at ticks
    expect_ticks(0.8256, 0.9877, 0, (double[]){0.80, 0.85, 0.90, 0.95, 1.00}, 5, 0.80, 1.00);
    expect_ticks(1, 1500, 0, (double[]){0, 500, 1000, 1500}, 4, 0, 1500);
    expect_ticks(1, 60, 0, (double[]){0, 10, 20, 30, 40, 50, 60}, 7, 0, 60);
    expect_ticks(-0.3, 0.7, 0, (double[]){-0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8}, 7, -0.4, 0.8);
    expect_ticks(0.3, 40, 1, (double[]){0.1, 1, 10, 100}, 4, 0.1, 100);             // three decades: powers of ten
    expect_ticks(0.3, 4, 1, (double[]){0.2, 0.5, 1, 2, 5}, 5, 0.2, 5);              // short: 1-2-5
    double t[32], a0, a1;
    int n, dec;
    hy_plot_ticks(0.5, 0.5, 0, t, &n, 32, &a0, &a1, &dec);  // one value: still a usable axis around it
    ck_assert(n >= 2 && a0 <= 0.5 && a1 > 0.5);
}
END_TEST

// Text items' boxes (units) from the figure: horizontal cells 11 high, vertical ones 11 wide.
static void text_box(const fig_item *it, double *x0, double *y0, double *x1, double *y1) {
    double w = hy_fig_text_width(it->text), shift = it->anchor == FIG_MIDDLE ? w / 2 : it->anchor == FIG_END ? w : 0;
    if (it->vertical) *x0 = it->x0, *x1 = it->x0 + FIG_CHAR_H, *y1 = it->y0 + shift, *y0 = *y1 - w;
    else *x0 = it->x0 - shift, *x1 = *x0 + w, *y0 = it->y0, *y1 = it->y0 + FIG_CHAR_H;
}
static int overlap(double a0, double a1, double b0, double b1) { return a0 < b1 - 0.01 && b0 < a1 - 0.01; }

// A chart like the report's (categories with long names, error bars, a dashed baseline) has no
// text box that intersects another text box or a marker, and everything lies inside the figure.
START_TEST(no_label_over_another_or_a_marker) {
    const char *names[7] = {"ols", "linear_1500_30", "mlp-h1024-tanh-do0.2_1500_30", "ridge", "lasso",
                            "linear-nobias_700_30", "x"};
    double x[7], y[7] = {0.61, 0.78, 0.79, 0.82, 0.92, 0.96, 0.97}, e[7] = {0.02, 0.03, 0.025, 0.02, 0.03, 0.03, 0.2};
    for (int i = 0; i < 7; i++) x[i] = i;
    double bx[2] = {-0.5, 6.5}, by[2] = {0.94, 0.94};
    plot_series s[2] = {{"ranked: mean +- s.e.", x, y, e, 7, FIG_BLUE, PLOT_POINTS},
                        {"shuffled-pair baseline (0.940)", bx, by, NULL, 2, FIG_VERMILLION, PLOT_DASHED}};
    plot_opts o = {.title = "A title longer than the plot area is wide, so the figure must widen to hold it all",
                   .xlabel = "decoder configuration", .ylabel = "FaceNet distance", .width = 120, .height = 200,
                   .categories = names, .n_categories = 7, .y_nonneg = 1};
    figure f;
    ck_assert_int_eq(hy_plot_figure(&f, &o, s, 2), 0);
    int n_text = 0, n_disc = 0;
    for (int i = 0; i < f.n; i++) {
        const fig_item *a = &f.items[i];
        if (a->kind == FIG_DISC) n_disc++;
        if (a->kind != FIG_TEXT) continue;
        n_text++;
        double ax0, ay0, ax1, ay1;
        text_box(a, &ax0, &ay0, &ax1, &ay1);
        ck_assert_msg(ax0 >= 0 && ay0 >= 0 && ax1 <= f.w && ay1 <= f.h, "'%s' leaves the %gx%g figure", a->text, f.w, f.h);
        for (int j = 0; j < f.n; j++) {
            const fig_item *b = &f.items[j];
            if (j == i) continue;
            if (b->kind == FIG_TEXT) {
                double bx0, by0, bx1, by1;
                text_box(b, &bx0, &by0, &bx1, &by1);
                ck_assert_msg(!(overlap(ax0, ax1, bx0, bx1) && overlap(ay0, ay1, by0, by1)), "'%s' overlaps '%s'", a->text,
                              b->text);
            } else if (b->kind == FIG_DISC) {
                double r = b->x1;
                ck_assert_msg(!(overlap(ax0, ax1, b->x0 - r, b->x0 + r) && overlap(ay0, ay1, b->y0 - r, b->y0 + r)),
                              "'%s' lies on a marker", a->text);
            }
        }
    }
    // title, 2 axis titles, >= 3 y ticks, 7 names, 2 legend entries; 7 markers + 1 legend marker
    ck_assert_msg(n_text >= 15, "%d text items", n_text);
    ck_assert_int_eq(n_disc, 8);
    hy_fig_free(&f);
}
END_TEST

// Counts the PNG's pixels of one colour.
static long count_color(const uint8_t *rgb, int w, int h, rgb_color c) {
    long k = 0;
    for (long i = 0; i < (long)w * h; i++) k += rgb[3 * i] == c.r && rgb[3 * i + 1] == c.g && rgb[3 * i + 2] == c.b;
    return k;
}

// Both files from one figure: the SVG's size times the scale is the PNG's, the PNG records the
// dpi, and the same labels and colours are in both.
START_TEST(svg_and_png_agree_at_every_scale) {
    char *d = test_tmpdir(), svg[300], png[300];
    double x[5] = {1, 2, 3, 4, 5}, y1[5] = {3, 2.5, 2.2, 2.1, 2.05}, y2[5] = {3.2, 2.9, 2.8, 2.85, 2.9};
    plot_series s[2] = {{"training loss", x, y1, NULL, 5, hy_fig_color(0), PLOT_LINE},
                        {"test loss", x, y2, NULL, 5, hy_fig_color(3), PLOT_LINE}};
    plot_opts o = {.title = "loss per epoch", .xlabel = "epoch", .ylabel = "L2Loss", .y_nonneg = 1};
    snprintf(svg, sizeof svg, "%s/c.svg", d);
    snprintf(png, sizeof png, "%s/c.png", d);
    for (int scale = 1; scale <= 3; scale += 2) {
        hy_figure_set_scale(scale);
        ck_assert_int_eq(hy_plot_write(svg, png, &o, s, 2), 0);
        uint8_t *txt, *rgb, *file;
        size_t n, fn;
        int w, h;
        ck_assert_int_eq(hy_read_file(svg, &txt, &n, 0), 0);
        int sw = 0, sh = 0;
        ck_assert(sscanf(strstr((char *)txt, "width=\""), "width=\"%d\" height=\"%d\"", &sw, &sh) == 2);
        const char *labels[] = {">loss per epoch<", ">epoch<", ">L2Loss<", ">training loss<", ">test loss<", ">2.0<", ">3.2<"};
        for (int i = 0; i < 7; i++) ck_assert_msg(strstr((char *)txt, labels[i]), "SVG lacks %s", labels[i]);
        ck_assert_msg(strstr((char *)txt, "#0072b2") && strstr((char *)txt, "#d55e00"), "SVG colours");
        free(txt);
        ck_assert_int_eq(hy_image_read_rgb8(png, &w, &h, &rgb), 0);
        ck_assert_msg(w == sw * scale && h == sh * scale, "PNG %dx%d, SVG %dx%d at scale %d", w, h, sw, sh, scale);
        ck_assert_msg(count_color(rgb, w, h, hy_fig_color(0)) > 20 * scale && count_color(rgb, w, h, hy_fig_color(3)) > 20 * scale,
                      "PNG lacks the series colours");
        ck_assert_msg(count_color(rgb, w, h, FIG_BLACK) > 500 * scale * scale, "PNG has no text or axes");
        ck_assert_int_eq(hy_read_file(png, &file, &fn, 0), 0);  // pHYs: 96 x scale dpi in pixels per metre
        uint8_t *ph = memmem(file, fn, "pHYs", 4);
        ck_assert_ptr_nonnull(ph);
        uint32_t ppm = (uint32_t)ph[4] << 24 | (uint32_t)ph[5] << 16 | (uint32_t)ph[6] << 8 | ph[7];
        ck_assert_int_eq(ppm, (uint32_t)lround(96 * scale / 0.0254));
        free(file);
        free(rgb);
    }
    hy_figure_set_scale(1);
}
END_TEST

// The palette is Okabe-Ito's seven colours, all distinct.
START_TEST(colour_blind_safe_palette) {
    const rgb_color want[7] = {{0, 114, 178},   {230, 159, 0},   {0, 158, 115}, {213, 94, 0},
                               {204, 121, 167}, {86, 180, 233}, {240, 228, 66}};
    for (int i = 0; i < 14; i++) {
        rgb_color c = hy_fig_color(i), w = want[i % 7];
        ck_assert_msg(c.r == w.r && c.g == w.g && c.b == w.b, "colour %d", i);
    }
}
END_TEST

// comparison.png: a title and a legend line above the faces (dark text in the head band), the
// head and rows as documented in study.h, at scale 1 and 2.
START_TEST(comparison_has_title_and_legend) {
    char *d = test_tmpdir(), p[300];
    int n = 3, R = 16;
    uint8_t *a = calloc((size_t)n * R * R * 3, 1), *b = calloc((size_t)n * R * R * 3, 1);
    memset(b, 200, (size_t)n * R * R * 3);
    face_set gt = {.n = n, .R = R, .rgb = a}, rec = {.n = n, .R = R, .rgb = b};
    double dist[3] = {0.5, 0.7, NAN};
    snprintf(p, sizeof p, "%s/c.png", d);
    for (int S = 1; S <= 2; S++) {
        hy_figure_set_scale(S);
        ck_assert_int_eq(hy_study_comparison_png(p, &gt, &rec, dist, "face-api", 36, "run linear_1500_30 (model linear)"), 0);
        uint8_t *rgb;
        int w, h;
        ck_assert_int_eq(hy_image_read_rgb8(p, &w, &h, &rgb), 0);
        ck_assert_int_eq(h, (COMPARISON_HEAD + COMPARISON_ROW + COMPARISON_PAD) * S);
        long dark_title = 0, dark_legend = 0;
        for (int y = 0; y < COMPARISON_HEAD * S; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *q = rgb + ((size_t)y * w + x) * 3;
                if (q[0] < 128) *(y < 20 * S ? &dark_title : &dark_legend) += 1;
            }
        ck_assert_msg(dark_title > 200 * S && dark_legend > 200 * S, "title %ld, legend %ld dark pixels", dark_title,
                      dark_legend);
        free(rgb);
    }
    hy_figure_set_scale(1);
    free(a), free(b);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("figure");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_ticks);
    tcase_add_test(tc, no_label_over_another_or_a_marker);
    tcase_add_test(tc, svg_and_png_agree_at_every_scale);
    tcase_add_test(tc, colour_blind_safe_palette);
    tcase_add_test(tc, comparison_has_title_and_legend);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
