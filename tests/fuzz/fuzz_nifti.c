// fuzz_nifti.c - libFuzzer target: nifti_read on arbitrary bytes (plain .nii, and the gzip
// path whenever the input is a gzip stream: zlib's gz* reads both). Seeds: tests/fuzz/seeds/nifti.
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fz_tmp_write(".nii.gz", data, size);
    if (!p) return 0;
    nifti_img img;
    if (nifti_read(p, &img) == 0) {
        // touch every value (ASan checks the allocation matches nvox)
        volatile double s = 0;
        for (int64_t i = 0; i < img.nvox; i++) s += img.data[i];
        (void)s;
        nifti_free(&img);
    }
    return 0;
}
