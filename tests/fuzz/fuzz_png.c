// fuzz_png.c - libFuzzer target: PNG decoding through our libpng wrapper; an image that decodes
// must respect the size bound (HY_PNG_MAX_EXPANSION x the input + HY_PNG_FREE_BYTES).
#include <stdint.h>
#include <stdlib.h>

#include "base/image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w, h;
    uint8_t *rgb = NULL;
    if (hy_png_decode_rgb8("fuzz.png", data, size, &w, &h, &rgb) == 0) {
        // the decoded image respects the documented bound (image_io.h)
        if ((uint64_t)w * h * 3 > (uint64_t)HY_PNG_MAX_EXPANSION * size + HY_PNG_FREE_BYTES) abort();
        free(rgb);
    }
    return 0;
}
