// curve.c - loss curves of iterative decoders: CSV in and out, and a two-line chart (PNG and
// SVG through base/lineplot.h). See include/study/curve.h.
#include "study/curve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/lineplot.h"

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

// --- chart ---------------------------------------------------------------------------------------

// Both losses against the epoch, drawn with the report's line-chart layout (base/lineplot.h).
int hy_curve_plot(const char *png_path, const char *svg_path, const loss_curve *c, int upto, const char *title,
                  const char *ylabel) {
    int n = rows_of(c, upto);
    if (n < 1) return hy_err(HY_EARG, "loss curve '%s' has no epochs to draw", title);
    double *x = hy_malloc(sizeof(double) * (size_t)n);
    if (!x) return HY_ENOMEM;
    for (int i = 0; i < n; i++) x[i] = c->epoch[i];
    plot_series s[2] = {{"train", x, c->train, n, hy_plot_color(0)}, {"test", x, c->test, n, hy_plot_color(3)}};
    plot_opts o = {title, "epoch", ylabel, 0, 0, 0};
    int r = HY_OK;
    if (svg_path) r = hy_plot_svg(svg_path, &o, s, 2);
    if (!r && png_path) r = hy_plot_png(png_path, &o, s, 2);
    free(x);
    return r;
}
