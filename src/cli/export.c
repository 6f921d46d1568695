// export.c - `hyper export`: a decoder file -> an .npz archive numpy reads (include/decoders/decoders.h
// "npz exchange" lists the arrays).
#include <stdio.h>

#include "base/common.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "decoders/decoders.h"

static const char ABOUT_EXPORT[] =
    "Writes a decoder (from `hyper train` or `hyper import`) as an .npz archive:\n"
    "  weight (D, V), bias (D,)            one-layer decoders (numbered weight0, bias0, ... for an MLP)\n"
    "  zscore_mean, zscore_scale (V,)      when the input is z-scored: x -> (x - mean) / scale first\n"
    "  model, activation, leaky_slope      how to run it (text scalars; activation/slope for an MLP)\n"
    "In Python: d = np.load('d.npz'); pred = ((x - d['zscore_mean']) / d['zscore_scale']) @ d['weight'].T + d['bias'].";

int cmd_export(int argc, char **argv) {
    const char *out = NULL;
    int compress = 0;
    const opt table[] = {
        OPT_STR("out", 'o', &out, "D.npz", "the archive to write", OPT_REQUIRED),
        OPT_FLAG("compressed", 0, &compress, "deflate the arrays (as np.savez_compressed; default stored, as np.savez)"),
        OPT_END,
    };
    const cli_command cmd = {"export", "DECODER.bin -o D.npz [--compressed]", ABOUT_EXPORT, table, NULL, 1, 1,
                             "DECODER.bin"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    decoder dec;
    if (hy_dec_load(&dec, args.pos[0])) return cli_fail("export");
    int rc = hy_dec_export_npz(&dec, out, compress);
    if (!rc) hy_note("export: wrote %s (%s, %d -> %d, %d layer%s%s)", out, hy_dec_kind(dec.kind)->name, dec.n_in,
                     dec.n_out, dec.n_layers, dec.n_layers > 1 ? "s" : "", dec.x_mean ? ", z-scored input" : "");
    hy_dec_free(&dec);
    return rc ? cli_fail("export") : 0;
}
