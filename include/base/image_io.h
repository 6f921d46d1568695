// image_io.h - PNG reading/writing (libpng) and float <-> uint8 conversion.
//
// png_read_rgb8 accepts every PNG colour type and bit depth (gray, gray+alpha, RGB, RGBA,
// palette; 1..16 bits; interlaced or not) and returns interleaved RGB8 equal to Pillow 9.4's
// Image.open(f).convert("RGB"): alpha and tRNS are dropped, 16-bit samples keep their high
// byte except 16-bit gray, which is clipped to 255 (Pillow's mode "I" conversion), and palette
// indices past the end of PLTE give Pillow's default gray (i, i, i).
// Errors (not a PNG, truncated, zero size, > HY_PNG_MAX_PIXELS, or more pixels than the file
// could hold at zlib's maximum ratio of ~1032:1, checked before allocating) name the file.
// Memory: the file's bytes and the RGB8 image; the image (3 bytes per pixel) may be at most
// HY_PNG_MAX_EXPANSION x the file size + HY_PNG_FREE_BYTES, else it is refused before any
// pixel memory is allocated (a 32 KB 1-bit 16384x16384 PNG would otherwise take 805 MB).
// png_write_rgb8 writes atomically (tmp + rename).
#ifndef HY_IMAGE_IO_H
#define HY_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#define HY_PNG_MAX_PIXELS ((int64_t)1 << 28)
#define HY_PNG_MAX_EXPANSION 1032
#define HY_PNG_FREE_BYTES (16 << 20)

int hy_png_read_rgb8(const char *path, int *w, int *h, uint8_t **rgb);
// Decodes an in-memory PNG (fuzz target / tests).
int hy_png_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb);
int hy_png_write_rgb8(const char *path, int w, int h, const uint8_t *rgb);

// Planar float CHW (3,h,w) in nominal [-1,1] -> interleaved RGB8 with the Karras rule:
// u8 = clamp(rint_half_even(127.5 x + 127.5), 0, 255); NaN maps to 0.
void hy_img_f32_to_rgb8(uint8_t *rgb, const float *chw, int w, int h);
uint8_t hy_img_to_u8(float x);

#endif
