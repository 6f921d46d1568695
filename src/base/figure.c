// figure.c - drawing primitives kept as a list and written as SVG or PNG (include/base/figure.h).
#include "base/figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/image_io.h"

// Okabe-Ito: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow (and black).
const rgb_color FIG_BLACK = {0, 0, 0}, FIG_GREY = {128, 128, 128}, FIG_LIGHT = {225, 225, 225},
                FIG_BLUE = {0, 114, 178}, FIG_ORANGE = {230, 159, 0}, FIG_VERMILLION = {213, 94, 0},
                FIG_GREEN = {0, 158, 115};
rgb_color hy_fig_color(int i) {
    static const rgb_color pal[7] = {{0, 114, 178},   {230, 159, 0},   {0, 158, 115}, {213, 94, 0},
                                     {204, 121, 167}, {86, 180, 233}, {240, 228, 66}};
    return pal[((i % 7) + 7) % 7];
}

static int g_scale = 1;
void hy_figure_set_scale(int scale) { g_scale = scale < 1 ? 1 : scale > 8 ? 8 : scale; }
int hy_figure_scale(void) { return g_scale; }

// --- building the list -------------------------------------------------------------------------

void hy_fig_init(figure *f, double w, double h) {
    memset(f, 0, sizeof *f);
    f->w = w;
    f->h = h;
}

void hy_fig_free(figure *f) {
    for (int i = 0; i < f->n; i++) free(f->items[i].pts), free(f->items[i].text);
    free(f->items);
    memset(f, 0, sizeof *f);
}

static fig_item *add(figure *f, fig_kind k, rgb_color c) {
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        fig_item *p = realloc(f->items, sizeof *p * (size_t)cap);
        if (!p) {
            f->failed = 1;
            return NULL;
        }
        f->items = p, f->cap = cap;
    }
    fig_item *it = &f->items[f->n++];
    memset(it, 0, sizeof *it);
    it->kind = k;
    it->color = c;
    return it;
}

void hy_fig_line(figure *f, double x0, double y0, double x1, double y1, double width, rgb_color c, double dash) {
    fig_item *it = add(f, FIG_LINE, c);
    if (it) it->x0 = x0, it->y0 = y0, it->x1 = x1, it->y1 = y1, it->width = width, it->dash = dash;
}

void hy_fig_polyline(figure *f, const double *x, const double *y, int n, double width, rgb_color c) {
    if (n < 1) return;
    fig_item *it = add(f, FIG_POLYLINE, c);
    if (!it) return;
    if (!(it->pts = malloc(sizeof(double) * 2 * (size_t)n))) {
        f->failed = 1;
        f->n--;
        return;
    }
    for (int i = 0; i < n; i++) it->pts[2 * i] = x[i], it->pts[2 * i + 1] = y[i];
    it->n_pts = n;
    it->width = width;
}

void hy_fig_rect(figure *f, double x, double y, double w, double h, rgb_color c) {
    fig_item *it = add(f, FIG_RECT, c);
    if (it) it->x0 = x, it->y0 = y, it->x1 = w, it->y1 = h;
}

void hy_fig_disc(figure *f, double cx, double cy, double r, rgb_color c) {
    fig_item *it = add(f, FIG_DISC, c);
    if (it) it->x0 = cx, it->y0 = cy, it->x1 = r;
}

void hy_fig_text(figure *f, double x, double y, const char *s, int anchor, int vertical, int bold, rgb_color c) {
    fig_item *it = add(f, FIG_TEXT, c);
    if (!it) return;
    if (!(it->text = strdup(s))) {
        f->failed = 1;
        f->n--;
        return;
    }
    it->x0 = x, it->y0 = y, it->anchor = anchor, it->vertical = vertical, it->bold = bold;
}

double hy_fig_text_width(const char *s) { return FIG_CHAR_W * (double)strlen(s); }

// --- SVG -------------------------------------------------------------------------------------

static void xml_text(FILE *o, const char *s) {
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", o);
        else if (*s == '<') fputs("&lt;", o);
        else if (*s == '>') fputs("&gt;", o);
        else if ((unsigned char)*s < 32) fputc('?', o);
        else fputc(*s, o);
    }
}

