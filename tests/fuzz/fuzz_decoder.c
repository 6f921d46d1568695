// fuzz_decoder.c - libFuzzer target: the decoder weight-file reader (wf_open_mem + dec_from_wfile,
// what dec_load runs on a file: kind "decoder", config and tensor validation), on the raw bytes
// and on a copy with the CRCs recomputed so that mutations reach the config checks. A decoder
// that loads is described and run on one zero row (exercises the loaded shapes). In memory.
// Seeds: tests/fuzz/seeds/decoder (hyper train output).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/decoders.h"
#include "fuzz_util.h"

static void one(const uint8_t *data, size_t size) {
    wfile wf;
    if (hy_wf_open_mem(&wf, "fuzz.bin", data, size) != 0) return;
    decoder dec;
    int rc = hy_dec_from_wfile(&dec, &wf, "fuzz.bin");
    if (rc == 0) fz_wf_assert_loaded(&wf);  // every tensor used, all finite (issue 19)
    hy_wf_close(&wf);
    if (rc) return;
    static FILE *null_out;
    if (!null_out) null_out = fopen("/dev/null", "w");
    if (null_out) hy_dec_describe(&dec, null_out);
    if (dec.n_in <= 100000 && dec.n_out <= 100000) {
        double *x = calloc((size_t)dec.n_in, sizeof(double));
        float *y = calloc((size_t)dec.n_out, sizeof(float));
        if (x && y) hy_dec_predict(&dec, x, 1, y);
        free(x);
        free(y);
    }
    hy_dec_free(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_raw_and_fixed(data, size, one);
    return 0;
}
