// fuzz_events.c - libFuzzer target: the GLM's TSV readers (events.tsv, confounds.tsv with and
// without n/a filling and a column list) on arbitrary bytes, in memory.
#include <stdint.h>

#include "glm/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hy_events ev;
    if (hy_events_parse("fuzz.tsv", (const char *)data, size, NULL, &ev) == 0) hy_events_free(&ev);
    hy_confounds c;
    if (hy_confounds_parse("fuzz.tsv", (const char *)data, size, NULL, 1, &c) == 0) hy_confounds_free(&c);
    if (hy_confounds_parse("fuzz.tsv", (const char *)data, size, "a,onset", 0, &c) == 0) hy_confounds_free(&c);
    return 0;
}
