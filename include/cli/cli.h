// cli.h - subcommands of the `hyper` binary. Each lives in src/cmd_<name>.c, parses its
// own arguments, prints --help, and returns a process exit status (0 ok, 1 error,
// 2 usage). Only main.c exits.
#ifndef HY_CLI_H
#define HY_CLI_H

// -- engine and PGGAN (issue 2)
int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);


// -- FaceNet (issue 3)
int cmd_embed(int argc, char **argv);
int cmd_distance(int argc, char **argv);


// -- MTCNN (issue 4)
int cmd_detect(int argc, char **argv);


// -- data, simulator, decoders (issue 5)
int cmd_simulate(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_score(int argc, char **argv);


// -- study pipeline (issue 6)
int cmd_reconstruct(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);


// Shared helpers for argument parsing (src/cli/cli_util.c).
// Parses an integer option value in [min,max]; sets an error naming the option otherwise.
int cli_int(const char *opt, const char *val, long min, long max, long *out);
int cli_double(const char *opt, const char *val, double *out);
// Prints the library error (hy_errmsg) as "hyper <cmd>: <msg>" and returns 1.
int cli_fail(const char *cmd);

#endif
