// fuzz_nifti.c - libFuzzer target: the NIfTI-1 parser on arbitrary bytes through nifti_read_mem
// (plain .nii, and the gzip path whenever the input starts like a gzip stream). nifti_read runs
// the same parser on a file source (tests/test_nifti.c checks the two agree). In memory, so
// no file is written per execution. Seeds: tests/fuzz/seeds/nifti.
#include <stdint.h>
#include <stdlib.h>

#include "base/nifti.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nifti_img img;
    if (hy_nifti_read_mem("fuzz.nii", data, size, &img) == 0) {
        // touch every value (ASan checks the allocation matches nvox)
        volatile double s = 0;
        for (int64_t i = 0; i < img.nvox; i++) s += img.data[i];
        (void)s;
        hy_nifti_free(&img);
    }
    return 0;
}
