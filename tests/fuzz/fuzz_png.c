// fuzz_png.c - libFuzzer target: PNG decoding through our libpng wrapper.
#include <stdint.h>
#include <stdlib.h>

#include "base/image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int w, h;
    uint8_t *rgb = NULL;
    if (hy_png_decode_rgb8("fuzz.png", data, size, &w, &h, &rgb) == 0) free(rgb);
    return 0;
}
