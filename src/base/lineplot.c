// lineplot.c - charts with round ticks, axis titles and a legend, laid out once as a figure
// (include/base/lineplot.h) and written as SVG and PNG.
#include "base/lineplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

#define MAX_LEGEND 64
#define MAX_TICKS 24

void hy_xml_escape(char *out, int len, const char *s) {
    int k = 0;
    for (; *s && k < len - 7; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (rep) k += snprintf(out + k, (size_t)(len - k), "%s", rep);
        else out[k++] = *s;
    }
    out[k < len ? k : len - 1] = 0;
}

// --- ticks ------------------------------------------------------------------------------------

// The smallest round step (1, 2 or 5 x 10^k) whose ticks cover [lo, hi] in at most 6 intervals.
static double nice_step(double lo, double hi) {
    double p = pow(10, floor(log10((hi - lo) / 6))) / 10;
    for (;; p *= 10)
        for (int k = 0; k < 3; k++) {
            double step = (k == 0 ? 1 : k == 1 ? 2 : 5) * p;
            if (ceil(hi / step - 1e-9) - floor(lo / step + 1e-9) <= 6) return step;
        }
}

void hy_plot_ticks(double lo, double hi, int log_axis, double *t, int *n, int max, double *a0, double *a1,
                   int *decimals) {
    *n = 0;
    *decimals = 0;
    if (!(hi > lo)) hi = lo + (log_axis ? 1 : fabs(lo) > 0 ? fabs(lo) * 0.1 : 1);  // one value: a range around it
    if (log_axis) {
        // powers of ten, with 2 and 5 between them on short ranges
        double e0 = floor(lo + 1e-9), e1 = ceil(hi - 1e-9);
        if (e1 <= e0) e1 = e0 + 1;
        static const double sub_short[3] = {1, 2, 5};
        int dense = hi - lo < 2;  // under two decades of data
        *a0 = e0, *a1 = e1;
        if (dense) {  // tighten the ends to the 1-2-5 ticks around the data
            double best0 = e0, best1 = e1;
            for (double e = e0; e <= e1; e++)
                for (int k = 0; k < 3; k++) {
                    double v = e + log10(sub_short[k]);
                    if (v <= lo + 1e-9 && v > best0) best0 = v;
                    if (v >= hi - 1e-9 && v < best1) best1 = v;
                }
            *a0 = best0, *a1 = best1;
        }
        for (double e = e0; e <= e1 && *n < max; e++)
            for (int k = 0; k < (dense ? 3 : 1) && *n < max; k++) {
                double v = e + log10(sub_short[k]);
                if (v >= *a0 - 1e-9 && v <= *a1 + 1e-9) t[(*n)++] = v;
            }
        double smallest = pow(10, *a0);
        *decimals = smallest >= 1 ? 0 : (int)ceil(-log10(smallest) - 1e-9);
        return;
    }
    double step = nice_step(lo, hi);
    *a0 = floor(lo / step + 1e-9) * step;
    *a1 = ceil(hi / step - 1e-9) * step;
    while (((*a1 - *a0) / step) + 1 > max) step *= 2, *a0 = floor(lo / step) * step, *a1 = ceil(hi / step) * step;
    for (double v = *a0; v <= *a1 + step * 1e-6 && *n < max; v += step) t[(*n)++] = fabs(v) < step * 1e-9 ? 0 : v;
    *decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
}

static void tick_label(char *buf, int len, double v, int log_axis, int decimals) {
    double x = log_axis ? pow(10, v) : v;
    if (fabs(x) >= 1e6 || (x != 0 && fabs(x) < 1e-4)) snprintf(buf, (size_t)len, "%.0e", x);
    else snprintf(buf, (size_t)len, "%.*f", decimals, x);
}

// --- layout -----------------------------------------------------------------------------------

static int usable(const plot_opts *o, double x, double y) { return isfinite(x) && isfinite(y) && (!o->log_y || y > 0); }
static double yval(const plot_opts *o, double y) { return o->log_y ? log10(y) : y; }

typedef struct {
    double left, top, pw, ph;    // plot area
    double x0, x1, y0, y1;       // axis ranges (y in log10 units on a log axis)
    double xt[MAX_TICKS], yt[MAX_TICKS];
    int nxt, nyt, xdec, ydec;
    double xtitle_y, legend_x, W, H;
    int leg[MAX_LEGEND], n_leg;  // series index of each legend entry
} axes;

static double ax(const axes *A, double x) { return A->left + (x - A->x0) / (A->x1 - A->x0) * A->pw; }
static double ay(const axes *A, double y) { return A->top + (A->y1 - y) / (A->y1 - A->y0) * A->ph; }

