// report_html.c - RESULTS/report.html: the whole report in one self-contained page (see
// include/study/report.h). Images are embedded (the charts and curves as inline SVG, the
// comparison strips as base64 PNG), nothing is fetched (a Content-Security-Policy forbids it)
// and there is no JavaScript: the file can be mailed, archived or opened offline as it is.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/lineplot.h"  // hy_xml_escape
#include "study/report.h"
#include "study/results.h"
#include "study/study.h"    // the comparison picture's layout

static const char CSS[] =
    "body{font-family:sans-serif;max-width:1250px;margin:1.5em auto;padding:0 1em;color:#111;line-height:1.4}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
    "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}"
    "th{background:#f2f2f2}.l{text-align:left}.flag{color:#777}.sig{color:#0072B2;font-weight:bold}"
    "svg,img{max-width:100%;height:auto}pre{background:#f4f4f4;padding:.6em;overflow-x:auto}"
    ".wide{overflow-x:auto}h3{margin-bottom:.2em}.run{border-top:1px solid #ccc;margin-top:1em}.small{color:#555;font-size:.85em}";

// --- small writers -----------------------------------------------------------------------------

static void esc(FILE *f, const char *s) {
    char b[2048];
    hy_xml_escape(b, sizeof b, s);
    fputs(b, f);
}

static const char *stars(double p) { return !(p < 0.05) ? "" : p < 0.001 ? "***" : p < 0.01 ? "**" : "*"; }

static void num(FILE *f, const char *fmt, double v) {
    if (isfinite(v)) fprintf(f, fmt, v);
    else fputs("&ndash;", f);
}

// p with its significance marks, e.g. "0.0021 **".
static void pval(FILE *f, double p) {
    if (!isfinite(p)) {
        fputs("&ndash;", f);
        return;
    }
    fprintf(f, "%.2g", p);
    if (p < 0.05) fprintf(f, " <span class=\"sig\">%s</span>", stars(p));
}

static void base64(FILE *f, const uint8_t *b, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
        fputc(A[v >> 18 & 63], f);
        fputc(A[v >> 12 & 63], f);
        fputc(i + 1 < n ? A[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? A[v & 63] : '=', f);
    }
}

// Copies a text file into the page, escaped; returns 0 when it cannot be read.
static int copy_text(FILE *f, const char *path) {
    FILE *in = fopen(path, "r");
    if (!in) return 0;
    char line[4096];
    while (fgets(line, sizeof line, in)) esc(f, line);
    fclose(in);
    return 1;
}

// Inlines one of our own SVG files (chart, curves); returns 0 when it is missing.
static int inline_svg(FILE *f, const char *path) {
    uint8_t *b;
    size_t n;
    if (hy_read_file(path, &b, &n, (size_t)64 << 20)) return 0;
    const char *start = strstr((const char *)b, "<svg");
    if (start) fwrite(start, 1, n - (size_t)(start - (const char *)b), f);
    free(b);
    return start != NULL;
}

// The PNG's scale from its pHYs chunk (96 x scale dpi), 1 without one.
static int png_scale(const uint8_t *b, size_t n) {
    for (size_t at = 8; at + 12 <= n;) {
        uint32_t len = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 | b[at + 3];
        if (len > n - at - 12) break;
        if (!memcmp(b + at + 4, "pHYs", 4) && len == 9 && b[at + 16] == 1) {
            uint32_t ppm = (uint32_t)b[at + 8] << 24 | (uint32_t)b[at + 9] << 16 | (uint32_t)b[at + 10] << 8 | b[at + 11];
            int s = (int)lround(ppm * 0.0254 / 96);
            return s >= 1 && s <= 8 ? s : 1;
        }
        if (!memcmp(b + at + 4, "IDAT", 4)) break;
        at += 12 + len;
    }
    return 1;
}

