// image_io.h - image reading (PNG through libpng, JPEG through libjpeg-turbo), PNG writing,
// and float <-> uint8 conversion.
//
// hy_image_read_rgb8 is the reader every command uses: it tells PNG from JPEG by the file's
// first bytes (not its name) and returns interleaved RGB8, row-major (h, w, 3), exactly as
// Pillow's Image.open(f).convert('RGB') gives it:
// - PNG: every colour type and bit depth (gray, gray+alpha, RGB, RGBA, palette; 1..16 bits;
//   interlaced or not) equal to Pillow 9.4: alpha and tRNS are dropped, 16-bit samples keep
//   their high byte except 16-bit gray, which is clipped to 255 (Pillow's mode "I"
//   conversion), and palette indices past the end of PLTE give Pillow's gray (i, i, i)
//   (hy_png_decode_rgb8, image_io.c);
// - JPEG: baseline and progressive, grey, YCbCr/RGB and CMYK/YCCK (Adobe-inverted, as Pillow
//   reads it), 8-bit, Huffman-coded (hy_jpeg_decode_rgb8, jpeg.c).
// Errors name the file: an unknown format (GIF, BMP, WebP, TIFF are named as such), truncated
// or corrupt data, zero size, more than HY_IMAGE_MAX_PIXELS, or more pixels than the file
// could hold (PNG: zlib's maximum ratio of ~1032:1; JPEG: 512 pixels a byte), checked before
// allocating. PNG memory: the image (3 bytes per pixel) may be at most HY_PNG_MAX_EXPANSION x
// the file size + HY_PNG_FREE_BYTES, else it is refused before any pixel memory is allocated
// (a 32 KB 1-bit 16384x16384 PNG would otherwise take 805 MB).
// hy_png_write_rgb8 writes atomically (tmp + rename).
#ifndef HY_IMAGE_IO_H
#define HY_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#define HY_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
#define HY_PNG_MAX_EXPANSION 1032
#define HY_PNG_FREE_BYTES (16 << 20)

// Reads a PNG or JPEG file; *rgb is malloc'd (free()), NULL on error.
int hy_image_read_rgb8(const char *path, int *w, int *h, uint8_t **rgb);
// The same on bytes in memory (`name` is used in messages).
int hy_image_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb);

// Deprecated alias of hy_image_read_rgb8 (so PNG or JPEG), kept for code written before JPEG
// support; new code calls hy_image_read_rgb8.
int hy_png_read_rgb8(const char *path, int *w, int *h, uint8_t **rgb);

// One format only (the dispatcher above calls these; tests and fuzz targets use them too).
int hy_png_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb);
int hy_jpeg_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb);
int hy_png_write_rgb8(const char *path, int w, int h, const uint8_t *rgb);
// The same with a pHYs chunk saying `dpi` dots per inch (figures drawn at a scale; 0: none).
int hy_png_write_rgb8_dpi(const char *path, int w, int h, const uint8_t *rgb, int dpi);
// Encodes into memory (*png malloc'd, *len bytes), e.g. to embed the image in a report.
int hy_png_encode_rgb8(int w, int h, const uint8_t *rgb, uint8_t **png, size_t *len);

// Planar float CHW (3,h,w) in nominal [-1,1] -> interleaved RGB8 with the Karras rule:
// u8 = clamp(rint_half_even(127.5 x + 127.5), 0, 255); NaN maps to 0.
void hy_img_f32_to_rgb8(uint8_t *rgb, const float *chw, int w, int h);
uint8_t hy_img_to_u8(float x);

#endif
