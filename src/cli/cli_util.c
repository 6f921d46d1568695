// cli_util.c - small helpers shared by the subcommands (see include/cli/cli.h).
#include <stdio.h>

#include "base/common.h"
#include "cli/cli.h"
#include "models/facecrop.h"

int cli_fail(const char *cmd) {
    fprintf(stderr, "hyper %s: %s\n", cmd, hy_errmsg());
    return 1;
}

// --crop and --on-no-face are checked while parsing (a bad value is a usage error, exit 2) and
// kept as strings for hy_face_crop_setup.
int cli_opt_crop(void *dest, const char *v) {
    face_crop_opts tmp;
    if (hy_face_crop_parse(&tmp, v, NULL)) return HY_EARG;
    *(const char **)dest = v;
    return HY_OK;
}

int cli_opt_noface(void *dest, const char *v) {
    face_crop_opts tmp;
    if (hy_face_crop_parse(&tmp, NULL, v)) return HY_EARG;
    *(const char **)dest = v;
    return HY_OK;
}
