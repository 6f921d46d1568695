// image_io.h - PNG reading/writing (libpng) and float <-> uint8 conversion.
//
// png_read_rgb8 accepts every PNG colour type and bit depth (gray, gray+alpha, RGB, RGBA,
// palette; 1..16 bits) and returns interleaved RGB8 (alpha is dropped, 16-bit is scaled
// to 8). Errors (not a PNG, truncated, zero size, > HY_PNG_MAX_PIXELS, or more pixels than
// the file could hold at zlib's maximum ratio of ~1032:1, checked before allocating) name the file.
// png_write_rgb8 writes atomically (tmp + rename).
#ifndef HY_IMAGE_IO_H
#define HY_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#define HY_PNG_MAX_PIXELS ((int64_t)1 << 28)

int hy_png_read_rgb8(const char *path, int *w, int *h, uint8_t **rgb);
// Decodes an in-memory PNG (fuzz target / tests).
int hy_png_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb);
int hy_png_write_rgb8(const char *path, int w, int h, const uint8_t *rgb);

// Planar float CHW (3,h,w) in nominal [-1,1] -> interleaved RGB8 with the Karras rule:
// u8 = clamp(rint_half_even(127.5 x + 127.5), 0, 255); NaN maps to 0.
void hy_img_f32_to_rgb8(uint8_t *rgb, const float *chw, int w, int h);
uint8_t hy_img_to_u8(float x);

#endif
