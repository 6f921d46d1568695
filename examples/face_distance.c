// face_distance.c - embed two face PNGs with FaceNet and print the distance of the embeddings.
//
//     face_distance F.bin A.png B.png
//
// Each image is used whole (no face detection: see models/facecrop.h for MTCNN crops), resized
// to the network's input size with Pillow's bilinear filter and standardised as
// (x - 127.5) / 128 - what `hyper distance --crop full` does. Build against an installed libhyper:
//     cc -std=c11 face_distance.c $(pkg-config --cflags --libs hyper) -lm -o face_distance
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <hyper.h>

// Reads a PNG and writes its standardised S x S input tensor (3, S, S) into x.
static int load_input(float *x, int S, const char *path) {
    int w, h;
    uint8_t *rgb = NULL, *small = malloc((size_t)3 * S * S);
    int rc = small ? hy_png_read_rgb8(path, &w, &h, &rgb) : HY_ENOMEM;
    if (!rc) rc = hy_resize_rgb8(small, S, S, rgb, w, h);
    if (!rc) hy_standardize_rgb8(x, small, S, S);
    free(rgb), free(small);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: face_distance F.bin A.png B.png\n");
        return 2;
    }
    facenet net;
    if (hy_facenet_load(&net, argv[1])) {
        fprintf(stderr, "face_distance: %s\n", hy_errmsg());
        return 1;
    }
    const int S = net.input_size, D = net.emb_dim;
    float *x = malloc(sizeof(float) * 2 * 3 * (size_t)S * S), *e = malloc(sizeof(float) * 2 * (size_t)D);
    int rc = (x && e) ? HY_OK : HY_ENOMEM;
    for (int k = 0; k < 2 && !rc; k++) rc = load_input(x + (size_t)k * 3 * S * S, S, argv[2 + k]);
    if (!rc) rc = hy_facenet_forward(&net, x, 2, e, NULL, NULL);  // e: (2, D) unit rows
    if (!rc) {
        double d2 = 0;
        for (int j = 0; j < D; j++) d2 += ((double)e[j] - e[D + j]) * ((double)e[j] - e[D + j]);
        printf("%.6f\n", sqrt(d2));
    } else {
        fprintf(stderr, "face_distance: %s\n", hy_errmsg());
    }
    free(x), free(e);
    hy_facenet_free(&net);
    return rc ? 1 : 0;
}
