// resize.h - face-crop preprocessing for FaceNet: crop, Pillow-exact bilinear resize of RGB8,
// fixed standardisation to planar float (spec facenet.md section 3).
//
// resize_rgb8 reproduces Pillow's Image.resize(size, Image.BILINEAR) (Pillow 9.x, no box, no
// reducing_gap) bit for bit: the antialiased triangle filter with support max(in/out, 1) per
// axis, weights normalised in double and quantised to 22-bit fixed point, a horizontal pass
// over all rows into a uint8 intermediate, then a vertical pass. It works for up- and
// down-scaling. facenet-pytorch's extract_face does img.crop(box).resize((160,160), BILINEAR);
// face_preprocess does the same.
#ifndef HY_RESIZE_H
#define HY_RESIZE_H

#include <stdint.h>

// out (oh, ow, 3) = Pillow bilinear resize of in (h, w, 3), interleaved RGB8.
// Errors (HY_EARG) for sizes < 1 or > 65536. Allocates its coefficient and intermediate
// buffers internally (HY_ENOMEM on failure).
int hy_resize_rgb8(uint8_t *out, int ow, int oh, const uint8_t *in, int w, int h);

// A crop box in pixel coordinates, x1 <= x < x2, y1 <= y < y2 (PIL's crop box).
typedef struct {
    int x1, y1, x2, y2;
} crop_box;

// The whole image.
crop_box hy_crop_full(int w, int h);
// Checks that the box is non-empty and inside a w x h image (HY_EARG naming `what` otherwise).
int hy_crop_check(const crop_box *b, int w, int h, const char *what);
// out ((y2-y1), (x2-x1), 3) = in[y1:y2, x1:x2]; the box must pass crop_check.
void hy_crop_rgb8(uint8_t *out, const uint8_t *in, int w, const crop_box *b);

// chw (3, h, w) = (rgb (h, w, 3) - 127.5) / 128   (facenet-pytorch fixed_image_standardization)
void hy_standardize_rgb8(float *chw, const uint8_t *rgb, int w, int h);

// crop -> resize to size x size -> standardise into chw (3, size, size). If rgb_out is not
// NULL it receives the resized crop (size, size, 3) (for --save-crops).
int hy_face_preprocess(float *chw, uint8_t *rgb_out, int size, const uint8_t *rgb, int w, int h, const crop_box *b);

#endif
