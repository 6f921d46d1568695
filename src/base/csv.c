// csv.c - splitting and parsing the project's plain CSV lines (include/base/csv.h).
#include "base/csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

int hy_csv_split(char *line, char **fields, int max) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    int n = 0;
    for (char *p = line;; p++) {
        if (n == max) return max + 1;
        fields[n++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p = 0;
    }
    return n;
}

int hy_csv_col(char *const *header, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(header[i], name)) return i;
    return -1;
}

int hy_csv_double(const char *field, double *v) {
    char *end;
    errno = 0;
    *v = strtod(field, &end);  // underflow to a denormal or zero is accepted, overflow is not
    return end == field || *end || (errno == ERANGE && isinf(*v)) ? HY_EFORMAT : HY_OK;
}

int hy_csv_ll(const char *field, long long *v) {
    char *end;
    errno = 0;
    *v = strtoll(field, &end, 10);
    return end == field || *end || errno == ERANGE ? HY_EFORMAT : HY_OK;
}
