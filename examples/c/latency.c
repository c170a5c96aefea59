/* latency: what a C caller of librobust.so gets, warm: single-image latency of decode + score
 * from PNG/JPEG bytes in memory, and batch throughput of robust_score_rgb_batch.
 *
 *   latency MODEL.safetensors IMAGE [BATCH=256] [SECONDS=3]
 *
 * Prints one table row per measure (median over SECONDS of calls, after a warm-up call).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "robust.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double times[100000];

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: latency MODEL IMAGE [BATCH] [SECONDS]\n"); return 2; }
    int batch = argc > 3 ? atoi(argv[3]) : 256;
    double seconds = argc > 4 ? atof(argv[4]) : 3;
    robust_model *m = NULL;
    if (robust_model_load(argv[1], &m) != ROBUST_OK) { fprintf(stderr, "%s\n", robust_last_error()); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 2; }
    static unsigned char img[1 << 20];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);

    robust_score s;
    int k = 0;
    robust_score_encoded(m, img, n, ROBUST_NO_CLAIM, NULL, &s, NULL, 0);  /* warm-up */
    double t0 = now();
    while ((now() - t0 < seconds || k < 3) && k < 100000) {
        double t = now();
        if (robust_score_encoded(m, img, n, ROBUST_NO_CLAIM, NULL, &s, NULL, 0) != ROBUST_OK) {
            fprintf(stderr, "%s\n", robust_last_error());
            return 1;
        }
        times[k++] = now() - t;
    }
    qsort(times, (size_t)k, sizeof times[0], cmp);
    double latency = times[k / 2];

    unsigned char *rgb = malloc((size_t)batch * 32 * 32 * 3);
    robust_score *out = malloc(sizeof *out * (size_t)batch);
    for (size_t i = 0; i < (size_t)batch * 32 * 32 * 3; i++) rgb[i] = (unsigned char)(i * 2654435761u >> 24);
    robust_score_rgb_batch(m, rgb, batch, 32, 32, NULL, NULL, out, NULL, 0);
    k = 0;
    t0 = now();
    while ((now() - t0 < seconds || k < 3) && k < 100000) {
        double t = now();
        robust_score_rgb_batch(m, rgb, batch, 32, 32, NULL, NULL, out, NULL, 0);
        times[k++] = now() - t;
    }
    qsort(times, (size_t)k, sizeof times[0], cmp);
    robust_model_info info;
    robust_model_get_info(m, &info);
    printf("C ABI, width %d, %d threads: decode+score one image %.3f ms (median), batch %d: %.1f img/s\n",
           info.width, robust_get_num_threads(), 1000 * latency, batch, batch / times[k / 2]);
    free(rgb);
    free(out);
    robust_model_free(m);
    return 0;
}