// The first row of a run's comparison picture (head and one row of items), at scale 1, as a
// base64 PNG; returns 0 when the run has no readable comparison.png.
static int comparison_strip(FILE *f, const char *path) {
    uint8_t *file, *rgb = NULL, *strip = NULL, *png = NULL;
    size_t n, plen;
    int w, h, ok = 0;
    if (hy_read_file(path, &file, &n, (size_t)256 << 20)) return 0;
    int s = png_scale(file, n);
    if (!hy_image_decode_rgb8(path, file, n, &w, &h, &rgb)) {
        int sh = (COMPARISON_HEAD + COMPARISON_ROW) * s;
        if (sh > h) sh = h;
        int ow = w / s, oh = sh / s;  // nearest-neighbour down to scale 1
        strip = malloc((size_t)ow * oh * 3);
        if (strip && ow > 0 && oh > 0) {
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) memcpy(strip + ((size_t)y * ow + x) * 3, rgb + ((size_t)y * s * w + x * s) * 3, 3);
            if (!hy_png_encode_rgb8(ow, oh, strip, &png, &plen)) {
                fputs("<img alt=\"ground truth above reconstruction\" src=\"data:image/png;base64,", f);
                base64(f, png, plen);
                fputs("\">", f);
                ok = 1;
            }
        }
    }
    free(file), free(rgb), free(strip), free(png);
    return ok;
}

// --- sections ----------------------------------------------------------------------------------

// Holm p of configuration i against the next one in the table (NaN when there is none).
static double holm_vs_next(const study_results *res, int i) {
    for (int k = 0; k < res->n_pairs; k++)
        if (res->pairs[k].a == i && res->pairs[k].b == i + 1) return res->pairs[k].holm_p;
    return NAN;
}

static void ranking(FILE *f, const study_results *res) {
    fprintf(f, "<h2 id=\"ranking\">Ranked configurations</h2>\n<div class=\"wide\"><table>\n<tr><th>rank</th><th class=\"l\">configuration</th>"
          "<th>seeds</th><th>mean %s distance</th><th>s.e. items</th><th>s.e. seeds</th><th>baseline</th>"
          "<th>below baseline p</th><th>vs next: Holm p</th><th>null p</th><th>latent cosine</th>"
          "<th>latent ident.</th><th>spread</th><th>%s ident.</th><th>pixel r</th><th class=\"l\">flags</th></tr>\n",
          hy_report_rank_model(res), hy_report_rank_model(res));
    for (int i = 0; i < res->n_configs; i++) {
        const config_summary *c = &res->configs[i];
        fprintf(f, "<tr%s><td>", c->rank ? "" : " class=\"flag\"");
        if (c->rank) fprintf(f, "%d", c->rank);
        else fputs("&ndash;", f);
        fputs("</td><td class=\"l\">", f);
        esc(f, c->config);
        fprintf(f, "</td><td>%d</td><td>", c->n_seeds);
        num(f, "%.4f", c->dist_mean);
        fputs("</td><td>", f);
        num(f, "%.4f", c->dist_se_items);
        fputs("</td><td>", f);
        num(f, "%.4f", c->dist_se_seeds);
        fputs("</td><td>", f);
        num(f, "%.4f", c->baseline);
        fputs("</td><td>", f);
        pval(f, c->baseline_p);
        fputs("</td><td>", f);
        pval(f, holm_vs_next(res, i));
        fputs("</td><td>", f);
        num(f, "%.3g", c->null_p);
        fputs("</td><td>", f);
        num(f, "%.3f", c->cosine);
        fputs("</td><td>", f);
        num(f, "%.3f", c->ident_latent);
        fputs("</td><td>", f);
        num(f, "%.3f", c->spread);
        fputs("</td><td>", f);
        num(f, "%.3f", c->facenet_ident);
        fputs("</td><td>", f);
        num(f, "%.3f", c->pixel_r);
        fprintf(f, "</td><td class=\"l\">%s%s%s</td></tr>\n", c->collapsed ? "collapsed" : "",
                c->collapsed && !c->beats_baseline ? ", " : "", c->beats_baseline ? "" : "not below baseline");
    }
    fputs("</table></div>\n<p class=\"small\">Marks: <span class=\"sig\">*</span> p &lt; 0.05, <span class=\"sig\">**</span> "
          "p &lt; 0.01, <span class=\"sig\">***</span> p &lt; 0.001. <i>below baseline p</i>: one-sided paired "
          "sign-flip test over test items that the distance is below the shuffled-pair baseline. <i>vs next</i>: "
          "two-sided Wilcoxon signed-rank test of this configuration's per-item distances against the next row's, "
          "Holm-adjusted over all pairs (table below). Greyed rows are flagged (collapsed: spread ratio &lt; 0.5 or "
          "latent identification not above chance; or not below the baseline) and not ranked. s.e. items: over test "
          "items of the seed-averaged distance; s.e. seeds: over the seeds' means.</p>\n",
          f);
}

