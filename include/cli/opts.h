// opts.h - the one option parser of the `hyper` commands.
//
// Every command declares its options as a table (long name, short name, type, destination,
// metavariable, help) and calls cli_parse(), which
//   - accepts `--name value`, `--name=value`, `-s value` and `--` (the rest is positional);
//   - checks integers and floats strictly (no trailing junk, no overflow, the table's range);
//   - adds --threads T, --quiet, --version and -h/--help to every command;
//   - prints --help from the table (usage line, about text, options, epilog);
//   - reports a missing or bad value, an unknown option or a missing required option as one line
//     "hyper CMD: ..." naming the option, and asks the caller to exit 2;
//   - accepts deprecated spellings (OPT_ALIAS rows) with a one-line note on stderr.
//
// Flags that mean the same thing are spelled the same in every command (README "Command-line
// conventions"): -g/--generator, -e/--embedder, -m/--mtcnn, -d/--data, -o/--out, --decoder,
// --seed (default 1), --null N, --batch (training) vs --face-batch (FaceNet), --threads, --quiet.
//
// Use:
//     static const char *out = NULL; int n = 16;
//     const opt table[] = {
//         OPT_STR("out", 'o', &out, "DIR", "output directory", OPT_REQUIRED),
//         OPT_INT("n", 'n', &n, "N", "number of images (16)", 1, 1000000),
//         OPT_END};
//     const cli_command cmd = {"generate", "-g G.bin -o DIR [options]", "About text.", table, NULL, 0, 0};
//     CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);   // returns 0 after --help, 2 on a usage error
//     ... args.pos[0 .. args.n_pos-1] are the positional arguments
#ifndef HY_CLI_OPTS_H
#define HY_CLI_OPTS_H

#include <stdint.h>

typedef enum {
    OPT_T_END = 0,
    OPT_T_FLAG,     // no value; *(int *)dest = 1
    OPT_T_CLEAR,    // no value; *(int *)dest = 0 (e.g. --no-shuffle)
    OPT_T_INT,      // integer in [lo, hi] -> *(int *)dest
    OPT_T_LONG,     // integer in [lo, hi] -> *(long *)dest
    OPT_T_U64,      // integer in [lo, hi] -> *(uint64_t *)dest (seeds)
    OPT_T_DOUBLE,   // finite number in [lo, hi] (bounds exclusive with OPT_GT / OPT_LT) -> *(double *)dest
    OPT_T_STR,      // any string -> *(const char **)dest
    OPT_T_CHOICE,   // one of "a|b|c" -> *(int *)dest = index
    OPT_T_LIST,     // repeatable string -> appended to (cli_list *)dest
    OPT_T_FN,       // custom: fn(dest, value) returns HY_OK or hy_err(HY_EARG, ...) naming the problem
    OPT_T_ALIAS,    // deprecated spelling of the option whose long name is `alias_of`
    OPT_T_SECTION,  // a heading line in --help (help = the heading)
} opt_type;

enum {
    OPT_REQUIRED = 1,  // the command cannot run without it
    OPT_GT = 2,        // numeric lower bound is exclusive (value > lo)
    OPT_LT = 4,        // numeric upper bound is exclusive (value < hi)
    OPT_HIDDEN = 8,    // not listed in --help
    OPT_DEF = 16,      // --help appends " (default X)" read from the destination before parsing
};

typedef struct opt {
    const char *name;      // long name without the dashes, e.g. "generator"
    char short_name;       // 'g', or 0
    opt_type type;
    void *dest;
    const char *metavar;   // value placeholder shown in --help ("G.bin"); NULL for flags
    const char *help;      // help text; '\n' starts an indented continuation line
    double lo, hi;         // numeric range
    unsigned flags;        // OPT_REQUIRED | OPT_GT | OPT_LT | OPT_HIDDEN
    const char *choices;   // OPT_T_CHOICE: "relu|tanh|leaky"
    int (*fn)(void *dest, const char *value);  // OPT_T_FN
    const char *alias_of;  // OPT_T_ALIAS: the long name of the canonical option
} opt;

// A repeatable option's values (OPT_T_LIST); at most CLI_LIST_MAX.
#define CLI_LIST_MAX 64
typedef struct {
    const char *v[CLI_LIST_MAX];
    int n;
} cli_list;

// --- table rows ------------------------------------------------------------------------
#define OPT_FLAG(nm, sh, dst, hlp) {.name = nm, .short_name = sh, .type = OPT_T_FLAG, .dest = dst, .help = hlp}
#define OPT_CLEAR(nm, sh, dst, hlp) {.name = nm, .short_name = sh, .type = OPT_T_CLEAR, .dest = dst, .help = hlp}
#define OPT_STR(nm, sh, dst, mv, hlp, fl) \
    {.name = nm, .short_name = sh, .type = OPT_T_STR, .dest = dst, .metavar = mv, .help = hlp, .flags = fl}
