// lineplot.h - line charts for reports: several series of (x, y) points drawn over the same
// axes, as SVG and as PNG (the draw.h canvas, 6x11 bitmap font) with one layout: title on top,
// 5 ticks per axis, an optional log10 y axis, and a legend of the series' labels on the right
// (series with the same label share one entry, e.g. the seeds of one configuration).
// Both writers are atomic (tmp + rename).
#ifndef HY_LINEPLOT_H
#define HY_LINEPLOT_H

#include "base/draw.h"

typedef struct {
    const char *label;    // legend text (NULL: no entry)
    const double *x, *y;  // (n) points in order; a non-finite point breaks the line
    int n;
    rgb_color color;
} plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int width, height;  // of the plot area in pixels; 0: 640 x 360
    int log_y;          // 1: log10 y axis (points with y <= 0 are left out)
} plot_opts;

int hy_plot_svg(const char *path, const plot_opts *o, const plot_series *s, int n);
int hy_plot_png(const char *path, const plot_opts *o, const plot_series *s, int n);
// Colour i of a 10-colour palette (Tableau 10), cycling.
rgb_color hy_plot_color(int i);
// Writes s into out (len bytes) with &, <, > and " escaped for SVG/XML text.
void hy_xml_escape(char *out, int len, const char *s);

#endif