static void pairs(FILE *f, const study_results *res) {
    int sig = 0;
    for (int k = 0; k < res->n_pairs; k++) sig += res->pairs[k].holm_p < 0.05;
    fprintf(f, "<h2 id=\"pairs\">All pairs</h2>\n<p>%d pair(s), %d different at Holm p &lt; 0.05. mean diff: a minus b "
               "(negative: a closer to the truth).</p>\n<table>\n<tr><th class=\"l\">a</th><th class=\"l\">b</th>"
               "<th>items</th><th>mean diff</th><th>Wilcoxon p</th><th>sign-flip p</th><th>Holm p</th></tr>\n",
            res->n_pairs, sig);
    for (int k = 0; k < res->n_pairs; k++) {
        const pair_result *p = &res->pairs[k];
        fputs("<tr><td class=\"l\">", f);
        esc(f, res->configs[p->a].config);
        fputs("</td><td class=\"l\">", f);
        esc(f, res->configs[p->b].config);
        fprintf(f, "</td><td>%d</td><td>", p->n);
        num(f, "%+.4f", p->mean_diff);
        fputs("</td><td>", f);
        num(f, "%.3g", p->wilcoxon_p);
        fputs("</td><td>", f);
        num(f, "%.3g", p->perm_p);
        fputs("</td><td>", f);
        pval(f, p->holm_p);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

// Every run, in report order: its numbers, comparison strip and loss curve.
static void runs(FILE *f, const study_results *res, const char *outdir) {
    fprintf(f, "<h2 id=\"runs\">Runs</h2>\n<p class=\"small\">Each run's first test items: ground truth above, "
          "reconstruction below, d = %s distance of the pair. The whole picture is "
          "<code>runs/&lt;name&gt;/comparison.png</code>.</p>\n",
          hy_report_rank_model(res));
    char p[4400];
    for (int i = 0; i < res->n_configs; i++) {
        const config_summary *c = &res->configs[i];
        for (int k = 0; k < c->n_seeds; k++) {
            const run_data *d = &res->runs[c->runs[k]];
            fputs("<div class=\"run\"><h3>", f);
            esc(f, d->s.name);
            fprintf(f, "</h3><p class=\"small\">model ");
            esc(f, d->s.model);
            if (d->s.epochs) fprintf(f, ", %d epochs, batch %d", d->s.epochs, d->s.batch);
            if (d->s.seed) fprintf(f, ", seed %lld", d->s.seed);
            fputs(": mean distance ", f);
            num(f, "%.4f", d->s.dist_mean);
            fputs(" &plusmn; ", f);
            num(f, "%.4f", d->s.dist_se);
            fputs(", baseline ", f);
            num(f, "%.4f", d->s.baseline);
            fputs(", latent cosine ", f);
            num(f, "%.3f", d->s.cosine);
            fputs("</p>\n", f);
            snprintf(p, sizeof p, "%s/runs/%s/comparison.png", outdir, d->s.name);
            if (!comparison_strip(f, p)) fputs("<p class=\"small\">(no comparison picture)</p>", f);
            snprintf(p, sizeof p, "%s/runs/%s/curve.svg", outdir, d->s.name);
            fputs("\n", f);
            inline_svg(f, p);
            fputs("</div>\n", f);
        }
    }
}

static void setup(FILE *f, const char *outdir) {
    char p[4200], line[2048];
    fputs("<h2 id=\"setup\">Setup</h2>\n", f);
    snprintf(p, sizeof p, "%s/setup.txt", outdir);
    FILE *in = fopen(p, "r");
    if (in && fgets(line, sizeof line, in)) {
        fputs("<p>What every run's numbers depend on besides its own decoder settings (<code>setup.txt</code>; "
              "CRCs are zlib CRC-32 of the data as loaded and of the weight files):</p>\n<table>\n",
              f);
        char *save;
        for (char *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
            char *eq = strchr(t, '=');
            fputs("<tr><td class=\"l\">", f);
            if (eq) *eq = 0;
            esc(f, t);
            fputs("</td><td class=\"l\"><code>", f);
            esc(f, eq ? eq + 1 : "");
            fputs("</code></td></tr>\n", f);
        }
        fputs("</table>\n", f);
    } else {
        fputs("<p>(no <code>setup.txt</code>: these runs were not made by <code>hyper sweep</code>)</p>\n", f);
    }
    if (in) fclose(in);
    fprintf(f, "<p class=\"small\">Made with hyper %s.</p>\n", HY_VERSION);
}

static void reproduce(FILE *f, const char *outdir) {
    char p[4200];
    fputs("<h2 id=\"reproduce\">Reproduce</h2>\n<p>The sweep (its data and model files are named in it; run it with "
          "<code>--shard i/n</code> added to split it over machines) and the report:</p>\n<pre>",
          f);
    snprintf(p, sizeof p, "%s/command.txt", outdir);
    if (!copy_text(f, p)) fputs("hyper sweep -d DATA -g GENERATOR.bin -e EMBEDDER.bin -o RESULTS ...  "
                                "(no command.txt: the runs' own settings are in their run.csv)\n", f);
    fputs("hyper report ", f);
    esc(f, outdir);
    fputs("\n</pre>\n", f);
}

int hy_report_write_html(const char *outdir, const study_results *res, const char *title) {
    char p[4200], html[4200];
    snprintf(html, sizeof html, "%s/report.html", outdir);
    hy_outfile o;
    int r = hy_out_open(&o, html);
    if (r) return r;
    FILE *f = o.fp;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'\">\n<title>",
          f);
    esc(f, title);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<h1>", CSS);
    esc(f, title);
    int ranked = 0;
    for (int i = 0; i < res->n_configs; i++) ranked += res->configs[i].rank > 0;
    fprintf(f, "</h1>\n<p>%d run(s) in %d configuration(s), %d ranked; %d test items. Contents: "
               "<a href=\"#ranking\">ranking</a> &middot; <a href=\"#chart\">chart</a> &middot; "
               "<a href=\"#pairs\">pairs</a> &middot; <a href=\"#runs\">runs</a> &middot; "
               "<a href=\"#setup\">setup</a> &middot; <a href=\"#reproduce\">reproduce</a>.</p>\n",
            res->n_runs, res->n_configs, ranked, res->n_configs ? res->configs[0].n_items : 0);
    ranking(f, res);
    fputs("<h2 id=\"chart\">Chart</h2>\n", f);
    snprintf(p, sizeof p, "%s/chart.svg", outdir);
    inline_svg(f, p);
    snprintf(p, sizeof p, "%s/curves.svg", outdir);
    fputs("\n", f);
    inline_svg(f, p);
    pairs(f, res);
    runs(f, res, outdir);
    setup(f, outdir);
    reproduce(f, outdir);
    fputs("</body></html>\n", f);
    if (ferror(f)) {
        hy_out_abort(&o);
        return hy_err(HY_EIO, "%s: write failed", html);
    }
    return hy_out_commit(&o);
}
