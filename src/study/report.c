// report.c - ranked results table (CSV, Markdown) and a chart of the first identity model's mean
// distance per run with s.e. error bars and the shuffled-pair baseline (SVG and PNG); the
// Markdown also lists every identity model and the attribute agreement.
#include "study/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/draw.h"
#include "base/image_io.h"

static int cmp_rows(const void *a, const void *b) {
    const run_summary *x = a, *y = b;
    if (x->dist_mean < y->dist_mean) return -1;
    if (x->dist_mean > y->dist_mean) return 1;
    return strcmp(x->name, y->name);
}

int hy_report_format_csv(char *buf, int len, int rank, const run_summary *r) {
    int k = snprintf(buf, (size_t)len, "%d,%s,%s,%d,%d,%.6f,%.6f,%.6f,%.6g,%.6f,%.6f,%.6f,%.6f,%.6g,%.6g,", rank,
                     r->name, r->model, r->epochs, r->batch, r->dist_mean, r->dist_se, r->baseline, r->null_p,
                     r->cosine, r->ident_acc, r->collapse, r->pixel_r, r->gender_match, r->age_r);
    for (int m = 0; m < r->n_models && k > 0 && k < len; m++) {
        const model_summary *x = &r->models[m];
        k += snprintf(buf + k, (size_t)(len - k), "%s%s:%.6f:%.6f:%.6g:%.6g:%.6g:%.6g", m ? ";" : "", x->name,
                      x->dist_mean, x->dist_se, x->threshold, x->same_rate, x->shuffled_same, x->null_p);
    }
    return k;
}

// "name:mean:se:thr:same:shuffled:p;..." -> r->models
static int parse_models(const char *s, run_summary *r) {
    r->n_models = 0;
    while (*s && *s != '\n' && *s != '\r') {
        if (r->n_models == REPORT_MAX_MODELS) return HY_EFORMAT;
        model_summary *x = &r->models[r->n_models];
        int used = 0;
        if (sscanf(s, "%31[^:;,\n]:%lf:%lf:%lf:%lf:%lf:%lf%n", x->name, &x->dist_mean, &x->dist_se, &x->threshold,
                   &x->same_rate, &x->shuffled_same, &x->null_p, &used) != 7)
            return HY_EFORMAT;
        r->n_models++;
        s += used;
        if (*s == ';') s++;
    }
    return HY_OK;
}

int hy_report_parse_csv(const char *line, run_summary *r) {
    memset(r, 0, sizeof *r);
    int rank, used = 0;
    int n = sscanf(line, "%d,%127[^,],%31[^,],%d,%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%n", &rank, r->name,
                   r->model, &r->epochs, &r->batch, &r->dist_mean, &r->dist_se, &r->baseline, &r->null_p, &r->cosine,
                   &r->ident_acc, &r->collapse, &r->pixel_r, &r->gender_match, &r->age_r, &used);
    if (n != 15 || !used || parse_models(line + used, r)) return hy_err(HY_EFORMAT, "bad results row: %.80s", line);
    return HY_OK;
}

// The identity model that ranks the runs (rows made before models were named: FaceNet).
static const char *rank_model(const run_summary *rows, int n) {
    return n > 0 && rows[0].n_models > 0 ? rows[0].models[0].name : "FaceNet";
}

static int write_csv(const char *path, const run_summary *rows, int n) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    fprintf(o.fp, "%s\n", REPORT_CSV_HEADER);
    for (int i = 0; i < n; i++) {
        char line[2048];
        hy_report_format_csv(line, sizeof line, i + 1, &rows[i]);
        fprintf(o.fp, "%s\n", line);
    }
    return hy_out_commit(&o);
}

