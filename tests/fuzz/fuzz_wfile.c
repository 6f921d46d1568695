// fuzz_wfile.c - libFuzzer target: the weight-file reader on arbitrary bytes.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "base/wfile.h"

static void one(const uint8_t *data, size_t size) {
    wfile wf;
    if (hy_wf_open_mem(&wf, "fuzz.bin", data, size) == 0) {
        // exercise the getters on whatever validated
        for (uint32_t i = 0; i < wf.n_tensors; i++) {
            const float *p;
            hy_wf_get_f32(&wf, wf.tensors[i].name, wf.tensors[i].ndim, wf.tensors[i].dims, &p);
        }
        int64_t v;
        hy_wf_cfg_int(&wf, "resolution", &v);
        hy_wf_close(&wf);
    }
}

// the raw bytes, then a copy with the CRCs recomputed (reaches the checks behind the CRC)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_raw_and_fixed(data, size, one);
    return 0;
}
