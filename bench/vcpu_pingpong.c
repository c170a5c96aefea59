// vcpu_pingpong: how far apart this VM's two vCPUs are right now.
//
//   gcc -O2 -pthread -o /tmp/vcpu_pingpong bench/vcpu_pingpong.c && /tmp/vcpu_pingpong
//
// Prints the round trip of one cache line between threads pinned to vCPU 0 and vCPU 1, and
// the time to read 16 MiB that vCPU 0 has just written, from vCPU 1 and from vCPU 0. On this
// VM the round trip is bimodal: about 60-90 ns (the two vCPUs share a last-level cache) or
// 300-410 ns (they do not), and the second mode comes with robust's slow two-thread phase
// (bench/results/perf/README.md, 2026-12-05 late). A diagnostic, not part of the build.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static _Atomic long flag __attribute__((aligned(64)));
static const long N = 200000;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void pin(int c) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(c, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s); }
static void *pong(void *arg) {
    (void)arg;
    pin(1);
    for (long i = 0; i < N; i++) {
        while (atomic_load_explicit(&flag, memory_order_acquire) != 2 * i + 1) __builtin_ia32_pause();
        atomic_store_explicit(&flag, 2 * i + 2, memory_order_release);
    }
    return NULL;
}
#define MB (16 << 20)
static float *buf;
static _Atomic int phase;
static double readSeconds;
static void *reader(void *arg) {
    pin((int)(long)arg);
    while (atomic_load(&phase) != 1) __builtin_ia32_pause();
    double t = now(); float s = 0;
    for (int r = 0; r < 1; r++) for (long i = 0; i < MB / 4; i += 16) s += buf[i];
    readSeconds = now() - t;
    if (s == 12345) puts("");
    return NULL;
}
int main(void) {
    pin(0);
    pthread_t t; atomic_store(&flag, 0);
    pthread_create(&t, NULL, pong, NULL);
    double t0 = now();
    for (long i = 0; i < N; i++) {
        atomic_store_explicit(&flag, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&flag, memory_order_acquire) != 2 * i + 2) __builtin_ia32_pause();
    }
    double rt = (now() - t0) / N * 1e9;
    pthread_join(t, NULL);
    buf = aligned_alloc(64, MB);
    double cross = 0, local = 0;
    for (int k = 0; k < 2; k++) {  // k 0: reader on the other vCPU, 1: on this one
        memset(buf, k + 1, MB);  // written here, on vCPU 0
        atomic_store(&phase, 0);
        pthread_t r; pthread_create(&r, NULL, reader, (void *)(long)(k == 0 ? 1 : 0));
        atomic_store(&phase, 1);
        pthread_join(r, NULL);
        if (k == 0) cross = readSeconds; else local = readSeconds;
    }
    printf("round trip %.0f ns; 16 MiB written on vCPU 0, read once: other vCPU %.2f ms, same vCPU %.2f ms\n", rt, cross * 1e3, local * 1e3);
    return 0;
}
