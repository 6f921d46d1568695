// test_examples.c - the library as others link it: the programs in examples/ (built by `make
// test` against the build's libhyper.a) give the same results as the hyper commands, and a
// `make install` into a temporary prefix yields headers, libraries and pkg-config files that
// compile and run the same examples, shared and static.
#include <check.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

#define GEN "tests/fixtures/pggan_tiny.bin"
#define NET "tests/fixtures/facenet_tiny.bin"
#define IMG_A "tests/fixtures/png/rgb8.png"
#define IMG_B "tests/fixtures/png/gray8.png"

// The build folder of the hyper binary under test ("build", "build-san", ...).
static void build_dir(char *out, size_t n) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", hyper_bin());
    snprintf(out, n, "%s", dirname(tmp));
}

// Runs a shell command, captures stdout+stderr into *out, returns the exit status.
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd - 8, fmt, ap);
    va_end(ap);
    strcat(cmd, " 2>&1");
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) len += r;
    buf[len] = 0;
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Checks that EXE (generate_face, face_distance) agrees with the hyper commands.
static void check_examples(const char *gen_exe, const char *dist_exe, const char *env) {
    char *d = test_tmpdir(), *out = NULL, *ref = NULL;
    ck_assert_msg(sh(&out, "%s %s %s 5 %s/ex.png", env, gen_exe, GEN, d) == 0, "%s: %s", gen_exe, out);
    free(out);
    ck_assert_int_eq(run_hyper(NULL, "generate -g %s --seed 5 -n 1 -o %s/cli -q", GEN, d), 0);
    // the same latent through the same library: the PNGs are identical byte for byte
    ck_assert_msg(sh(&out, "cmp %s/ex.png %s/cli/000000.png", d, d) == 0, "PNGs differ: %s", out);
    free(out);
    ck_assert_msg(sh(&out, "%s %s %s %s %s", env, dist_exe, NET, IMG_A, IMG_B) == 0, "%s: %s", dist_exe, out);
    ck_assert_int_eq(run_hyper(&ref, "distance -e %s --crop full %s %s", NET, IMG_A, IMG_B), 0);
    ck_assert_msg(!strcmp(out, ref), "face_distance printed %s, hyper distance %s", out, ref);
    ck_assert_msg(atof(out) > 0.01, "distance %s: two different images should not coincide", out);
    free(out);
    free(ref);
    // bad input: one line naming the file, exit 1
    ck_assert_int_eq(sh(&out, "%s %s /nonexistent.bin 1 %s/x.png", env, gen_exe, d), 1);
    ck_assert_msg(strstr(out, "/nonexistent.bin") && strchr(out, '\n') == out + strlen(out) - 1, "%s", out);
    free(out);
    ck_assert_msg(!file_exists("x.png"), "output written on failure");
}

START_TEST(examples_match_the_commands) {
    char b[1024], g[1200], f[1200];
    build_dir(b, sizeof b);
    snprintf(g, sizeof g, "%s/examples/generate_face", b);
    snprintf(f, sizeof f, "%s/examples/face_distance", b);
    check_examples(g, f, "");
}
END_TEST

START_TEST(make_install_then_link_with_pkg_config) {
    char b[1024], san[64] = "", extra[128] = "";
    build_dir(b, sizeof b);
    // build-san is `make SANITIZE=1` (BUILD=build); its objects need the sanitizer runtime to link
    size_t len = strlen(b);
    if (len > 4 && !strcmp(b + len - 4, "-san")) {
        b[len - 4] = 0;
        snprintf(san, sizeof san, "SANITIZE=1");
        snprintf(extra, sizeof extra, "-fsanitize=address,undefined");
    }
    char *d = test_tmpdir(), *out = NULL;
    // a make started from a test must not join the jobserver of the make running the tests
    int rc = sh(&out, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory install PREFIX=%s/usr "
                      "BUILD=%s %s", d, b, san);
    ck_assert_msg(rc == 0, "make install: %s", out);
    free(out);
    static const char *want[] = {"bin/hyper", "lib/libhyper.a", "lib/libhyper.so", "lib/libhyper.so.0",
                                 "include/hyper/hyper.h", "include/hyper/models/pggan.h",
                                 "lib/pkgconfig/hyper.pc", "lib/pkgconfig/hyper-static.pc"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/usr/%s", d, want[k]);
        ck_assert_msg(file_exists(p), "make install did not write %s", p);
    }
    // compile both examples twice: against the shared library and the static one
    const char *pcs[] = {"hyper", "hyper-static"};
    for (int k = 0; k < 2; k++) {
        char g[1400], f[1400], env[1400];
        snprintf(g, sizeof g, "%s/gen_%s", d, pcs[k]);
        snprintf(f, sizeof f, "%s/dist_%s", d, pcs[k]);
        const char *src[2] = {"examples/generate_face.c", "examples/face_distance.c"};
        const char *exe[2] = {g, f};
        for (int e = 0; e < 2; e++) {
            rc = sh(&out, "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig cc -std=c11 %s %s $(PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
                          "pkg-config --cflags --libs %s) -lm -o %s", d, extra, src[e], d, pcs[k], exe[e]);
            ck_assert_msg(rc == 0, "compiling %s with pkg-config %s: %s", src[e], pcs[k], out);
            free(out);
        }
        snprintf(env, sizeof env, "LD_LIBRARY_PATH=%s/usr/lib", d);
        check_examples(g, f, k == 0 ? env : "");
        // the static build must not need libhyper.so at run time
        if (k == 1) {
            ck_assert_int_eq(sh(&out, "ldd %s | grep -c libhyper", g), 1);  // grep finds nothing: exit 1
            free(out);
        }
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("examples");
    TCase *t = tcase_create("library");
    tcase_set_timeout(t, 300);  // make install may link the shared library first
    tcase_add_test(t, examples_match_the_commands);
    tcase_add_test(t, make_install_then_link_with_pkg_config);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
