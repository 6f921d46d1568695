// curve.c - loss curves of iterative decoders: CSV in and out, and a two-line chart (PNG via
// the draw canvas, SVG as text). See include/study/curve.h.
#include "study/curve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/draw.h"
#include "base/image_io.h"

void hy_curve_init(loss_curve *c) { memset(c, 0, sizeof *c); }

void hy_curve_free(loss_curve *c) {
    free(c->epoch);
    free(c->train);
    free(c->test);
    memset(c, 0, sizeof *c);
}

int hy_curve_add(loss_curve *c, int epoch, double train_loss, double test_loss) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 256;
        int *e = realloc(c->epoch, sizeof(int) * cap);
        if (e) c->epoch = e;
        double *a = realloc(c->train, sizeof(double) * cap);
        if (a) c->train = a;
        double *b = realloc(c->test, sizeof(double) * cap);
        if (b) c->test = b;
        if (!e || !a || !b) return hy_err(HY_ENOMEM, "out of memory for a loss curve of %d epochs", cap);
        c->cap = cap;
    }
    c->epoch[c->n] = epoch;
    c->train[c->n] = train_loss;
    c->test[c->n++] = test_loss;
    return HY_OK;
}

static int rows_of(const loss_curve *c, int upto) { return upto <= 0 || upto > c->n ? c->n : upto; }

int hy_curve_write_csv(const char *path, const loss_curve *c, int upto) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    fprintf(o.fp, "epoch,train_loss,test_loss\n");
    for (int i = 0; i < rows_of(c, upto); i++) fprintf(o.fp, "%d,%.9g,%.9g\n", c->epoch[i], c->train[i], c->test[i]);
    return hy_out_commit(&o);
}

int hy_curve_read_csv(const char *path, loss_curve *c) {
    hy_curve_init(c);
    FILE *f = fopen(path, "r");
    if (!f) return hy_err(HY_EIO, "%s: cannot open", path);
    char line[256];
    int r = HY_OK;
    if (!fgets(line, sizeof line, f) || strcmp(line, "epoch,train_loss,test_loss\n") != 0)
        r = hy_err(HY_EFORMAT, "%s: not a loss curve (header is not epoch,train_loss,test_loss)", path);
    while (!r && fgets(line, sizeof line, f)) {
        int ep, used = 0;
        double a, b;
        if (sscanf(line, "%d,%lf,%lf%n", &ep, &a, &b, &used) != 3 || (line[used] != '\n' && line[used] != 0) ||
            ep != c->n + 1)
            r = hy_err(HY_EFORMAT, "%s: line %d is not 'epoch,train_loss,test_loss' for epoch %d", path, c->n + 2,
                       c->n + 1);
        else r = hy_curve_add(c, ep, a, b);
    }
    fclose(f);
    if (!r && c->n == 0) r = hy_err(HY_EFORMAT, "%s: the curve has no epochs", path);
    if (r) hy_curve_free(c);
    return r;
}

// --- chart -----------------------------------------------------------------------------------

typedef struct {
    int W, H, left, right, top, bottom, n;
    double ymin, ymax;
} geom;

static geom make_geom(const loss_curve *c, int n) {
    geom g = {560, 360, 70, 20, 40, 50, n, INFINITY, -INFINITY};
    for (int i = 0; i < n; i++) {
        double v[2] = {c->train[i], c->test[i]};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) g.ymin = fmin(g.ymin, v[k]), g.ymax = fmax(g.ymax, v[k]);
    }
    if (!(g.ymax >= g.ymin)) g.ymin = 0, g.ymax = 1;
    double pad = (g.ymax - g.ymin) * 0.05 + 1e-9;
    g.ymin -= pad, g.ymax += pad;
    return g;
}
static double gx(const geom *g, double epoch) {
    double span = g->W - g->left - g->right;
    return g->left + span * (g->n > 1 ? (epoch - 1) / (g->n - 1) : 0.5);
}
static double gy(const geom *g, double v) {
    return g->top + (g->ymax - v) / (g->ymax - g->ymin) * (g->H - g->top - g->bottom);
}

