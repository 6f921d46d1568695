// draw.h - a tiny RGB8 canvas for report pictures: filled rectangles, lines, text in a
// 6x11 bitmap font (scaled by an integer factor), and pasting images with nearest-
// neighbour scaling. Used for comparison pictures and charts; written with png_write_rgb8.
#ifndef HY_DRAW_H
#define HY_DRAW_H

#include <stdint.h>

typedef struct {
    int w, h;
    uint8_t *px;  // (h, w, 3) interleaved RGB
} canvas;

typedef struct {
    uint8_t r, g, b;
} rgb_color;

int hy_canvas_new(canvas *c, int w, int h, rgb_color bg);  // HY_OK or HY_ENOMEM
void hy_canvas_free(canvas *c);
void hy_draw_rect(canvas *c, int x, int y, int w, int h, rgb_color col);  // filled, clipped
void hy_draw_line(canvas *c, int x0, int y0, int x1, int y1, int thick, rgb_color col);
// Filled circle of radius r (pixels) centred at (cx, cy): the pixels whose centres lie inside.
void hy_draw_disc(canvas *c, double cx, double cy, double r, rgb_color col);
// Draws ASCII text with its top-left at (x, y); scale >= 1. Returns the width in pixels.
int hy_draw_text(canvas *c, int x, int y, const char *s, int scale, rgb_color col);
int hy_text_width(const char *s, int scale);
// Draws text rotated 90 degrees counter-clockwise (reading upwards), starting at (x, y)
// = the bottom-left corner of the first character.
void hy_draw_text_up(canvas *c, int x, int y, const char *s, int scale, rgb_color col);
// Pastes an RGB8 image (sw x sh) scaled to (dw x dh) by nearest neighbour at (x, y).
void hy_draw_image(canvas *c, int x, int y, int dw, int dh, const uint8_t *rgb, int sw, int sh);

#endif