static int write_md(const char *path, const run_summary *rows, int n, const char *title) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    FILE *f = o.fp;
    fprintf(f, "# %s\n\n", title);
    fprintf(f, "Ranked by the mean %s distance between the ground-truth face and its reconstruction (lower is better).\n",
            rank_model(rows, n));
    fprintf(f, "Baseline: mean distance of non-matching (shuffled) pairs. Collapse: spread of the predicted latents\n");
    fprintf(f, "relative to the true ones (1 = same spread, near 0 = every prediction is the same face).\n\n");
    int attr = 0;
    for (int i = 0; i < n; i++) attr |= isfinite(rows[i].gender_match) || isfinite(rows[i].age_r);
    fprintf(f, "| rank | model | mean distance | s.e. | baseline | null p | latent cosine | identification | collapse | "
               "pixel r |%s\n", attr ? " gender match | age r |" : "");
    fprintf(f, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|%s\n", attr ? "---:|---:|" : "");
    for (int i = 0; i < n; i++) {
        const run_summary *x = &rows[i];
        char p[32] = "-";
        if (!isnan(x->null_p)) snprintf(p, sizeof p, "%.3g", x->null_p);
        fprintf(f, "| %d | %s | %.4f | %.4f | %.4f | %s | %.4f | %.3f | %.3f | %.3f |", i + 1, x->name, x->dist_mean,
                x->dist_se, x->baseline, p, x->cosine, x->ident_acc, x->collapse, x->pixel_r);
        if (attr) fprintf(f, " %.3f | %.3f |", x->gender_match, x->age_r);
        fprintf(f, "\n");
    }
    // every identity model of every run: distance and same-person rate at the model's threshold
    int nm = 0;
    for (int i = 0; i < n; i++) nm = rows[i].n_models > nm ? rows[i].n_models : nm;
    if (nm > 1 || (nm == 1 && isfinite(rows[0].models[0].threshold))) {
        fprintf(f, "\nEvery identity model (same person: distance below the model's threshold; shuffled: the rate "
                   "for non-matching pairs).\n\n| rank | model |");
        for (int m = 0; m < rows[0].n_models; m++)
            fprintf(f, " %s distance | %s same (thr) | %s shuffled | %s null p |", rows[0].models[m].name,
                    rows[0].models[m].name, rows[0].models[m].name, rows[0].models[m].name);
        fprintf(f, "\n|---:|---|");
        for (int m = 0; m < rows[0].n_models; m++) fprintf(f, "---:|---:|---:|---:|");
        fprintf(f, "\n");
        for (int i = 0; i < n; i++) {
            fprintf(f, "| %d | %s |", i + 1, rows[i].name);
            for (int m = 0; m < rows[i].n_models; m++) {
                const model_summary *x = &rows[i].models[m];
                if (isfinite(x->threshold))
                    fprintf(f, " %.4f +/- %.4f | %.3f (%.3g) | %.3f | %.3g |", x->dist_mean, x->dist_se, x->same_rate,
                            x->threshold, x->shuffled_same, x->null_p);
                else
                    fprintf(f, " %.4f +/- %.4f | - | - | %.3g |", x->dist_mean, x->dist_se, x->null_p);
            }
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\nChart: `chart.svg` / `chart.png`. Per-run details: `runs/<model>/`.\n");
    return hy_out_commit(&o);
}

// Chart geometry shared by the SVG and PNG renderers.
typedef struct {
    int W, H, left, right, top, bottom;
    double ymin, ymax;
} chart_geom;

static chart_geom geom(const run_summary *rows, int n) {
    chart_geom g = {0};
    g.left = 70, g.right = 20, g.top = 40, g.bottom = 150;
    g.W = g.left + g.right + (n > 0 ? n : 1) * 36 + 20;
    if (g.W < 480) g.W = 480;
    g.H = 420;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, rows[i].dist_mean - rows[i].dist_se);
        hi = fmax(hi, rows[i].dist_mean + rows[i].dist_se);
        if (isfinite(rows[i].baseline)) lo = fmin(lo, rows[i].baseline), hi = fmax(hi, rows[i].baseline);
    }
    if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
    double pad = (hi - lo) * 0.1 + 1e-3;
    g.ymin = fmax(0, lo - pad);
    g.ymax = hi + pad;
    return g;
}
static double ypix(const chart_geom *g, double v) {
    return g->top + (g->ymax - v) / (g->ymax - g->ymin) * (g->H - g->top - g->bottom);
}
static double xpix(const chart_geom *g, int i, int n) {
    double span = g->W - g->left - g->right;
    return g->left + span * (i + 0.5) / (n > 0 ? n : 1);
}
static double mean_baseline(const run_summary *rows, int n) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(rows[i].baseline)) s += rows[i].baseline, k++;
    return k ? s / k : NAN;
}

