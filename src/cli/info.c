// cmd_info.c - `hyper info FILE...`: print a weight file's header, config and tensor
// table after full validation (every checksum is verified on load).
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "base/wfile.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper info FILE...\n\n"
            "Validates each weight file completely (magic, version, sizes, offsets, overlaps, header and\n"
            "per-tensor CRC32) and prints its kind, config and tensor table. Exit status 1 if any file\n"
            "is invalid.\n");
}

int cmd_info(int argc, char **argv) {
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return 0;
        }
        wfile wf;
        if (hy_wf_open(&wf, argv[i])) {
            status = cli_fail("info");
            continue;
        }
        if (i > 1) printf("\n");
        hy_wf_print(&wf, stdout);
        hy_wf_close(&wf);
    }
    return status;
}
