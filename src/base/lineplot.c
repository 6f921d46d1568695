// lineplot.c - line charts as SVG and PNG with one shared layout (include/base/lineplot.h).
#include "base/lineplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/image_io.h"

#define FONT_W 6   // bitmap font cell (font6x11.h), also the SVG character width estimate
#define MAX_LEGEND 64

rgb_color hy_plot_color(int i) {
    static const rgb_color pal[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                      {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                      {188, 189, 34},  {23, 190, 207}};
    return pal[((i % 10) + 10) % 10];
}

void hy_xml_escape(char *out, int len, const char *s) {
    int k = 0;
    for (; *s && k < len - 7; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (rep) k += snprintf(out + k, (size_t)(len - k), "%s", rep);
        else out[k++] = *s;
    }
    out[k < len ? k : len - 1] = 0;
}

// Layout shared by both writers: the plot area, the data ranges and the legend entries.
typedef struct {
    int W, H, left, top, pw, ph, legend_x;
    double x0, x1, y0, y1;  // y in log10 units when log_y
    int log_y;
    int n_leg, leg[MAX_LEGEND];  // series index of each legend entry
} layout;

static int usable(const plot_opts *o, double x, double y) { return isfinite(x) && isfinite(y) && (!o->log_y || y > 0); }

static layout make_layout(const plot_opts *o, const plot_series *s, int n) {
    layout L = {0};
    L.log_y = o->log_y;
    L.pw = o->width > 0 ? o->width : 640;
    L.ph = o->height > 0 ? o->height : 360;
    L.left = 80, L.top = 40;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int widest = 0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < s[i].n; k++) {
            if (!usable(o, s[i].x[k], s[i].y[k])) continue;
            double y = o->log_y ? log10(s[i].y[k]) : s[i].y[k];
            x0 = fmin(x0, s[i].x[k]), x1 = fmax(x1, s[i].x[k]), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
        if (!s[i].label) continue;
        int seen = 0;
        for (int j = 0; j < L.n_leg && !seen; j++) seen = !strcmp(s[L.leg[j]].label, s[i].label);
        if (!seen && L.n_leg < MAX_LEGEND) {
            L.leg[L.n_leg++] = i;
            int w = (int)strlen(s[i].label);
            if (w > widest) widest = w;
        }
    }
    if (!(x0 <= x1)) x0 = 0, x1 = 1;
    if (!(y0 <= y1)) y0 = 0, y1 = 1;
    if (x1 == x0) x0 -= 1, x1 += 1;
    if (y1 == y0) y0 -= 0.5, y1 += 0.5;
    double pad = (y1 - y0) * 0.05;
    L.x0 = x0, L.x1 = x1, L.y0 = y0 - pad, L.y1 = y1 + pad;
    L.legend_x = L.left + L.pw + 20;
    L.W = L.legend_x + (L.n_leg ? 30 + FONT_W * widest + 10 : 0) + 10;
    int legend_h = L.top + 14 * L.n_leg + 10;
    L.H = L.top + L.ph + 50;
    if (legend_h > L.H) L.H = legend_h;
    return L;
}

static double px(const layout *L, double x) { return L->left + (x - L->x0) / (L->x1 - L->x0) * L->pw; }
static double py(const layout *L, double y) { return L->top + (L->y1 - y) / (L->y1 - L->y0) * L->ph; }

// Tick value t of 5 on an axis from a to b, and its label (log axes label 10^v).
static double tick(double a, double b, int t) { return a + (b - a) * t / 4; }
static void tick_label(char *buf, int len, double v, int log_axis) {
    snprintf(buf, (size_t)len, "%.4g", log_axis ? pow(10, v) : v);
}

