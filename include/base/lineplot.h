// lineplot.h - charts for reports: series of (x, y) points over one pair of axes, laid out once
// and written as SVG and PNG from the same figure (base/figure.h), so both show the same thing:
//
//   title (bold, top left)
//   y axis title (vertical) | tick labels | plot area with grid lines | legend (right)
//                                          x tick labels (or category names, reading upwards)
//                                          x axis title
//
// Ticks sit at round values (the smallest step of 1, 2 or 5 times a power of ten that needs at
// most 6 intervals; on a log10 y axis the powers of ten,
// with 2 and 5 between them when the range is under two decades) and the axes end at ticks.
// Every label has its own region (tick labels outside the plot area, category names below it,
// the legend beside it), so no label is drawn over a marker, a line or another label. Series are
// drawn as lines or as markers with error bars; dashed lines (e.g. a baseline) are listed in the
// legend like the others. Series with the same label share one legend entry (e.g. the seeds of
// one configuration). Colours: hy_fig_color (colour-blind-safe).
#ifndef HY_LINEPLOT_H
#define HY_LINEPLOT_H

#include "base/figure.h"

enum { PLOT_LINE = 0, PLOT_POINTS = 1, PLOT_DASHED = 2 };

typedef struct {
    const char *label;    // legend text (NULL: no entry)
    const double *x, *y;  // (n) points in order; a non-finite point breaks a line / is not drawn
    const double *err;    // PLOT_POINTS: (n) half-length of each point's error bar, or NULL
    int n;
    rgb_color color;
    int style;            // PLOT_LINE, PLOT_POINTS or PLOT_DASHED
} plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int width, height;            // of the plot area in units; 0: 560 x 320
    int log_y;                    // 1: log10 y axis (points with y <= 0 are left out)
    const char *const *categories;  // when set: x is the category index 0 .. n_categories-1, and
    int n_categories;               // the names are written below the axis instead of x ticks
    int y_nonneg;                 // 1: the y axis does not go below 0 (distances, losses)
} plot_opts;

// Lays the chart out. The figure must be freed (hy_fig_free) even on error.
int hy_plot_figure(figure *f, const plot_opts *o, const plot_series *s, int n);
// Writes the chart as SVG and/or PNG (either path may be NULL), atomically.
int hy_plot_write(const char *svg_path, const char *png_path, const plot_opts *o, const plot_series *s, int n);

// Round tick values for the range [lo, hi] (about 5; at most max): ticks t[0..*n), and the axis
// ends *a0 <= lo, *a1 >= hi at ticks. log_axis: lo and hi are log10 values; ticks are log10 too.
// *decimals: digits after the point that print every tick distinctly.
void hy_plot_ticks(double lo, double hi, int log_axis, double *t, int *n, int max, double *a0, double *a1,
                   int *decimals);
// Writes s into out (len bytes) with &, <, > and " escaped for SVG/XML/HTML text.
void hy_xml_escape(char *out, int len, const char *s);

#endif
