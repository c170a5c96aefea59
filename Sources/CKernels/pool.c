/* The worker pool of robust_pool.h.
 *
 * One 64-bit word publishes a job and hands out its indices:
 *
 *   word = generation (24 bits) | n (20 bits) | next index (20 bits)
 *
 * A thread takes index i by a compare-and-swap from (g, n, i) to (g, n, i + 1), and only after
 * it succeeded does it read the job's body and context. A successful claim means the job is
 * still running (its caller waits until every claimed index is done), so those fields are the
 * ones the caller wrote before publishing the word. A worker that wakes late sees a word whose
 * next index reached n, or a newer generation, and claims nothing: no job can run a stale body.
 */
#define _GNU_SOURCE
#include "robust_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define MAX_WORKERS 63
#define IDX_BITS 20
#define IDX_MASK ((1ull << IDX_BITS) - 1)

static _Atomic uint64_t word;             /* generation | n | next */
static _Atomic long done;                 /* indices of the current job that have returned */
static _Atomic int busy;                  /* a caller holds the pool */
static _Atomic int sleepers;              /* workers waiting on `wake` */
static _Atomic long spin_ns = -1;         /* -1: not yet read from the environment */
static rk_pool_body job_body;             /* written by the caller before it publishes `word` */
static void *job_context;
static int started;                       /* workers created (only the pool's holder changes it) */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

/* The optional trace (rk_pool_trace): events go to trace_buf while it is set. */
static rk_pool_event *_Atomic trace_buf;
static long trace_cap;
static _Atomic long trace_n;
static long trace_job;                    /* sequence number of the current job */
static _Thread_local int thread_no;       /* 0 on callers, 1... on the pool's workers */
static _Thread_local int thread_limit;    /* rk_pool_set_thread_limit; 0: none */

static inline uint64_t gen_of(uint64_t w) { return w >> (2 * IDX_BITS); }
static inline long n_of(uint64_t w) { return (long)((w >> IDX_BITS) & IDX_MASK); }
static inline long next_of(uint64_t w) { return (long)(w & IDX_MASK); }

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A forked child has none of the parent's workers but their counters, and possibly `busy` or
 * `lock` held by a thread that does not exist there: start over with an empty pool. */
static void after_fork_in_child(void) {
    started = 0;
    atomic_store(&sleepers, 0);
    atomic_store(&busy, 0);
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&wake, NULL);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

/* Spinning longer than a second is never useful; the clamp also keeps us * 1000 in range. */
static long clamp_us(long us) { return us < 0 ? 0 : us > 1000000 ? 1000000 : us; }

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

long rk_pool_now_ns(void) { return now_ns(); }

void rk_pool_set_thread_limit(int n) { thread_limit = n > 0 ? n : 0; }
int rk_pool_thread_limit(void) { return thread_limit; }
int rk_pool_thread_no(void) { return thread_no; }

static void trace_add(rk_pool_event *buf, long job, long index, long t0, long t1) {
    const long k = atomic_fetch_add_explicit(&trace_n, 1, memory_order_relaxed);
    if (k < trace_cap) buf[k] = (rk_pool_event){job, index, thread_no, sched_getcpu(), t0, t1};
}

void rk_pool_trace(rk_pool_event *events, long capacity) {
    atomic_store(&trace_buf, NULL);
    trace_cap = events ? capacity : 0;
    atomic_store(&trace_n, 0);
    atomic_store(&trace_buf, events);
}

long rk_pool_trace_count(void) {
    const long n = atomic_load(&trace_n);
    return n < trace_cap ? n : trace_cap;
}

static long spin_budget_ns(void) {
    long s = atomic_load_explicit(&spin_ns, memory_order_relaxed);
    if (s >= 0) return s;
    long us = 200;
    const char *e = getenv("ROBUST_SPIN_US");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == 0 && v >= 0) us = v;
    }
    const long ns = clamp_us(us) * 1000;
    atomic_store_explicit(&spin_ns, ns, memory_order_relaxed);
    return ns;
}

void rk_pool_set_spin_us(long us) { atomic_store_explicit(&spin_ns, clamp_us(us) * 1000, memory_order_relaxed); }

long rk_pool_spin_us(void) { return spin_budget_ns() / 1000; }

/* Claims and runs indices of the job in `w`'s generation until none is left. */
static void work_on(uint64_t w) {
    const uint64_t g = gen_of(w);
    for (;;) {
        if (gen_of(w) != g || next_of(w) >= n_of(w)) return;
        if (atomic_compare_exchange_weak_explicit(&word, &w, w + 1, memory_order_acquire, memory_order_relaxed)) {
            rk_pool_event *const tb = atomic_load_explicit(&trace_buf, memory_order_acquire);
            const long t0 = tb ? now_ns() : 0;
            job_body(job_context, next_of(w));
            if (tb) trace_add(tb, trace_job, next_of(w), t0, now_ns());
            atomic_fetch_add_explicit(&done, 1, memory_order_release);
            w = atomic_load_explicit(&word, memory_order_relaxed);
        }
        /* a failed CAS reloaded w */
    }
}

static void *worker_main(void *arg) {
    thread_no = (int)(intptr_t)arg;
    uint64_t seen = gen_of(atomic_load(&word));
    for (;;) {
        /* Spin while a new job may come soon, then sleep until one does. */
        uint64_t w = atomic_load_explicit(&word, memory_order_relaxed);
        if (gen_of(w) == seen) {
            const long budget = spin_budget_ns();
            const long t0 = budget > 0 ? now_ns() : 0;
            unsigned k = 0;
            while (gen_of(w) == seen && budget > 0) {
                relax();
                w = atomic_load_explicit(&word, memory_order_relaxed);
                if ((++k & 255) == 0 && now_ns() - t0 > budget) break;
            }
            if (gen_of(w) == seen) {
                pthread_mutex_lock(&lock);
                atomic_fetch_add(&sleepers, 1);  /* seq_cst: pairs with the caller's store of word */
                while (gen_of(w = atomic_load(&word)) == seen) pthread_cond_wait(&wake, &lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&lock);
            }
        }
        seen = gen_of(w);
        work_on(w);
    }
    return NULL;
}

int rk_pool_run(long n, int workers, rk_pool_body body, void *context) {
    if (n <= 0) return 1;
    if (n > (long)IDX_MASK) return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&busy, &expected, 1)) return 0;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    if (started < workers) pthread_once(&fork_once, register_fork_handler);
    while (started < workers) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int rc = pthread_create(&t, &attr, worker_main, (void *)(intptr_t)(started + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            if (started > 0) break;  /* run with the workers there are */
            atomic_store(&busy, 0);
            return 0;
        }
        started++;
    }
    job_body = body;
    job_context = context;
    rk_pool_event *const tb = atomic_load_explicit(&trace_buf, memory_order_relaxed);
    const long t_pub = tb ? now_ns() : 0;
    if (tb) trace_job++;
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    const uint64_t w = ((gen_of(atomic_load(&word)) + 1) & 0xFFFFFF) << (2 * IDX_BITS) | (uint64_t)n << IDX_BITS;
    atomic_store(&word, w);  /* seq_cst: publishes the fields above; pairs with `sleepers` */
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    work_on(w);
    /* Wait for indices the workers took; yield the core if one of them was descheduled. */
    unsigned k = 0;
    while (atomic_load_explicit(&done, memory_order_acquire) < n) {
        relax();
        if ((++k & 1023) == 0) sched_yield();
    }
    if (tb) trace_add(tb, trace_job, -1, t_pub, now_ns());
    atomic_store(&busy, 0);
    return 1;
}