// Data ranges of every usable point, error bars included.
static void data_range(const plot_opts *o, const plot_series *s, int n, double *x0, double *x1, double *y0,
                       double *y1) {
    *x0 = *y0 = INFINITY, *x1 = *y1 = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < s[i].n; k++) {
            double e = s[i].err && isfinite(s[i].err[k]) ? s[i].err[k] : 0;
            for (int sign = -1; sign <= 1; sign += 2) {
                double y = s[i].y[k] + sign * e;
                if (!usable(o, s[i].x[k], y)) continue;
                *x0 = fmin(*x0, s[i].x[k]), *x1 = fmax(*x1, s[i].x[k]);
                *y0 = fmin(*y0, yval(o, y)), *y1 = fmax(*y1, yval(o, y));
            }
        }
}

// Axis ranges and ticks, then the regions around the plot area: each label gets its own.
static void layout(axes *A, const plot_opts *o, const plot_series *s, int n) {
    memset(A, 0, sizeof *A);
    A->pw = o->width > 0 ? o->width : 560;
    A->ph = o->height > 0 ? o->height : 320;
    double dx0, dx1, dy0, dy1;
    data_range(o, s, n, &dx0, &dx1, &dy0, &dy1);
    if (!(dy0 <= dy1)) dy0 = 0, dy1 = 1;
    int floor_y = o->y_nonneg && !o->log_y;
    if (floor_y && dy0 < 0) dy0 = 0;
    hy_plot_ticks(dy0, dy1, o->log_y, A->yt, &A->nyt, MAX_TICKS, &A->y0, &A->y1, &A->ydec);
    int cat = o->categories && o->n_categories > 0;
    if (cat) {
        A->x0 = -0.5, A->x1 = o->n_categories - 0.5;
        if (A->pw < 30.0 * o->n_categories) A->pw = 30.0 * o->n_categories;  // a vertical name is 11 wide
    } else {
        if (!(dx0 <= dx1)) dx0 = 0, dx1 = 1;
        if (dx1 == dx0) dx0 -= 1, dx1 += 1;
        hy_plot_ticks(dx0, dx1, 0, A->xt, &A->nxt, MAX_TICKS, &A->x0, &A->x1, &A->xdec);
    }
    double widest_y = 0;  // left margin: the y axis title and the widest tick label
    char lab[64];
    for (int t = 0; t < A->nyt; t++) {
        tick_label(lab, sizeof lab, A->yt[t], o->log_y, A->ydec);
        widest_y = fmax(widest_y, hy_fig_text_width(lab));
    }
    A->left = 8 + FIG_CHAR_H + 10 + widest_y + 6;
    A->top = 12 + FIG_CHAR_H + 14;
    double below = 6 + FIG_CHAR_H;  // tick labels, or category names reading upwards
    for (int i = 0; cat && i < o->n_categories; i++) below = fmax(below, 6 + hy_fig_text_width(o->categories[i]));
    A->xtitle_y = A->top + A->ph + below + 8;
    double leg_w = 0;
    for (int i = 0; i < n && A->n_leg < MAX_LEGEND; i++) {
        if (!s[i].label) continue;
        int seen = 0;
        for (int j = 0; j < A->n_leg && !seen; j++) seen = !strcmp(s[A->leg[j]].label, s[i].label);
        if (!seen) A->leg[A->n_leg++] = i, leg_w = fmax(leg_w, 30 + hy_fig_text_width(s[i].label));
    }
    A->legend_x = A->left + A->pw + 16;
    A->W = fmax(A->legend_x + (A->n_leg ? leg_w + 10 : 0), 16 + hy_fig_text_width(o->title ? o->title : ""));
    A->H = fmax(A->xtitle_y + FIG_CHAR_H + 10, A->top + 16.0 * A->n_leg + 10);
}

static void draw_axes(figure *f, const axes *A, const plot_opts *o) {
    char lab[64];
    hy_fig_text(f, 8, 10, o->title ? o->title : "", FIG_START, 0, 1, FIG_BLACK);
    for (int t = 0; t < A->nyt; t++) {
        double y = ay(A, A->yt[t]);
        hy_fig_line(f, A->left, y, A->left + A->pw, y, 1, FIG_LIGHT, 0);
        tick_label(lab, sizeof lab, A->yt[t], o->log_y, A->ydec);
        hy_fig_text(f, A->left - 6, y - FIG_CHAR_H / 2, lab, FIG_END, 0, 0, FIG_BLACK);
    }
    for (int t = 0; t < A->nxt; t++) {
        double x = ax(A, A->xt[t]);
        hy_fig_line(f, x, A->top + A->ph, x, A->top + A->ph + 4, 1, FIG_BLACK, 0);
        tick_label(lab, sizeof lab, A->xt[t], 0, A->xdec);
        hy_fig_text(f, x, A->top + A->ph + 6, lab, FIG_MIDDLE, 0, 0, FIG_BLACK);
    }
    for (int i = 0; o->categories && i < o->n_categories; i++) {
        double x = ax(A, i);
        hy_fig_line(f, x, A->top + A->ph, x, A->top + A->ph + 4, 1, FIG_BLACK, 0);
        hy_fig_text(f, x - FIG_CHAR_H / 2, A->top + A->ph + 6, o->categories[i], FIG_END, 1, 0, FIG_BLACK);
    }
    hy_fig_line(f, A->left, A->top, A->left, A->top + A->ph, 1, FIG_BLACK, 0);
    hy_fig_line(f, A->left, A->top + A->ph, A->left + A->pw, A->top + A->ph, 1, FIG_BLACK, 0);
    hy_fig_text(f, A->left + A->pw / 2, A->xtitle_y, o->xlabel ? o->xlabel : "", FIG_MIDDLE, 0, 0, FIG_BLACK);
    char yl[300];
    snprintf(yl, sizeof yl, "%s%s", o->ylabel ? o->ylabel : "", o->log_y ? " (log scale)" : "");
    hy_fig_text(f, 8, A->top + A->ph / 2, yl, FIG_MIDDLE, 1, 0, FIG_BLACK);
}

