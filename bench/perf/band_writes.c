/* Why two threads split a single image's Winograd layer poorly (issue 3, target 1).
 *
 *   gcc -O2 -mavx2 -mfma -pthread -o /tmp/band_writes bench/perf/band_writes.c \
 *       Sources/CKernels/winograd4_avx2.c -ISources/CKernels/include -ISources/CKernels
 *   /tmp/band_writes [calls]
 *
 * A single image's 3x3 layers at width 16 (16 channels of 32x32, NCHW: one 4 KB plane per
 * channel) split over two threads by bands of rows: thread 0 writes rows 0-15 of every plane,
 * thread 1 rows 16-31. The halves never share a cache line, yet within every 4 KB page the two
 * cores write neighbouring lines, and a core's hardware prefetcher, running ahead of its own
 * stream, pulls the other core's lines over (each one then goes back on the next write). A
 * contiguous half per thread (what a split by channels gives, or ONNX Runtime's NCHWc layout
 * split by channel blocks) has one boundary instead of sixteen.
 *
 * Two workloads, each timed per call (both halves), thread 1 pinned to CPU 1 and woken by a
 * spinning flag as the engine's pool does:
 *   stores:  plain 256-bit stores of the 64 KB output, the output pattern alone;
 *   wino4:   the engine's F(4x4) output transform (rk_wino4_output_avx2) of a 16-channel 32x32
 *            layer, each band from its own M, into one output tensor or into one per thread.
 * Rows: one thread doing both halves; two threads, halves of every plane (the band split);
 * two threads, contiguous halves (stores) or private outputs (wino4).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>

void rk_wino4_output_avx2(const float *m, long ldm, long ps, int c0, int c1, int images, int h, int w,
                          int ty0, int ty1, float *y, long cs);

enum { C = 16, H = 32, W = 32, PLANE = H * W, TILES = (H / 4) * (W / 4), BAND = TILES / 2 };
enum { SERIAL, SPLIT_ROWS, SPLIT_CONTIGUOUS };

static float *out[2];          /* output tensors (the second only for private outputs) */
static float *mband[2];        /* each band's Winograd-domain products: 36 planes of C x BAND */
static const long ps = C * BAND + 16;
static int workload, layout, calls;
static atomic_int go, done;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

__attribute__((target("avx2"))) static void store_floats(float *p, long n) {
    const __m256 v = _mm256_set1_ps(1.0f);
    for (long i = 0; i < n; i += 8) _mm256_storeu_ps(p + i, v);
}

/* Thread t's half of the layer. */
static void half(int t) {
    if (workload == 0) {
        if (layout == SPLIT_CONTIGUOUS) {
            store_floats(out[0] + (long)t * C * PLANE / 2, C * PLANE / 2);
        } else {
            for (int c = 0; c < C; c++) store_floats(out[0] + (long)c * PLANE + t * PLANE / 2, PLANE / 2);
        }
    } else {
        float *y = out[layout == SPLIT_CONTIGUOUS ? t : 0];
        /* M is indexed by the tile's number in the image: shift the band's first tile to 0. */
        rk_wino4_output_avx2(mband[t] - t * BAND, BAND, ps, 0, C, 1, H, W, t * H / 8, (t + 1) * H / 8, y, PLANE);
    }
}

static void *worker(void *arg) {
    (void)arg;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(1, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
    for (int i = 0; i < calls; i++) {
        while (atomic_load_explicit(&go, memory_order_acquire) <= i) {}
        half(1);
        atomic_fetch_add_explicit(&done, 1, memory_order_release);
    }
    return NULL;
}

static double run(int wl, int lay) {
    workload = wl;
    layout = lay;
    atomic_store(&go, 0);
    atomic_store(&done, 0);
    pthread_t th;
    if (lay != SERIAL) pthread_create(&th, NULL, worker, NULL);
    for (int i = 0; i < 1000; i++) { half(0); half(1); }  /* warm: both halves on this core */
    const double t0 = now();
    for (int i = 0; i < calls; i++) {
        if (lay == SERIAL) {
            half(0);
            half(1);
        } else {
            atomic_store_explicit(&go, i + 1, memory_order_release);
            half(0);
            while (atomic_load_explicit(&done, memory_order_acquire) <= i) {}
        }
    }
    const double t1 = now();
    if (lay != SERIAL) pthread_join(th, NULL);
    return (t1 - t0) / calls * 1e6;
}

int main(int argc, char **argv) {
    calls = argc > 1 ? atoi(argv[1]) : 100000;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(0, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
    for (int t = 0; t < 2; t++) {
        if (posix_memalign((void **)&out[t], 64, sizeof(float) * C * PLANE) ||
            posix_memalign((void **)&mband[t], 64, sizeof(float) * 36 * ps)) return 1;
        memset(out[t], 0, sizeof(float) * C * PLANE);
        for (long i = 0; i < 36 * ps; i++) mband[t][i] = 1e-3f * (float)(i % 97);
    }
    const char *names[] = {"one thread, both halves", "two threads, rows of every plane", "two threads, contiguous / private"};
    printf("16 x 32 x 32 fp32 output (64 KB), us per call, median of 5 runs of %d calls\n", calls);
    printf("%-36s %10s %10s\n", "split", "stores", "wino4");
    for (int lay = 0; lay < 3; lay++) {
        double r[2][5];
        for (int k = 0; k < 5; k++)
            for (int wl = 0; wl < 2; wl++) r[wl][k] = run(wl, lay);
        for (int wl = 0; wl < 2; wl++)  /* insertion sort, then the median */
            for (int i = 1; i < 5; i++)
                for (int j = i; j > 0 && r[wl][j] < r[wl][j - 1]; j--) { double x = r[wl][j]; r[wl][j] = r[wl][j - 1]; r[wl][j - 1] = x; }
        printf("%-36s %10.2f %10.2f\n", names[lay], r[0][2], r[1][2]);
    }
    return 0;
}