int hy_plot_svg(const char *path, const plot_opts *o, const plot_series *s, int n) {
    layout L = make_layout(o, s, n);
    hy_outfile out;
    int r = hy_out_open(&out, path);
    if (r) return r;
    FILE *f = out.fp;
    char esc[512];
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n", L.W,
            L.H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    hy_xml_escape(esc, sizeof esc, o->title ? o->title : "");
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">%s</text>\n", L.left, esc);
    int yb = L.top + L.ph, xr = L.left + L.pw;
    for (int t = 0; t <= 4; t++) {
        char lab[64];
        double yv = tick(L.y0, L.y1, t), xv = tick(L.x0, L.x1, t);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L.left, py(&L, yv), xr,
                py(&L, yv));
        tick_label(lab, sizeof lab, yv, L.log_y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n", L.left - 5,
                py(&L, yv) + 4, lab);
        tick_label(lab, sizeof lab, xv, 0);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", px(&L, xv), yb + 16,
                lab);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n", L.left, L.top,
            L.pw, L.ph);
    hy_xml_escape(esc, sizeof esc, o->xlabel ? o->xlabel : "");
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n", L.left + L.pw / 2,
            yb + 36, esc);
    hy_xml_escape(esc, sizeof esc, o->ylabel ? o->ylabel : "");
    fprintf(f, "<text x=\"18\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">%s%s</text>\n",
            L.top + L.ph / 2, L.top + L.ph / 2, esc, L.log_y ? " (log scale)" : "");
    for (int i = 0; i < n; i++) {
        const plot_series *q = &s[i];
        int open = 0;
        for (int k = 0; k <= q->n; k++) {
            int ok = k < q->n && usable(o, q->x[k], q->y[k]);
            if (ok && !open)
                fprintf(f, "<polyline fill=\"none\" stroke=\"rgb(%d,%d,%d)\" stroke-width=\"1.3\" points=\"", q->color.r,
                        q->color.g, q->color.b), open = 1;
            if (ok) fprintf(f, "%.1f,%.1f ", px(&L, q->x[k]), py(&L, L.log_y ? log10(q->y[k]) : q->y[k]));
            else if (open) fprintf(f, "\"/>\n"), open = 0;
        }
    }
    for (int j = 0; j < L.n_leg; j++) {
        const plot_series *q = &s[L.leg[j]];
        int y = L.top + 8 + 14 * j;
        hy_xml_escape(esc, sizeof esc, q->label);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"rgb(%d,%d,%d)\" stroke-width=\"3\"/>\n",
                L.legend_x, y, L.legend_x + 22, y, q->color.r, q->color.g, q->color.b);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", L.legend_x + 28, y + 4, esc);
    }
    fprintf(f, "</svg>\n");
    return hy_out_commit(&out);
}

int hy_plot_png(const char *path, const plot_opts *o, const plot_series *s, int n) {
    layout L = make_layout(o, s, n);
    canvas c;
    rgb_color white = {255, 255, 255}, black = {0, 0, 0}, grid = {221, 221, 221};
    int r = hy_canvas_new(&c, L.W, L.H, white);
    if (r) return r;
    int yb = L.top + L.ph, xr = L.left + L.pw;
    hy_draw_text(&c, L.left, 12, o->title ? o->title : "", 1, black);
    for (int t = 0; t <= 4; t++) {
        char lab[64];
        double yv = tick(L.y0, L.y1, t), xv = tick(L.x0, L.x1, t);
        int y = (int)lround(py(&L, yv)), x = (int)lround(px(&L, xv));
        hy_draw_line(&c, L.left, y, xr, y, 1, grid);
        tick_label(lab, sizeof lab, yv, L.log_y);
        hy_draw_text(&c, L.left - 5 - hy_text_width(lab, 1), y - 5, lab, 1, black);
        tick_label(lab, sizeof lab, xv, 0);
        hy_draw_text(&c, x - hy_text_width(lab, 1) / 2, yb + 6, lab, 1, black);
    }
    hy_draw_line(&c, L.left, L.top, xr, L.top, 1, black);
    hy_draw_line(&c, L.left, yb, xr, yb, 1, black);
    hy_draw_line(&c, L.left, L.top, L.left, yb, 1, black);
    hy_draw_line(&c, xr, L.top, xr, yb, 1, black);
    const char *xl = o->xlabel ? o->xlabel : "";
    hy_draw_text(&c, L.left + L.pw / 2 - hy_text_width(xl, 1) / 2, yb + 26, xl, 1, black);
    char yl[256];
    snprintf(yl, sizeof yl, "%s%s", o->ylabel ? o->ylabel : "", L.log_y ? " (log scale)" : "");
    hy_draw_text_up(&c, 8, L.top + L.ph / 2 + hy_text_width(yl, 1) / 2, yl, 1, black);
    for (int i = 0; i < n; i++) {
        const plot_series *q = &s[i];
        int have = 0, x0 = 0, y0 = 0;
        for (int k = 0; k < q->n; k++) {
            if (!usable(o, q->x[k], q->y[k])) {
                have = 0;
                continue;
            }
            int x = (int)lround(px(&L, q->x[k])), y = (int)lround(py(&L, L.log_y ? log10(q->y[k]) : q->y[k]));
            if (have) hy_draw_line(&c, x0, y0, x, y, 1, q->color);
            else hy_draw_rect(&c, x, y, 1, 1, q->color);
            x0 = x, y0 = y, have = 1;
        }
    }
    for (int j = 0; j < L.n_leg; j++) {
        const plot_series *q = &s[L.leg[j]];
        int y = L.top + 8 + 14 * j;
        hy_draw_line(&c, L.legend_x, y, L.legend_x + 22, y, 3, q->color);
        hy_draw_text(&c, L.legend_x + 28, y - 5, q->label, 1, black);
    }
    r = hy_png_write_rgb8(path, c.w, c.h, c.px);
    hy_canvas_free(&c);
    return r;
}
