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
        // a gzip volume respects the documented bound (nifti.h): stored + float64 bytes
        const int isz = img.datatype == NII_UINT8 ? 1 : img.datatype == NII_INT16 ? 2 : img.datatype == NII_FLOAT64 ? 8 : 4;
        if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b &&
            (uint64_t)img.nvox * (8 + isz) > (uint64_t)NIFTI_MAX_EXPANSION * size + NIFTI_FREE_BYTES)
            abort();
        // touch every value (ASan checks the allocation matches nvox)
        volatile double s = 0;
        for (int64_t i = 0; i < img.nvox; i++) s += img.data[i];
        (void)s;
        hy_nifti_free(&img);
    }
    return 0;
}
