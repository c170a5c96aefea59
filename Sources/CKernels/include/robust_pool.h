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

#ifdef __cplusplus
}
#endif

#endif
