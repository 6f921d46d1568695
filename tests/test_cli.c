// test_cli.c - the command-line conventions, checked on every command `hyper --help` lists
// (so a new command is covered without editing this file): --help, --version, --threads,
// --quiet, --opt=value, exit status 2 and a one-line message for every usage error.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

#define MAX_CMDS 64
static char cmds[MAX_CMDS][32];
static int n_cmds;

// Reads the command names from `hyper --help` ("commands:" then "  name  summary" lines).
static void load_commands(void) {
    char *out = NULL;
    ck_assert_int_eq(run_hyper(&out, "--help"), 0);
    const char *p = strstr(out, "commands:\n");
    ck_assert_ptr_nonnull(p);
    p += strlen("commands:\n");
    n_cmds = 0;
    while (p[0] == ' ' && p[1] == ' ' && n_cmds < MAX_CMDS) {
        sscanf(p, " %31s", cmds[n_cmds++]);
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
    free(out);
    // the commands of this release; more may be added, none may vanish
    ck_assert_int_ge(n_cmds, 14);
}

static int one_line(const char *s) { return s[0] && strchr(s, '\n') == s + strlen(s) - 1; }

START_TEST(every_command_has_help_and_version) {
    load_commands();
    for (int i = 0; i < n_cmds; i++) {
        char *out = NULL;
        ck_assert_msg(run_hyper(&out, "%s --help", cmds[i]) == 0, "%s --help: %s", cmds[i], out);
        char want[128];
        snprintf(want, sizeof want, "usage: hyper %.31s ", cmds[i]);
        ck_assert_msg(strstr(out, want) == out, "%s --help does not start with '%s': %s", cmds[i], want, out);
        ck_assert_msg(strstr(out, "--threads T") && strstr(out, "--quiet") && strstr(out, "--version"),
                      "%s --help lacks the common options", cmds[i]);
        free(out);
        ck_assert_int_eq(run_hyper(&out, "%s --version", cmds[i]), 0);
        ck_assert_msg(!strncmp(out, "hyper ", 6) && one_line(out), "%s --version: %s", cmds[i], out);
        free(out);
    }
}
END_TEST

// Every way of getting the options wrong exits 2 with one line naming the problem.
START_TEST(every_usage_error_exits_2_with_one_line) {
    load_commands();
    static const struct {
        const char *args, *needle;
    } bad[] = {
        {"--bogus-option", "unknown option '--bogus-option'"},
        {"--threads", "--threads needs a value"},
        {"--threads 0", "--threads: '0' is out of range (1..256)"},
        {"--threads=100000", "--threads: '100000' is out of range"},
        {"--threads=2x", "--threads: '2x' is not an integer"},
        {"--quiet=1", "--quiet takes no value"},
        {"-Z", "unknown option '-Z'"},
    };
    for (int i = 0; i < n_cmds; i++)
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            char *out = NULL;
            int rc = run_hyper(&out, "%s %s", cmds[i], bad[k].args);
            ck_assert_msg(rc == 2, "hyper %s %s exited %d: %s", cmds[i], bad[k].args, rc, out);
            ck_assert_msg(strstr(out, bad[k].needle), "hyper %s %s: message lacks '%s': %s", cmds[i], bad[k].args,
                          bad[k].needle, out);
            ck_assert_msg(one_line(out), "hyper %s %s: not one line: %s", cmds[i], bad[k].args, out);
            free(out);
        }
    // HY_THREADS is read as strictly as --threads (it used to go through atoi: 100000 crashed libgomp)
    char cmd[4096], line[512] = "";
    snprintf(cmd, sizeof cmd, "HY_THREADS=100000 %s info tests/fixtures/pggan_tiny.bin 2>&1", hyper_bin());
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
    int st = pclose(p);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    ck_assert_msg(strstr(line, "HY_THREADS: '100000' is out of range"), "%s", line);
}
END_TEST

