// cli_util.c - small helpers shared by the subcommands (see include/cli/cli.h).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "base/common.h"

int cli_int(const char *opt, const char *val, long min, long max, long *out) {
    if (!val) return hy_err(HY_EARG, "%s needs a value", opt);
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max)
        return hy_err(HY_EARG, "%s: '%s' is not an integer in %ld..%ld", opt, val, min, max);
    *out = v;
    return HY_OK;
}

int cli_double(const char *opt, const char *val, double *out) {
    if (!val) return hy_err(HY_EARG, "%s needs a value", opt);
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v)) return hy_err(HY_EARG, "%s: '%s' is not a finite number", opt, val);
    *out = v;
    return HY_OK;
}

int cli_fail(const char *cmd) {
    fprintf(stderr, "hyper %s: %s\n", cmd, hy_errmsg());
    return 1;
}
