// jpeg.c - JPEG decoding through libjpeg-turbo, pixel for pixel as Pillow reads it.
//
// Pillow's `Image.open(f).convert('RGB')` on a JPEG runs libjpeg with its default decoder
// settings (accurate integer IDCT, fancy upsampling, block smoothing for progressive files)
// and asks for the colour space that matches the number of components: 1 -> grey ("L"),
// 3 -> RGB, 4 -> CMYK, which Pillow always reads with inverted polarity ("CMYK;I", the Adobe
// convention Photoshop writes) and then converts to RGB with its cmyk2rgb rule. Doing the
// same with the same library gives the same bytes; tests/test_jpeg.c checks that against
// fixtures written by PIL (convert/golden/golden_jpeg.py).
//
// What it refuses (one line naming the file): anything libjpeg cannot decode, 12-bit and
// 2-component files (Pillow refuses them too), arithmetic-coded files (see the size bound
// below), more than HY_IMAGE_MAX_PIXELS pixels, and a file cut short anywhere before its
// end-of-image marker (Pillow: "image file is truncated"). libjpeg's warnings about
// recoverable damage (extraneous bytes before a marker) are ignored, as Pillow ignores them.
#include <setjmp.h>
#include <stdio.h>  // before jpeglib.h, which uses FILE and size_t without including them
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "base/common.h"
#include "base/image_io.h"

// --- errors: libjpeg calls error_exit, which jumps back to the decoder ----------------
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 64];
} jerr;

static void on_error_exit(j_common_ptr cinfo) {
    jerr *e = (jerr *)cinfo->err;
    if (!e->msg[0]) cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}
static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }  // warnings: ignored

// Stops files with an absurd number of progressive scans, which libjpeg would otherwise
// decode one by one (each a full pass over the coefficients); real files have < 20.
#define HY_JPEG_MAX_SCANS 1000
static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > HY_JPEG_MAX_SCANS) {
        jerr *e = (jerr *)cinfo->err;
        snprintf(e->msg, sizeof e->msg, "more than %d scans", HY_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

// --- source: the whole file in memory; running past its end is an error ----------------
static void src_init(j_decompress_ptr d) { (void)d; }
static boolean src_fill(j_decompress_ptr d) {
    jerr *e = (jerr *)d->err;
    snprintf(e->msg, sizeof e->msg, "file is truncated");
    longjmp(e->jump, 1);
    return FALSE;
}
static void src_skip(j_decompress_ptr d, long n) {
    if (n <= 0) return;
    if ((size_t)n > d->src->bytes_in_buffer) src_fill(d);
    d->src->next_input_byte += n;
    d->src->bytes_in_buffer -= (size_t)n;
}
static void src_term(j_decompress_ptr d) { (void)d; }

// Pillow's CMYK -> RGB (Convert.c cmyk2rgb): r = nk - nk*c/255 with nk = 255 - k, the
// division rounded as MULDIV255 does ((t + (t >> 8)) >> 8 with t = a*b + 128).
static uint8_t cmyk_channel(int c, int nk) {
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Shared by the file and memory readers; w, h, rgb are set only on success.
int hy_jpeg_decode_rgb8(const char *name, const uint8_t *buf, size_t len, int *w, int *h, uint8_t **rgb) {
    *rgb = NULL;
    *w = *h = 0;
    if (len < 3 || buf[0] != 0xFF || buf[1] != 0xD8 || buf[2] != 0xFF)
        return hy_err(HY_EFORMAT, "%s: not a JPEG file", name);
    struct jpeg_decompress_struct d;
    jerr e;
    memset(&e, 0, sizeof e);
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error_exit;
    e.pub.output_message = on_output_message;
    struct jpeg_progress_mgr prog = {.progress_monitor = on_progress};
    struct jpeg_source_mgr src = {.next_input_byte = buf, .bytes_in_buffer = len, .init_source = src_init,
                                  .fill_input_buffer = src_fill, .skip_input_data = src_skip,
                                  .resync_to_restart = jpeg_resync_to_restart, .term_source = src_term};
    uint8_t *volatile pixels = NULL;  // volatile: survives the longjmp
    uint8_t *volatile row = NULL;
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        free(pixels);
        free(row);
        return hy_err(HY_EFORMAT, "%s: corrupt JPEG: %s", name, e.msg[0] ? e.msg : "cannot decode");
    }
    jpeg_create_decompress(&d);
    d.src = &src;
    d.progress = &prog;
    jpeg_read_header(&d, TRUE);
    unsigned pw = d.image_width, ph = d.image_height;
    int nc = d.num_components;
    if (d.data_precision != 8)
        snprintf(e.msg, sizeof e.msg, "%d-bit samples are not supported (8-bit only)", d.data_precision);
    else if (nc != 1 && nc != 3 && nc != 4)
        snprintf(e.msg, sizeof e.msg, "%d-component images are not supported (1, 3 or 4)", nc);
    else if (d.arith_code)
        snprintf(e.msg, sizeof e.msg, "arithmetic-coded JPEGs are not supported (re-save with Huffman coding)");
    else if (pw == 0 || ph == 0)
        snprintf(e.msg, sizeof e.msg, "zero-size image");
    else if ((int64_t)pw * ph > HY_IMAGE_MAX_PIXELS)
        snprintf(e.msg, sizeof e.msg, "image is %ux%u, over the limit of %lld pixels", pw, ph,
                 (long long)HY_IMAGE_MAX_PIXELS);
    // Bound the allocation by the input size: a Huffman-coded file spends at least one bit on
    // every 8x8 block of its first component (the DC code), so it holds <= 512 pixels a byte.
    else if ((uint64_t)pw * ph / 512 > len)
        snprintf(e.msg, sizeof e.msg, "truncated: a %ux%u image cannot fit in %zu bytes", pw, ph, len);
    if (e.msg[0]) longjmp(e.jump, 1);
    d.out_color_space = nc == 1 ? JCS_GRAYSCALE : nc == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_start_decompress(&d);
    int oc = d.output_components;
    pixels = malloc((size_t)pw * ph * 3);
    row = malloc((size_t)pw * (size_t)oc);
    if (!pixels || !row) {
        snprintf(e.msg, sizeof e.msg, "out of memory for a %ux%u image", pw, ph);
        longjmp(e.jump, 1);
    }
    while (d.output_scanline < ph) {
        uint8_t *out = pixels + (size_t)d.output_scanline * pw * 3;
        JSAMPROW rows[1] = {row};
        if (jpeg_read_scanlines(&d, rows, 1) != 1) src_fill(&d);
        for (unsigned x = 0; x < pw; x++) {
            const uint8_t *p = row + (size_t)x * oc;
            if (oc == 1) {
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = p[0];  // Pillow "L" -> RGB
            } else if (oc == 3) {
                memcpy(out + 3 * x, p, 3);
            } else {  // Pillow reads CMYK inverted ("CMYK;I"), then cmyk2rgb
                int nk = p[3];  // 255 - k with k = 255 - p[3] (the inverted reading)
                for (int c = 0; c < 3; c++) out[3 * x + c] = cmyk_channel(255 - p[c], nk);
            }
        }
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    free(row);
    *rgb = pixels;
    *w = (int)pw;
    *h = (int)ph;
    return HY_OK;
}