START_TEST(opt_equals_value_quiet_and_deprecated_spellings) {
    char *d = test_tmpdir(), *out = NULL;
    // --opt=value everywhere a value is taken, including strings and numbers
    ck_assert_int_eq(run_hyper(&out, "simulate --out=%s/sim --train=20 --test=4 --reps=2 --voxels=30 --latent-dim=8 "
                                     "--strong=2 --quiet", d), 0);
    ck_assert_msg(out[0] == 0, "--quiet printed: %s", out);  // nothing at all on stdout/stderr
    free(out);
    ck_assert_int_eq(run_hyper(&out, "train --data=%s/sim --model=ridge --out=%s/r.bin --alphas=3 --threads=1", d, d), 0);
    ck_assert_msg(strstr(out, "train: wrote"), "%s", out);
    free(out);
    // bad numbers: trailing junk, overflow, out of range, below an exclusive bound
    static const char *bad[][2] = {
        {"--alphas 3x", "--alphas: '3x' is not an integer"},
        {"--alphas 99999999999999999999", "--alphas: '99999999999999999999' is out of range"},
        {"--lr -1", "--lr: '-1' must be > 0"},
        {"--lr 1e999", "--lr: '1e999' is not a finite number"},
        {"--lr nan", "--lr: 'nan' is not a finite number"},
        {"--alpha-min 10 --alpha-max 1", "--alpha-min 10 must be below --alpha-max 1"},
        {"--weight-decay -1", "--weight-decay: '-1' must be >= 0"},
        {"--activation swish", "--activation: 'swish' is not one of none|relu|tanh|leaky"},
        {"--hidden 10,,5", "--hidden: '10,,5' is not a list like 700,900"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = run_hyper(&out, "train -d %s/sim --model mlp -o %s/m.bin %s", d, d, bad[k][0]);
        ck_assert_msg(rc == 2 && strstr(out, bad[k][1]) && one_line(out), "%s -> %d: %s", bad[k][0], rc, out);
        free(out);
        ck_assert_msg(!file_exists("m.bin"), "output written");
    }
    // a value that underflows to a subnormal is a number, not "not finite" (1e-320 > 0)
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/sim2 --snr 1e-320 --train 4 --test 2 --reps 1 --voxels 5 "
                                     "--latent-dim 2 --strong 1 --quiet", d), 0);
    free(out);
    // deprecated spellings still work, with a one-line note
    ck_assert_int_eq(run_hyper(&out, "generate -w tests/fixtures/pggan_tiny.bin --seed 1 -n 1 -o %s/g", d), 0);
    ck_assert_msg(strstr(out, "note: -w/--weights is deprecated, use -g/--generator"), "%s", out);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "generate -w tests/fixtures/pggan_tiny.bin --seed 1 -n 1 -o %s/g -q", d), 0);
    ck_assert_msg(out[0] == 0, "--quiet printed: %s", out);
    free(out);
    // required options and positional counts
    ck_assert_int_eq(run_hyper(&out, "generate --seed 1 -n 1 -o %s/g", d), 2);
    ck_assert_msg(strstr(out, "-g/--generator is required") && one_line(out), "%s", out);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "info"), 2);
    ck_assert_msg(strstr(out, "needs at least 1 FILE") && one_line(out), "%s", out);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "report a b"), 2);
    ck_assert_msg(strstr(out, "too many") && one_line(out), "%s", out);
    free(out);
    // `--` ends the options: a file named like an option can still be given
    ck_assert_int_eq(run_hyper(&out, "info -- --not-a-file"), 1);
    ck_assert_msg(strstr(out, "--not-a-file"), "%s", out);
    free(out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("cli");
    TCase *t = tcase_create("conventions");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, every_command_has_help_and_version);
    tcase_add_test(t, every_usage_error_exits_2_with_one_line);
    tcase_add_test(t, opt_equals_value_quiet_and_deprecated_spellings);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
