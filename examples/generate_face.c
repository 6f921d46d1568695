// generate_face.c - the smallest use of libhyper's generator: one latent -> one face PNG.
//
//     generate_face G.bin SEED OUT.png
//
// draws the latent as torch.manual_seed(SEED); torch.randn(1, 512) (what `hyper generate --seed`
// does), runs the PGGAN generator and writes the image. Build against an installed libhyper,
// static (hyper-static.pc) or shared (hyper.pc; LD_LIBRARY_PATH=PREFIX/lib unless PREFIX/lib
// is a system library folder):
//     cc -std=c11 generate_face.c $(pkg-config --cflags --libs hyper-static) -o generate_face
#include <stdio.h>
#include <stdlib.h>

#include <hyper.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: generate_face G.bin SEED OUT.png\n");
        return 2;
    }
    char *end;
    unsigned long long seed = strtoull(argv[2], &end, 10);
    if (*end || end == argv[2]) {
        fprintf(stderr, "generate_face: SEED '%s' is not a number\n", argv[2]);
        return 2;
    }
    pggan g;
    if (hy_pggan_load(&g, argv[1])) {
        fprintf(stderr, "generate_face: %s\n", hy_errmsg());
        return 1;
    }
    const int L = g.latent, R = g.resolution;
    float *z = malloc(sizeof(float) * (size_t)L), *img = malloc(sizeof(float) * 3 * (size_t)R * R);
    uint8_t *rgb = malloc((size_t)3 * R * R);
    int status = 1;
    if (z && img && rgb) {
        mt19937 rng;
        hy_mt_seed(&rng, seed);
        hy_mt_randn_f32(&rng, z, L);
        if (!hy_pggan_forward(&g, z, img, NULL, NULL)) {  // img: (3, R, R), roughly in [-1, 1]
            hy_img_f32_to_rgb8(rgb, img, R, R);
            status = hy_png_write_rgb8(argv[3], R, R, rgb) ? 1 : 0;
        }
    }
    if (status) fprintf(stderr, "generate_face: %s\n", hy_errmsg());
    free(z), free(img), free(rgb);
    hy_pggan_free(&g);
    return status;
}
