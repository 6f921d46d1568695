// image_io.c - the image reader (PNG or JPEG by content; JPEG decoding is in jpeg.c), PNG
// decode/encode through libpng, and float -> uint8 conversion.
// See include/base/image_io.h. Decoding gives exactly Pillow 9.4's Image.convert("RGB") for
// every colour type, bit depth and interlace (tests/test_png_pillow.c, fixtures from
// convert/golden/golden_png.py): libpng's transforms (expand low-bit gray, strip 16 -> 8 bits
// by the high byte, drop alpha, gray -> RGB) for most kinds, own row conversions for palettes
// and 16-bit gray, where Pillow differs from what libpng would give.
#include "base/image_io.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
} membuf;

typedef struct {
    const char *name;
    char msg[256];
} pngctx;

static void on_error(png_structp png, png_const_charp msg) {
    pngctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void read_mem(png_structp png, png_bytep out, png_size_t n) {
    membuf *m = png_get_io_ptr(png);
    if (n > m->len - m->pos) png_error(png, "file is truncated");
    memcpy(out, m->buf + m->pos, n);
    m->pos += n;
}

// Pillow's Image.convert("RGB") for the two kinds libpng's transforms do not give:
// 16-bit grayscale (Pillow 9.4 opens it as mode "I" and converting clips each value to 255)
// and palette indices past the end of PLTE (Pillow's palette starts as the gray ramp
// (i, i, i) and PLTE overwrites only its own entries; libpng would give black).
enum { KIND_LIBPNG, KIND_PALETTE, KIND_GRAY16 };

// Rewrites row y, read as 1-byte palette indices or 2-byte big-endian gray samples at the
// start of its 3*w-byte slot, as RGB8 in place (right to left: output never overtakes input).
static void row_to_rgb8(uint8_t *row, png_uint_32 w, int kind, const uint8_t pal[256][3]) {
    for (png_uint_32 x = w; x-- > 0;) {
        uint8_t r, g, b;
        if (kind == KIND_PALETTE) {
            const uint8_t *c = pal[row[x]];
            r = c[0], g = c[1], b = c[2];
        } else {
            const unsigned v = (unsigned)row[2 * x] << 8 | row[2 * x + 1];
            r = g = b = (uint8_t)(v > 255 ? 255 : v);
        }
        row[3 * x] = r, row[3 * x + 1] = g, row[3 * x + 2] = b;
    }
}

// Decodes through libpng's classic API. The steps, in order: header checks and the size
// bounds (before any pixel memory is allocated), the transforms that make RGB8 rows (or
// palette indices / 16-bit gray for row_to_rgb8), then the rows (interlaced or not). One
// function (~85 lines) because libpng reports every error by longjmp to the one setjmp here,
// which must own the buffers it frees.
int hy_png_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb) {
    *rgb = NULL;
    *w = *h = 0;
    if (len < 8 || png_sig_cmp(buf, 0, 8)) return hy_err(HY_EFORMAT, "%s: not a PNG file", name);
    pngctx ctx = {name, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png) return hy_err(HY_ENOMEM, "%s: cannot create PNG reader", name);
    png_infop info = png_create_info_struct(png);
    membuf m = {buf, len, 0};
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        return hy_err(HY_EFORMAT, "%s: corrupt PNG: %s", name, ctx.msg[0] ? ctx.msg : "cannot decode");
    }
    png_set_read_fn(png, &m, read_mem);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, info);
    png_uint_32 pw, ph;
    int depth, ctype;
    png_get_IHDR(png, info, &pw, &ph, &depth, &ctype, NULL, NULL, NULL);
    if (pw == 0 || ph == 0) png_error(png, "zero-size image");
    if ((int64_t)pw * ph > HY_IMAGE_MAX_PIXELS) {
        snprintf(ctx.msg, sizeof ctx.msg, "image is %ux%u, over the limit of %lld pixels", pw, ph,
                 (long long)HY_IMAGE_MAX_PIXELS);
        png_longjmp(png, 1);
    }
    // Bound the pixel allocation by the input size: the image's raw bits arrive through zlib,
    // which expands at most ~1032x, so a small file cannot make us allocate a huge image...
    uint64_t raw_min = (uint64_t)pw * ph * png_get_channels(png, info) * (uint64_t)depth / 8;
    if (raw_min / 1032 > len) {
        snprintf(ctx.msg, sizeof ctx.msg, "truncated: a %ux%u image cannot fit in %zu bytes", pw, ph, len);
        png_longjmp(png, 1);
    }
    // ... and, since a 1-bit pixel becomes 3 bytes, the decoded RGB8 image by the file size too.
    const uint64_t out_bytes = (uint64_t)pw * ph * 3;
    if (out_bytes > (uint64_t)HY_PNG_MAX_EXPANSION * len + HY_PNG_FREE_BYTES) {
        snprintf(ctx.msg, sizeof ctx.msg,
                 "a %ux%u image (%llu MB as RGB) from a %zu-byte file is over the limit of %d x the file size "
                 "+ %d MB (a decompression bomb?)", pw, ph, (unsigned long long)(out_bytes >> 20), len,
                 HY_PNG_MAX_EXPANSION, HY_PNG_FREE_BYTES >> 20);
        png_longjmp(png, 1);
    }
    const int kind = ctype == PNG_COLOR_TYPE_PALETTE              ? KIND_PALETTE
                     : ctype == PNG_COLOR_TYPE_GRAY && depth == 16 ? KIND_GRAY16
                                                                   : KIND_LIBPNG;
    uint8_t pal[256][3];
    if (kind == KIND_PALETTE) {
        png_colorp plte = NULL;
        int n_plte = 0;
        if (!png_get_PLTE(png, info, &plte, &n_plte)) png_error(png, "palette image without PLTE");
        for (int i = 0; i < 256; i++) {
            const int in = i < n_plte;
            pal[i][0] = in ? plte[i].red : (uint8_t)i;
            pal[i][1] = in ? plte[i].green : (uint8_t)i;
            pal[i][2] = in ? plte[i].blue : (uint8_t)i;
        }
        png_set_packing(png);  // 1/2/4-bit indices -> one byte each; no expansion, tRNS ignored
    } else if (kind == KIND_LIBPNG) {
        png_set_expand(png);  // gray < 8 bit -> 8 bit (x255, x85, x17 as Pillow), tRNS -> alpha
        if (depth == 16) png_set_strip_16(png);  // the high byte, as Pillow's ";16B" raw modes
        png_set_strip_alpha(png);
        if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    }  // KIND_GRAY16: the 16-bit big-endian samples as stored (a tRNS key is ignored)
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const size_t want_rowbytes = (size_t)pw * (kind == KIND_PALETTE ? 1 : kind == KIND_GRAY16 ? 2 : 3);
    if (png_get_rowbytes(png, info) != want_rowbytes) png_error(png, "unexpected row layout after conversion");
    pixels = malloc((size_t)out_bytes);
    rows = malloc(sizeof(png_bytep) * ph);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < ph; y++) rows[y] = pixels + (size_t)y * pw * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    if (kind != KIND_LIBPNG)
        for (png_uint_32 y = 0; y < ph; y++) row_to_rgb8(rows[y], pw, kind, pal);
    free(rows);
    *rgb = pixels;
    *w = (int)pw;
    *h = (int)ph;
    return HY_OK;
}