#define OPT_INT(nm, sh, dst, mv, hlp, l, h) \
    {.name = nm, .short_name = sh, .type = OPT_T_INT, .dest = dst, .metavar = mv, .help = hlp, .lo = l, .hi = h}
// The same, with the default shown in --help (from the destination's value before parsing).
#define OPT_INT_D(nm, sh, dst, mv, hlp, l, h) \
    {.name = nm, .short_name = sh, .type = OPT_T_INT, .dest = dst, .metavar = mv, .help = hlp, .lo = l, .hi = h, \
     .flags = OPT_DEF}
#define OPT_LONG(nm, sh, dst, mv, hlp, l, h) \
    {.name = nm, .short_name = sh, .type = OPT_T_LONG, .dest = dst, .metavar = mv, .help = hlp, .lo = l, .hi = h}
#define OPT_U64(nm, sh, dst, mv, hlp, l, h) \
    {.name = nm, .short_name = sh, .type = OPT_T_U64, .dest = dst, .metavar = mv, .help = hlp, .lo = l, .hi = h}
#define OPT_DOUBLE(nm, sh, dst, mv, hlp, l, h, fl) \
    {.name = nm, .short_name = sh, .type = OPT_T_DOUBLE, .dest = dst, .metavar = mv, .help = hlp, .lo = l, \
     .hi = h, .flags = fl}
#define OPT_DOUBLE_D(nm, sh, dst, mv, hlp, l, h, fl) \
    {.name = nm, .short_name = sh, .type = OPT_T_DOUBLE, .dest = dst, .metavar = mv, .help = hlp, .lo = l, \
     .hi = h, .flags = (fl) | OPT_DEF}
#define OPT_CHOICE(nm, sh, dst, mv, ch, hlp) \
    {.name = nm, .short_name = sh, .type = OPT_T_CHOICE, .dest = dst, .metavar = mv, .choices = ch, .help = hlp}
#define OPT_LIST(nm, sh, dst, mv, hlp) \
    {.name = nm, .short_name = sh, .type = OPT_T_LIST, .dest = dst, .metavar = mv, .help = hlp}
#define OPT_FN(nm, sh, f, dst, mv, hlp) \
    {.name = nm, .short_name = sh, .type = OPT_T_FN, .fn = f, .dest = dst, .metavar = mv, .help = hlp}
// A deprecated spelling: `--old` (and `-s` when given) still works for one release, with a note.
#define OPT_ALIAS(old, sh, canonical) {.name = old, .short_name = sh, .type = OPT_T_ALIAS, .alias_of = canonical}
#define OPT_SECTION(title) {.name = "", .type = OPT_T_SECTION, .help = title}
#define OPT_END {.name = NULL}
// Largest integer a double holds exactly; the upper bound of "any count" options.
#define OPT_MAXINT 2147483647.0

typedef struct {
    const char *name;   // command name ("train")
    const char *usage;  // what follows "usage: hyper NAME " (one or more lines)
    const char *about;  // paragraphs printed after the usage line, or NULL
    const opt *opts;    // the table, ended by OPT_END
    const char *epilog; // text after the option list, or NULL
    int min_pos, max_pos;  // positional argument counts (max_pos < 0: any number)
    const char *pos_name;  // how positionals are named in errors ("IMAGE"), or NULL
} cli_command;

typedef struct {
    char **pos;  // positional arguments (pointers into argv)
    int n_pos;
} cli_args;

// Return values of cli_parse besides 0 (help/version printed) and 2 (usage error printed).
#define CLI_RUN (-1)

// Parses argv[1..argc-1] (argv[0] is the command name) into the table's destinations and `a`.
// Applies --threads (hy_set_threads) and --quiet (hy_set_quiet). Returns CLI_RUN when the command
// should run, 0 when --help or --version was printed, 2 after printing a usage error.
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a);

// Declares `cli_args NAME` and parses; returns from the calling command with the exit status when
// --help/--version was printed (0) or a usage error was reported (2).
#define CLI_PARSE_OR_RETURN(cmd, argc, argv, name)                    \
    cli_args name;                                                    \
    do {                                                              \
        int cli_rc_ = cli_parse((cmd), (argc), (argv), &name);        \
        if (cli_rc_ != CLI_RUN) return cli_rc_;                       \
    } while (0)

// Prints "hyper CMD: <msg>" for a usage problem found after parsing (e.g. two options that exclude
// each other) and returns 2.
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// The value of option --name (or -s) in argv without parsing the rest, or NULL: for options whose
// value decides other defaults (train's --model). Accepts --name=value.
const char *cli_peek(int argc, char **argv, const char *name, char short_name);

// Strict number parsers shared with option values that hold lists ("700,900") or boxes.
// Each returns HY_OK or hy_err(HY_EARG, "<what>: ...").
int cli_parse_long(const char *what, const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *what, const char *s, double *out);
// Comma-separated integers in [lo, hi]: at most max values, at least one.
int cli_parse_int_list(const char *what, const char *s, long lo, long hi, int *out, int max, int *n);

// The process's version line ("hyper 0.9.0 (...)").
const char *cli_version(void);

#endif
