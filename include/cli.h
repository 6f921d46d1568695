// cli.h - subcommands of the `hyper` binary. Each lives in src/cmd_<name>.c, parses its
// own arguments, prints --help, and returns a process exit status (0 ok, 1 error,
// 2 usage). Only main.c exits.
#ifndef HY_CLI_H
#define HY_CLI_H

int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);

// Shared helpers for argument parsing (src/cli_util.c).
// Parses a positive int option value; prints an error naming the option on failure.
int cli_int(const char *opt, const char *val, long min, long max, long *out);
int cli_double(const char *opt, const char *val, double *out);
// Reports the library error (hy_errmsg) as "hyper <cmd>: <msg>" and returns 1.
int cli_fail(const char *cmd);

#endif
