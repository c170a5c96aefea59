/* robust_pool.h - the engine's worker threads: a parallel-for whose hand-off costs about a
 * microsecond instead of the tens of microseconds a sleeping thread takes to wake.
 *
 * Why not Dispatch: DispatchQueue.concurrentPerform parks its workers between calls, and a
 * single-image forward pass makes about sixty parallel calls of 5-50 us each; waking a parked
 * thread on this VM cost more than the work it was given, so small layers ran on one core.
 * Here the workers spin for a short while (ROBUST_SPIN_US, default 200 us) after each job and
 * only then sleep on a condition variable, so back-to-back calls find them awake.
 *
 * Threading: one job at a time. rk_pool_run returns 0 without running anything when the pool
 * is busy (another thread's job, or a call from inside a job): the caller then runs the loop
 * its own way (RobustCore's parallelChunks falls back to Dispatch). Workers are created on
 * first use, detached, and live until the process exits: do not unload a library that
 * contains this code (dlclose) while its workers exist.
 */
#ifndef ROBUST_POOL_H
#define ROBUST_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/* The body of a job: called once for each index i in [0, n), each index exactly once, on the
 * calling thread or a worker, in no particular order. */
typedef void (*rk_pool_body)(void *context, long i);

/* Runs body(context, i) for every i in [0, n) on the calling thread and the pool's threads,
 * and returns 1 once every call has returned (their writes are then visible to the caller).
 * The pool is grown to `workers` threads as needed (at most 63); threads an earlier call
 * created take part too, so `workers` is a lower bound on the pool, not a cap on a job (cap
 * the parallelism by n). Returns 0, having called nothing, when the pool is busy (another
 * thread's job, or a call from inside a body) or no worker could be created; n must be below
 * 2^20. A forked child starts with an empty pool. */
int rk_pool_run(long n, int workers, rk_pool_body body, void *context);

/* How long (microseconds, 0 to 1,000,000) an idle worker spins before it sleeps; 0 sleeps at
 * once. Set from ROBUST_SPIN_US on first use; rk_pool_set_spin_us overrides it (clamped to
 * that range) and rk_pool_spin_us reads the value in force. */
void rk_pool_set_spin_us(long us);
long rk_pool_spin_us(void);

/* A limit on the threads the calling thread's parallel loops use, kept per thread (the pool
 * itself ignores it: RobustCore's Threads.count reads it); 0 (the default) or less: none. */
void rk_pool_set_thread_limit(int n);
int rk_pool_thread_limit(void);

/* The calling thread's number in the pool: 0 on any thread that is not one of its workers (the
 * thread that calls rk_pool_run), 1, 2, ... on the workers, fixed for the thread's life. For
 * work that should stay on the thread that touched the same data before. */
int rk_pool_thread_no(void);

/* A diagnostic trace of the pool's jobs (`audit-cli bench --timeline`): one event for each index
 * a thread ran (index >= 0, on thread 0 = a caller or 1... = a worker, from t0 to t1) and one for
 * each job (index -1: published at t0 by its caller, returned at t1). Times are CLOCK_MONOTONIC
 * nanoseconds, as rk_pool_now_ns gives. */
typedef struct {
    long job;       /* the job's sequence number; the events of one job share it */
    long index;     /* the index run, or -1 for the job itself */
    int thread;     /* 0: the calling thread; k > 0: the pool's k-th worker */
    int cpu;        /* the CPU the thread was on at t1 */
    long t0, t1;
} rk_pool_event;

/* Starts recording into events[0..<capacity] (the caller owns the buffer and keeps it alive until
 * the trace is stopped); NULL stops recording. Events past the capacity are dropped. Call it
 * between jobs, not while one runs. */
void rk_pool_trace(rk_pool_event *events, long capacity);
/* Events recorded since the trace started (at most its capacity). */
long rk_pool_trace_count(void);
long rk_pool_now_ns(void);

/* The value of *counter before adding 1, atomically: the workers of one job claim its slices
 * in turn (RobustCore's SliceClaims), so that a worker whose core runs slower takes fewer. */
static inline long rk_pool_claim(long *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

#ifdef __cplusplus
}
#endif

#endif