// Names the formats people try most often, so that the message says what the file is.
static const char *other_format(const uint8_t *b, size_t n) {
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) return "a GIF";
    if (n >= 2 && !memcmp(b, "BM", 2)) return "a BMP";
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "a WebP";
    if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) return "a TIFF";
    return NULL;
}

int hy_image_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb) {
    *rgb = NULL;
    *w = *h = 0;
    if (len >= 8 && !png_sig_cmp(buf, 0, 8)) return hy_png_decode_rgb8(name, buf, len, w, h, rgb);
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return hy_jpeg_decode_rgb8(name, buf, len, w, h, rgb);
    const char *other = other_format(buf, len);
    if (other) return hy_err(HY_EFORMAT, "%s: is %s image; only PNG and JPEG are read (convert it first)", name, other);
    return hy_err(HY_EFORMAT, "%s: not a PNG or JPEG file", name);
}

int hy_image_read_rgb8(const char *path, int *w, int *h, uint8_t **rgb) {
    uint8_t *buf;
    size_t len;
    *rgb = NULL;
    int r = hy_read_file(path, &buf, &len, (size_t)1 << 30);
    if (r) return r;
    r = hy_image_decode_rgb8(path, buf, len, w, h, rgb);
    free(buf);
    return r;
}

int hy_png_read_rgb8(const char *path, int *w, int *h, uint8_t **rgb) { return hy_image_read_rgb8(path, w, h, rgb); }

