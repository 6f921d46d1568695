// info.c - `hyper info FILE...`: print a weight file's header, config and tensor table after
// full validation (every checksum is verified on load).
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/wfile.h"
#include "cli/cli.h"
#include "cli/opts.h"

static const char ABOUT_INFO[] =
    "Validates each weight file completely (magic, version, sizes, offsets, overlaps, header and\n"
    "per-tensor CRC32) and prints its kind, config and tensor table. Exit status 1 if any file\n"
    "is invalid.";

int cmd_info(int argc, char **argv) {
    const opt table[] = {OPT_END};
    const cli_command cmd = {"info", "FILE...", ABOUT_INFO, table, NULL, 1, -1, "FILE"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    int status = 0;
    for (int i = 0; i < args.n_pos; i++) {
        wfile wf;
        if (hy_wf_open(&wf, args.pos[i])) {
            status = cli_fail("info");
            continue;
        }
        if (i > 0) printf("\n");
        hy_wf_print(&wf, stdout);
        hy_wf_close(&wf);
    }
    return status;
}
