// figure.h - report figures as a list of drawing primitives, written as SVG and as PNG from the
// same list, so the two files show the same content: every line, marker, label and legend
// entry, at the same place.
//
// Coordinates are in figure units, y downwards; the PNG has scale x that many pixels
// (hy_figure_set_scale; its pHYs chunk says 96 x scale dpi). Text uses one monospaced cell of
// 6 x 11 units: the PNG draws the project's 6x11 bitmap font (base/font6x11.h) scaled by the
// integer scale, the SVG a monospaced font at 10 units, whose advance is 6.0 units, so a label's
// width (hy_fig_text_width) is the same in both and layouts can keep labels apart. Bold text is
// bold in the SVG and, from scale 2 up, in the PNG (the bitmap font has no bold cut).
//
// Colours: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
// distinguishable with the common colour-vision deficiencies; hy_fig_color(i) cycles through
// its 7 colours (black is kept for text and axes).
#ifndef HY_FIGURE_H
#define HY_FIGURE_H

#include "base/draw.h"

typedef enum { FIG_LINE, FIG_POLYLINE, FIG_RECT, FIG_DISC, FIG_TEXT } fig_kind;
enum { FIG_START = 0, FIG_MIDDLE = 1, FIG_END = 2 };  // text anchor along its direction

typedef struct {
    fig_kind kind;
    rgb_color color;
    double x0, y0, x1, y1;  // line ends; rect corner and size (x1, y1 = w, h); disc centre and radius (x1)
    double width;           // line / polyline width
    double dash;            // dash length of lines (0: solid)
    double *pts;            // polyline: (n_pts, 2) x, y; owned
    int n_pts;
    char *text;             // owned
    int anchor, vertical, bold;  // text: FIG_START/MIDDLE/END; 1: reads upwards; bold
} fig_item;

typedef struct {
    double w, h;  // figure size in units
    fig_item *items;
    int n, cap;
    int failed;   // an allocation failed: writing reports HY_ENOMEM
} figure;

#define FIG_CHAR_W 6.0  // text cell (units)
#define FIG_CHAR_H 11.0

void hy_fig_init(figure *f, double w, double h);
void hy_fig_free(figure *f);
void hy_fig_line(figure *f, double x0, double y0, double x1, double y1, double width, rgb_color c, double dash);
// Points (n) with non-finite values breaking the line into pieces.
void hy_fig_polyline(figure *f, const double *x, const double *y, int n, double width, rgb_color c);
void hy_fig_rect(figure *f, double x, double y, double w, double h, rgb_color c);  // filled
void hy_fig_disc(figure *f, double cx, double cy, double r, rgb_color c);          // filled circle
// Text whose cell row spans y .. y + 11 (horizontal), anchored at x; vertical text reads
// upwards with its cell column spanning x .. x + 11 and its anchor at y.
void hy_fig_text(figure *f, double x, double y, const char *s, int anchor, int vertical, int bold, rgb_color c);
double hy_fig_text_width(const char *s);

// Writes atomically (tmp + rename).
int hy_fig_write_svg(const figure *f, const char *path);
int hy_fig_write_png(const figure *f, const char *path);

// PNG pixels per unit for every figure written after the call (1..8; default 1). The commands'
// --scale option sets it.
void hy_figure_set_scale(int scale);
int hy_figure_scale(void);

rgb_color hy_fig_color(int i);
extern const rgb_color FIG_BLACK, FIG_GREY, FIG_LIGHT, FIG_BLUE, FIG_ORANGE, FIG_VERMILLION, FIG_GREEN;

#endif