int hy_png_write_rgb8(const char *path, int w, int h, const uint8_t *rgb) {
    return hy_png_write_rgb8_dpi(path, w, h, rgb, 0);
}

// A growing output buffer for PNGs encoded in memory.
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} outbuf;

static void write_mem(png_structp png, png_bytep data, png_size_t n) {
    outbuf *m = png_get_io_ptr(png);
    if (m->failed) return;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n) cap *= 2;
        uint8_t *b = realloc(m->buf, cap);
        if (!b) {
            m->failed = 1;
            png_error(png, "out of memory");
        }
        m->buf = b, m->cap = cap;
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}
static void flush_mem(png_structp png) { (void)png; }

// Encodes RGB8 (h, w, 3) as a PNG into fp, or into mem when fp is NULL; name is for messages.
static int encode_png(const char *name, int w, int h, const uint8_t *rgb, int dpi, FILE *fp, outbuf *mem) {
    if (w <= 0 || h <= 0) return hy_err(HY_EARG, "%s: cannot write a %dx%d image", name, w, h);
    pngctx ctx = {name, ""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return hy_err(HY_EIO, "%s: PNG write failed: %s", name, ctx.msg);
    }
    if (fp) png_init_io(png, fp);
    else png_set_write_fn(png, mem, write_mem, flush_mem);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // zlib level 3: a 1024x1024 generator image takes 0.11 s of CPU instead of 0.43 s at level
    // 6 (13% larger file), which had become most of `hyper generate`'s time per image
    png_set_compression_level(png, 3);
    if (dpi > 0) {  // pHYs counts pixels per metre
        png_uint_32 ppm = (png_uint_32)lround(dpi / 0.0254);
        png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    }
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, rgb + (size_t)y * w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return HY_OK;
}

int hy_png_write_rgb8_dpi(const char *path, int w, int h, const uint8_t *rgb, int dpi) {
    if (w <= 0 || h <= 0) return hy_err(HY_EARG, "%s: cannot write a %dx%d image", path, w, h);
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    if ((r = encode_png(path, w, h, rgb, dpi, o.fp, NULL))) {
        hy_out_abort(&o);
        return r;
    }
    return hy_out_commit(&o);
}

int hy_png_encode_rgb8(int w, int h, const uint8_t *rgb, uint8_t **png, size_t *len) {
    outbuf m = {0};
    *png = NULL;
    *len = 0;
    int r = encode_png("PNG in memory", w, h, rgb, 0, NULL, &m);
    if (r || m.failed) {
        free(m.buf);
        return r ? r : hy_err(HY_ENOMEM, "out of memory encoding a %dx%d PNG", w, h);
    }
    *png = m.buf;
    *len = m.len;
    return HY_OK;
}

uint8_t hy_img_to_u8(float x) {
    float v = 127.5f * x + 127.5f;  // float32 arithmetic, as Gs.run(out_mul, out_add) does
    if (!(v > 0.0f)) return 0;      // also catches NaN
    if (v >= 255.0f) return 255;
    return (uint8_t)nearbyintf(v);  // default rounding mode: half to even, like tf.round / np.rint
}

void hy_img_f32_to_rgb8(uint8_t *rgb, const float *chw, int w, int h) {
    size_t hw = (size_t)w * h;
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) rgb[i * 3 + c] = hy_img_to_u8(chw[c * hw + i]);
}