static int write_svg(const char *path, const run_summary *rows, int n, const char *title) {
    chart_geom g = geom(rows, n);
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    FILE *f = o.fp;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n", g.W, g.H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">%s</text>\n", g.left, title);
    int y0 = g.H - g.bottom;
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", g.left, g.top, g.left, y0);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", g.left, y0, g.W - g.right, y0);
    for (int t = 0; t <= 5; t++) {
        double v = g.ymin + (g.ymax - g.ymin) * t / 5;
        double y = ypix(&g, v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", g.left, y, g.W - g.right, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.3f</text>\n", g.left - 5, y + 4, v);
    }
    fprintf(f, "<text x=\"16\" y=\"%d\" font-size=\"12\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">mean %s distance</text>\n",
            (g.top + y0) / 2, (g.top + y0) / 2, rank_model(rows, n));
    for (int i = 0; i < n; i++) {
        double x = xpix(&g, i, n), y = ypix(&g, rows[i].dist_mean);
        double ylo = ypix(&g, rows[i].dist_mean - rows[i].dist_se), yhi = ypix(&g, rows[i].dist_mean + rows[i].dist_se);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f4e9c\" stroke-width=\"1.5\"/>\n", x, ylo, x, yhi);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f4e9c\"/>\n", x - 5, ylo, x + 5, ylo);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f4e9c\"/>\n", x - 5, yhi, x + 5, yhi);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f4e9c\"/>\n", x, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-60 %.1f %d)\">%s</text>\n",
                x, y0 + 14, x, y0 + 14, rows[i].name);
    }
    double b = mean_baseline(rows, n);
    if (isfinite(b)) {
        double y = ypix(&g, b);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c0392b\" stroke-dasharray=\"6,4\" stroke-width=\"1.5\"/>\n",
                g.left, y, g.W - g.right, y);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#c0392b\" text-anchor=\"end\">shuffled-pair baseline %.3f</text>\n",
                g.W - g.right, y - 5, b);
    }
    fprintf(f, "</svg>\n");
    return hy_out_commit(&o);
}

static int write_png_chart(const char *path, const run_summary *rows, int n, const char *title) {
    chart_geom g = geom(rows, n);
    canvas c;
    rgb_color white = {255, 255, 255}, black = {0, 0, 0}, grid = {221, 221, 221}, blue = {31, 78, 156},
              red = {192, 57, 43};
    int r = hy_canvas_new(&c, g.W, g.H, white);
    if (r) return r;
    int y0 = g.H - g.bottom;
    hy_draw_text(&c, g.left, 10, title, 1, black);
    for (int t = 0; t <= 5; t++) {
        double v = g.ymin + (g.ymax - g.ymin) * t / 5;
        int y = (int)ypix(&g, v);
        hy_draw_line(&c, g.left, y, g.W - g.right, y, 1, grid);
        char lab[32];
        snprintf(lab, sizeof lab, "%.3f", v);
        hy_draw_text(&c, g.left - 5 - hy_text_width(lab, 1), y - 5, lab, 1, black);
    }
    hy_draw_line(&c, g.left, g.top, g.left, y0, 1, black);
    hy_draw_line(&c, g.left, y0, g.W - g.right, y0, 1, black);
    double b = mean_baseline(rows, n);
    if (isfinite(b)) {
        int y = (int)ypix(&g, b);
        for (int x = g.left; x < g.W - g.right; x += 10) hy_draw_line(&c, x, y, x + 5, y, 2, red);
        char lab[64];
        snprintf(lab, sizeof lab, "baseline %.3f", b);
        hy_draw_text(&c, g.W - g.right - hy_text_width(lab, 1), y - 13, lab, 1, red);
    }
    for (int i = 0; i < n; i++) {
        int x = (int)xpix(&g, i, n), y = (int)ypix(&g, rows[i].dist_mean);
        int ylo = (int)ypix(&g, rows[i].dist_mean - rows[i].dist_se), yhi = (int)ypix(&g, rows[i].dist_mean + rows[i].dist_se);
        hy_draw_line(&c, x, ylo, x, yhi, 2, blue);
        hy_draw_line(&c, x - 5, ylo, x + 5, ylo, 1, blue);
        hy_draw_line(&c, x - 5, yhi, x + 5, yhi, 1, blue);
        hy_draw_rect(&c, x - 3, y - 3, 7, 7, blue);
        // label below the axis, reading upwards, ending at the axis
        hy_draw_text_up(&c, x - 5, y0 + 8 + hy_text_width(rows[i].name, 1), rows[i].name, 1, black);
    }
    r = hy_png_write_rgb8(path, c.w, c.h, c.px);
    hy_canvas_free(&c);
    return r;
}

int hy_report_write(const char *outdir, run_summary *rows, int n, const char *title) {
    qsort(rows, (size_t)n, sizeof *rows, cmp_rows);
    char p[4200];
    int r;
    if ((r = hy_mkdir_p(outdir))) return r;
    snprintf(p, sizeof p, "%s/results.csv", outdir);
    if ((r = write_csv(p, rows, n))) return r;
    snprintf(p, sizeof p, "%s/results.md", outdir);
    if ((r = write_md(p, rows, n, title))) return r;
    snprintf(p, sizeof p, "%s/chart.svg", outdir);
    if ((r = write_svg(p, rows, n, title))) return r;
    snprintf(p, sizeof p, "%s/chart.png", outdir);
    return write_png_chart(p, rows, n, title);
}