int hy_fig_write_svg(const figure *f, const char *path) {
    if (f->failed) return hy_err(HY_ENOMEM, "%s: out of memory while drawing", path);
    hy_outfile out;
    int r = hy_out_open(&out, path);
    if (r) return r;
    FILE *o = out.fp;
    fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"10\">\n",
            f->w, f->h, f->w, f->h);
    fprintf(o, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    for (int i = 0; i < f->n; i++) {
        const fig_item *it = &f->items[i];
        char col[32];
        snprintf(col, sizeof col, "#%02x%02x%02x", it->color.r, it->color.g, it->color.b);
        switch (it->kind) {
        case FIG_LINE:
            fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.1f\"", it->x0,
                    it->y0, it->x1, it->y1, col, it->width);
            if (it->dash > 0) fprintf(o, " stroke-dasharray=\"%.1f,%.1f\"", it->dash, it->dash * 0.6);
            fprintf(o, "/>\n");
            break;
        case FIG_POLYLINE: {
            int open = 0;
            for (int k = 0; k <= it->n_pts; k++) {
                int ok = k < it->n_pts && isfinite(it->pts[2 * k]) && isfinite(it->pts[2 * k + 1]);
                if (ok && !open)
                    fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\" points=\"",
                            col, it->width), open = 1;
                if (ok) fprintf(o, "%.1f,%.1f ", it->pts[2 * k], it->pts[2 * k + 1]);
                else if (open) fprintf(o, "\"/>\n"), open = 0;
            }
            break;
        }
        case FIG_RECT:
            fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", it->x0, it->y0, it->x1,
                    it->y1, col);
            break;
        case FIG_DISC:
            fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", it->x0, it->y0, it->x1, col);
            break;
        case FIG_TEXT: {
            static const char *anchors[3] = {"start", "middle", "end"};
            // the cell's middle line; SVG centres the glyphs on it with dominant-baseline
            double x = it->vertical ? it->x0 + FIG_CHAR_H / 2 : it->x0, y = it->vertical ? it->y0 : it->y0 + FIG_CHAR_H / 2;
            fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"%s\" dominant-baseline=\"central\"%s", x, y,
                    col, anchors[it->anchor], it->bold ? " font-weight=\"bold\"" : "");
            if (it->vertical) fprintf(o, " transform=\"rotate(-90 %.1f %.1f)\"", x, y);
            fputc('>', o);
            xml_text(o, it->text);
            fprintf(o, "</text>\n");
            break;
        }
        }
    }
    fprintf(o, "</svg>\n");
    if (ferror(o)) {
        hy_out_abort(&out);
        return hy_err(HY_EIO, "%s: write failed", path);
    }
    return hy_out_commit(&out);
}

// --- PNG -------------------------------------------------------------------------------------

static int px(double v, int s) { return (int)lround(v * s); }

// A line of the given pixel thickness, dashed when dash > 0 (pixels on, 0.6 dash off).
static void raster_line(canvas *c, double x0, double y0, double x1, double y1, int thick, double dash, rgb_color col) {
    if (dash <= 0) {
        hy_draw_line(c, (int)lround(x0), (int)lround(y0), (int)lround(x1), (int)lround(y1), thick, col);
        return;
    }
    double len = hypot(x1 - x0, y1 - y0), on = dash, period = dash * 1.6;
    for (double t = 0; t < len; t += period) {
        double t1 = fmin(t + on, len);
        hy_draw_line(c, (int)lround(x0 + (x1 - x0) * t / len), (int)lround(y0 + (y1 - y0) * t / len),
                     (int)lround(x0 + (x1 - x0) * t1 / len), (int)lround(y0 + (y1 - y0) * t1 / len), thick, col);
    }
}

static void raster_text(canvas *c, const fig_item *it, int s) {
    int w = hy_text_width(it->text, s);
    int shift = it->anchor == FIG_MIDDLE ? w / 2 : it->anchor == FIG_END ? w : 0;
    int twice = it->bold && s >= 2;  // bold: drawn twice, one pixel apart (at scale 1 that smears the glyphs)
    for (int b = 0; b <= twice; b++) {
        if (it->vertical)
            hy_draw_text_up(c, px(it->x0, s), px(it->y0, s) + shift - b, it->text, s, it->color);
        else hy_draw_text(c, px(it->x0, s) - shift + b, px(it->y0, s), it->text, s, it->color);
    }
}

int hy_fig_write_png(const figure *f, const char *path) {
    if (f->failed) return hy_err(HY_ENOMEM, "%s: out of memory while drawing", path);
    int s = g_scale;
    canvas c;
    int r = hy_canvas_new(&c, px(f->w, s), px(f->h, s), (rgb_color){255, 255, 255});
    if (r) return r;
    for (int i = 0; i < f->n; i++) {
        const fig_item *it = &f->items[i];
        int thick = (int)lround(it->width * s);
        if (thick < 1) thick = 1;
        switch (it->kind) {
        case FIG_LINE:
            raster_line(&c, it->x0 * s, it->y0 * s, it->x1 * s, it->y1 * s, thick, it->dash * s, it->color);
            break;
        case FIG_POLYLINE:
            for (int k = 1; k < it->n_pts; k++) {
                const double *a = it->pts + 2 * (k - 1), *b = it->pts + 2 * k;
                if (isfinite(a[0]) && isfinite(a[1]) && isfinite(b[0]) && isfinite(b[1]))
                    raster_line(&c, a[0] * s, a[1] * s, b[0] * s, b[1] * s, thick, 0, it->color);
            }
            break;
        case FIG_RECT:
            hy_draw_rect(&c, px(it->x0, s), px(it->y0, s), px(it->x0 + it->x1, s) - px(it->x0, s),
                         px(it->y0 + it->y1, s) - px(it->y0, s), it->color);
            break;
        case FIG_DISC:
            hy_draw_disc(&c, it->x0 * s, it->y0 * s, it->x1 * s, it->color);
            break;
        case FIG_TEXT:
            raster_text(&c, it, s);
            break;
        }
    }
    r = hy_png_write_rgb8_dpi(path, c.w, c.h, c.px, 96 * s);
    hy_canvas_free(&c);
    return r;
}
