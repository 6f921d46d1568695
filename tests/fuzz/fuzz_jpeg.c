// fuzz_jpeg.c - libFuzzer target: JPEG decoding through our libjpeg-turbo wrapper (src/base/jpeg.c).
#include <stdint.h>
#include <stdlib.h>

#include "base/image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w, h;
    uint8_t *rgb = NULL;
    if (hy_jpeg_decode_rgb8("fuzz.jpg", data, size, &w, &h, &rgb) == 0) free(rgb);
    return 0;
}
