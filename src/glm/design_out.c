// design_out.c - the design matrix as a TSV table and as a picture (see include/glm/design.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/draw.h"      // canvas, text
#include "base/image_io.h"  // hy_png_write_rgb8
#include "glm/design.h"

int hy_design_write_tsv(const hy_design *d, const char *path) {
    hy_outfile o;
    int rc = hy_out_open(&o, path);
    if (rc) return rc;
    fprintf(o.fp, "frame_time");
    for (int j = 0; j < d->n_cols; j++) fprintf(o.fp, "\t%s", d->names[j]);
    fputc('\n', o.fp);
    for (int t = 0; t < d->n_scans; t++) {
        fprintf(o.fp, "%.17g", d->frame_times[t]);
        for (int j = 0; j < d->n_cols; j++) fprintf(o.fp, "\t%.17g", d->x[(size_t)t * d->n_cols + j]);
        fputc('\n', o.fp);
    }
    return hy_out_commit(&o);
}

// Layout: a band of column names (written upwards) above the matrix; each column cw pixels wide,
// each volume rh pixels high; grey = (value - min) / (max - min) after dividing every column by
// its L2 norm (nilearn's rescale, imshow's autoscaling).
int hy_design_write_png(const hy_design *d, const char *path) {
    int n = d->n_scans, p = d->n_cols;
    int cw = 600 / p;
    cw = cw < 2 ? 2 : cw > 24 ? 24 : cw;
    int rh = n >= 400 ? 1 : 400 / n;
    int maxlen = 0;
    for (int j = 0; j < p; j++) maxlen = (int)strlen(d->names[j]) > maxlen ? (int)strlen(d->names[j]) : maxlen;
    if (maxlen > 40) maxlen = 40;
    int every = cw >= 12 ? 1 : (12 + cw - 1) / cw;  // label every k-th column when they would overlap
    int top = 6 * maxlen + 12, left = 40, w = left + p * cw + 10, h = top + n * rh + 10;
    canvas c;
    rgb_color white = {255, 255, 255}, black = {0, 0, 0};
    int rc = hy_canvas_new(&c, w, h, white);
    if (rc) return rc;
    double *scale = hy_malloc(sizeof(double) * (size_t)p);
    if (!scale) {
        hy_canvas_free(&c);
        return HY_ENOMEM;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < p; j++) {
        double ss = 0;
        for (int t = 0; t < n; t++) ss += d->x[(size_t)t * p + j] * d->x[(size_t)t * p + j];
        scale[j] = 1.0 / fmax(1e-12, sqrt(ss));
        for (int t = 0; t < n; t++) {
            double v = d->x[(size_t)t * p + j] * scale[j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    double span = hi > lo ? hi - lo : 1;
    for (int t = 0; t < n; t++)
        for (int j = 0; j < p; j++) {
            double v = (d->x[(size_t)t * p + j] * scale[j] - lo) / span;
            uint8_t g = (uint8_t)lrint(255 * v);
            hy_draw_rect(&c, left + j * cw, top + t * rh, cw, rh, (rgb_color){g, g, g});
        }
    for (int j = 0; j < p; j += every) {
        char nm[41];
        snprintf(nm, sizeof nm, "%s", d->names[j]);
        hy_draw_text_up(&c, left + j * cw + (cw - 11) / 2, top - 4, nm, 1, black);
    }
    // volume ticks every 50 (or 10 for short runs) on the left
    int tick = n > 200 ? 50 : 10;
    for (int t = 0; t < n; t += tick) {
        char lab[16];
        snprintf(lab, sizeof lab, "%d", t);
        hy_draw_text(&c, 2, top + t * rh, lab, 1, black);
    }
    free(scale);
    rc = hy_png_write_rgb8(path, w, h, c.px);
    hy_canvas_free(&c);
    return rc;
}
