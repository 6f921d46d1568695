// import.c - `hyper import`: an .npz archive of decoder weights (e.g. scikit-learn's coef_ and
// intercept_) -> a decoder file `hyper predict`, `reconstruct` and `evaluate` run.
#include <stdio.h>

#include "base/common.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "decoders/decoders.h"

static const char ABOUT_IMPORT[] =
    "Makes a decoder file from an .npz archive of weights, for example a scikit-learn fit:\n"
    "  np.savez('d.npz', weight=ridge.coef_, bias=ridge.intercept_)               # (D, V), (D,)\n"
    "  np.savez('d.npz', weight=..., bias=..., zscore_mean=scaler.mean_, zscore_scale=scaler.scale_)\n"
    "An MLP has weight0, bias0, weight1, ... and an activation. float32 or float64; the layers are\n"
    "stored as float32 (nn.Linear layout, out x in). Arrays with other names are refused.";

int cmd_import(int argc, char **argv) {
    const char *out = NULL, *model = NULL, *act = NULL;
    const opt table[] = {
        OPT_STR("out", 'o', &out, "DECODER.bin", "the decoder file to write", OPT_REQUIRED),
        OPT_STR("model", 0, &model, "KIND",
                "the decoder kind to record (linear, ridge, ...; default: the archive's 'model'\n"
                "array, else linear, or linear-nobias without a bias; mlp for numbered layers)", 0),
        OPT_STR("activation", 0, &act, "ACT", "an MLP's activation when the archive has no 'activation' array", 0),
        OPT_END,
    };
    const cli_command cmd = {"import", "D.npz -o DECODER.bin [--model KIND] [--activation ACT]", ABOUT_IMPORT, table,
                             NULL, 1, 1, "D.npz"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    dec_kind k;
    int a;
    if (model && hy_dec_kind_parse(model, &k)) return cli_usage_error(&cmd, "--model: %s", hy_errmsg());
    if (act && hy_dec_act_parse(act, &a)) return cli_usage_error(&cmd, "--activation: %s", hy_errmsg());
    decoder dec;
    if (hy_dec_import_npz(&dec, args.pos[0], model, act)) return cli_fail("import");
    int rc = hy_dec_save(&dec, out);
    if (!rc) hy_note("import: wrote %s (%s, %d -> %d, %d layer%s%s%s)", out, hy_dec_kind(dec.kind)->name, dec.n_in,
                     dec.n_out, dec.n_layers, dec.n_layers > 1 ? "s" : "", dec.has_bias ? ", bias" : ", no bias",
                     dec.x_mean ? ", z-scored input" : "");
    hy_dec_free(&dec);
    return rc ? cli_fail("import") : 0;
}
