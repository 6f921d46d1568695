// draw.c - the RGB8 canvas of include/base/draw.h (clipped primitives, bitmap text).
#include "base/draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/font6x11.h"

int hy_canvas_new(canvas *c, int w, int h, rgb_color bg) {
    c->w = w;
    c->h = h;
    c->px = NULL;
    size_t n;
    if (w <= 0 || h <= 0 || hy_mul_size((size_t)w * 3, (size_t)h, &n)) return hy_err(HY_EARG, "bad canvas size %dx%d", w, h);
    if (!(c->px = hy_malloc(n))) return HY_ENOMEM;
    for (size_t i = 0; i < n; i += 3) c->px[i] = bg.r, c->px[i + 1] = bg.g, c->px[i + 2] = bg.b;
    return HY_OK;
}

void hy_canvas_free(canvas *c) {
    free(c->px);
    c->px = NULL;
}

static inline void put(canvas *c, int x, int y, rgb_color col) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->px + ((size_t)y * c->w + x) * 3;
    p[0] = col.r, p[1] = col.g, p[2] = col.b;
}

void hy_draw_rect(canvas *c, int x, int y, int w, int h, rgb_color col) {
    for (int yy = y < 0 ? 0 : y; yy < y + h && yy < c->h; yy++)
        for (int xx = x < 0 ? 0 : x; xx < x + w && xx < c->w; xx++) put(c, xx, yy, col);
}

void hy_draw_line(canvas *c, int x0, int y0, int x1, int y1, int thick, rgb_color col) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    int r0 = (thick - 1) / 2;
    for (;;) {
        hy_draw_rect(c, x0 - r0, y0 - r0, thick, thick, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

void hy_draw_disc(canvas *c, double cx, double cy, double r, rgb_color col) {
    for (int y = (int)floor(cy - r); y <= (int)ceil(cy + r); y++)
        for (int x = (int)floor(cx - r); x <= (int)ceil(cx + r); x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (dx * dx + dy * dy <= r * r) put(c, x, y, col);
        }
}

int hy_text_width(const char *s, int scale) { return (int)strlen(s) * FONT_W * scale; }

int hy_draw_text(canvas *c, int x, int y, const char *s, int scale, rgb_color col) {
    int x0 = x;
    for (; *s; s++, x += FONT_W * scale) {
        unsigned ch = (unsigned char)*s;
        if (ch < 32 || ch > 126) ch = '?';
        const uint8_t *g = FONT6X11[ch - 32];
        for (int row = 0; row < FONT_H; row++)
            for (int bit = 0; bit < FONT_W; bit++)
                if (g[row] >> bit & 1) hy_draw_rect(c, x + bit * scale, y + row * scale, scale, scale, col);
    }
    return x - x0;
}

void hy_draw_text_up(canvas *c, int x, int y, const char *s, int scale, rgb_color col) {
    for (int k = 0; s[k]; k++) {
        unsigned ch = (unsigned char)s[k];
        if (ch < 32 || ch > 126) ch = '?';
        const uint8_t *g = FONT6X11[ch - 32];
        // glyph pixel (bit, row) -> (x + row, y - k*FONT_W - bit)
        for (int row = 0; row < FONT_H; row++)
            for (int bit = 0; bit < FONT_W; bit++)
                if (g[row] >> bit & 1)
                    hy_draw_rect(c, x + row * scale, y - (k * FONT_W + bit + 1) * scale, scale, scale, col);
    }
}

void hy_draw_image(canvas *c, int x, int y, int dw, int dh, const uint8_t *rgb, int sw, int sh) {
    for (int yy = 0; yy < dh; yy++) {
        int ty = y + yy, sy = (int)((long)yy * sh / dh);
        if (ty < 0 || ty >= c->h) continue;
        for (int xx = 0; xx < dw; xx++) {
            int tx = x + xx, sx = (int)((long)xx * sw / dw);
            if (tx < 0 || tx >= c->w) continue;
            memcpy(c->px + ((size_t)ty * c->w + tx) * 3, rgb + ((size_t)sy * sw + sx) * 3, 3);
        }
    }
}