// Markers with error bars (an end below a log axis is cut at the axis).
static void draw_points(figure *f, const axes *A, const plot_opts *o, const plot_series *q) {
    for (int k = 0; k < q->n; k++) {
        if (!usable(o, q->x[k], q->y[k])) continue;
        double x = ax(A, q->x[k]), y = ay(A, yval(o, q->y[k]));
        double e = q->err && isfinite(q->err[k]) ? q->err[k] : 0;
        if (e > 0) {
            double lo = q->y[k] - e, hi = q->y[k] + e;
            double ylo = usable(o, q->x[k], lo) ? ay(A, yval(o, lo)) : A->top + A->ph, yhi = ay(A, yval(o, hi));
            hy_fig_line(f, x, ylo, x, yhi, 1.5, q->color, 0);
            hy_fig_line(f, x - 4, ylo, x + 4, ylo, 1, q->color, 0);
            hy_fig_line(f, x - 4, yhi, x + 4, yhi, 1, q->color, 0);
        }
        hy_fig_disc(f, x, y, 3.5, q->color);
    }
}

static int draw_line(figure *f, const axes *A, const plot_opts *o, const plot_series *q) {
    size_t m = (size_t)(q->n > 0 ? q->n : 1);
    double *px = malloc(sizeof(double) * m), *py = malloc(sizeof(double) * m);
    if (!px || !py) {
        free(px), free(py);
        return hy_err(HY_ENOMEM, "out of memory drawing a chart");
    }
    for (int k = 0; k < q->n; k++) {
        int ok = usable(o, q->x[k], q->y[k]);
        px[k] = ok ? ax(A, q->x[k]) : NAN;
        py[k] = ok ? ay(A, yval(o, q->y[k])) : NAN;
    }
    if (q->style == PLOT_DASHED) {
        for (int k = 1; k < q->n; k++)
            if (isfinite(px[k - 1]) && isfinite(px[k])) hy_fig_line(f, px[k - 1], py[k - 1], px[k], py[k], 1.5, q->color, 6);
    } else {
        hy_fig_polyline(f, px, py, q->n, 1.5, q->color);
    }
    free(px), free(py);
    return HY_OK;
}

// The legend beside the plot area: a swatch in each series' style, then its label.
static void draw_legend(figure *f, const axes *A, const plot_series *s) {
    for (int j = 0; j < A->n_leg; j++) {
        const plot_series *q = &s[A->leg[j]];
        double y = A->top + 16.0 * j, ym = y + FIG_CHAR_H / 2, x = A->legend_x;
        if (q->style == PLOT_POINTS) {
            if (q->err) hy_fig_line(f, x + 11, ym - 5, x + 11, ym + 5, 1.5, q->color, 0);
            hy_fig_disc(f, x + 11, ym, 3.5, q->color);
        } else {
            hy_fig_line(f, x, ym, x + 22, ym, q->style == PLOT_DASHED ? 1.5 : 2.5, q->color, q->style == PLOT_DASHED ? 5 : 0);
        }
        hy_fig_text(f, x + 30, y, q->label, FIG_START, 0, 0, FIG_BLACK);
    }
}

int hy_plot_figure(figure *f, const plot_opts *o, const plot_series *s, int n) {
    axes A;
    layout(&A, o, s, n);
    hy_fig_init(f, ceil(A.W), ceil(A.H));
    draw_axes(f, &A, o);
    for (int i = 0; i < n; i++) {
        if (s[i].style == PLOT_POINTS) draw_points(f, &A, o, &s[i]);
        else if (draw_line(f, &A, o, &s[i])) return HY_ENOMEM;
    }
    draw_legend(f, &A, s);
    return f->failed ? hy_err(HY_ENOMEM, "out of memory drawing a chart") : HY_OK;
}

int hy_plot_write(const char *svg_path, const char *png_path, const plot_opts *o, const plot_series *s, int n) {
    figure f;
    int r = hy_plot_figure(&f, o, s, n);
    if (!r && svg_path) r = hy_fig_write_svg(&f, svg_path);
    if (!r && png_path) r = hy_fig_write_png(&f, png_path);
    hy_fig_free(&f);
    return r;
}