static int write_svg(const char *path, const loss_curve *c, const geom *g, const char *title, const char *ylabel) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    FILE *f = o.fp;
    int y0 = g->H - g->bottom;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n", g->W,
            g->H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"14\">%s</text>\n", g->left, title);
    for (int t = 0; t <= 4; t++) {
        double v = g->ymin + (g->ymax - g->ymin) * t / 4, y = gy(g, v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", g->left, y, g->W - g->right, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.4g</text>\n", g->left - 5, y + 4, v);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", g->left, g->top, g->left, y0);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", g->left, y0, g->W - g->right, y0);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">epoch (1 .. %d)</text>\n",
            (g->left + g->W - g->right) / 2, y0 + 30, g->n);
    fprintf(f, "<text x=\"14\" y=\"%d\" font-size=\"12\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n",
            (g->top + y0) / 2, (g->top + y0) / 2, ylabel);
    const char *colors[2] = {"#1f4e9c", "#c0392b"}, *names[2] = {"train", "test"};
    int step = g->n > 400 ? (g->n + 399) / 400 : 1;  // at most ~400 points per line
    for (int k = 0; k < 2; k++) {
        const double *v = k ? c->test : c->train;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colors[k]);
        for (int i = 0; i < g->n; i += step)
            if (isfinite(v[i])) fprintf(f, "%.1f,%.1f ", gx(g, c->epoch[i]), gy(g, v[i]));
        if ((g->n - 1) % step && isfinite(v[g->n - 1])) fprintf(f, "%.1f,%.1f", gx(g, c->epoch[g->n - 1]), gy(g, v[g->n - 1]));
        fprintf(f, "\"/>\n<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\" text-anchor=\"end\">%s %.5g</text>\n",
                g->W - g->right, g->top + 14 + 16 * k, colors[k], names[k], v[g->n - 1]);
    }
    fprintf(f, "</svg>\n");
    return hy_out_commit(&o);
}

static int write_png(const char *path, const loss_curve *c, const geom *g, const char *title, const char *ylabel) {
    canvas cv;
    rgb_color white = {255, 255, 255}, black = {0, 0, 0}, grid = {221, 221, 221};
    rgb_color colors[2] = {{31, 78, 156}, {192, 57, 43}};
    int r = hy_canvas_new(&cv, g->W, g->H, white);
    if (r) return r;
    int y0 = g->H - g->bottom;
    hy_draw_text(&cv, g->left, 10, title, 1, black);
    for (int t = 0; t <= 4; t++) {
        double v = g->ymin + (g->ymax - g->ymin) * t / 4;
        int y = (int)gy(g, v);
        hy_draw_line(&cv, g->left, y, g->W - g->right, y, 1, grid);
        char lab[32];
        snprintf(lab, sizeof lab, "%.4g", v);
        hy_draw_text(&cv, g->left - 5 - hy_text_width(lab, 1), y - 5, lab, 1, black);
    }
    hy_draw_line(&cv, g->left, g->top, g->left, y0, 1, black);
    hy_draw_line(&cv, g->left, y0, g->W - g->right, y0, 1, black);
    char lab[64];
    snprintf(lab, sizeof lab, "epoch (1 .. %d)", g->n);
    hy_draw_text(&cv, (g->left + g->W - g->right - hy_text_width(lab, 1)) / 2, y0 + 20, lab, 1, black);
    hy_draw_text_up(&cv, 8, (g->top + y0 + hy_text_width(ylabel, 1)) / 2, ylabel, 1, black);
    for (int k = 0; k < 2; k++) {
        const double *v = k ? c->test : c->train;
        int px = -1, py = -1;
        for (int i = 0; i < g->n; i++) {
            if (!isfinite(v[i])) continue;
            int x = (int)gx(g, c->epoch[i]), y = (int)gy(g, v[i]);
            if (px >= 0 && (x != px || y != py)) hy_draw_line(&cv, px, py, x, y, 2, colors[k]);
            px = x, py = y;
        }
        snprintf(lab, sizeof lab, "%s %.5g", k ? "test" : "train", v[g->n - 1]);
        hy_draw_text(&cv, g->W - g->right - hy_text_width(lab, 1), g->top + 4 + 14 * k, lab, 1, colors[k]);
    }
    r = hy_png_write_rgb8(path, cv.w, cv.h, cv.px);
    hy_canvas_free(&cv);
    return r;
}

int hy_curve_plot(const char *png_path, const char *svg_path, const loss_curve *c, int upto, const char *title,
                  const char *ylabel) {
    int n = rows_of(c, upto);
    if (n < 1) return hy_err(HY_EARG, "loss curve '%s' has no epochs to draw", title);
    geom g = make_geom(c, n);
    int r = HY_OK;
    if (svg_path) r = write_svg(svg_path, c, &g, title, ylabel);
    if (!r && png_path) r = write_png(png_path, c, &g, title, ylabel);
    return r;
}
