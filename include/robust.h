/* robust.h - the C interface of librobust.so.
 *
 * robust trains and runs CIFAR-style image classifiers and tells its users when their
 * data cannot be trusted. This header is plain C99 and usable from C++.
 *
 * Conventions (kept by every function added later):
 *  - Strings returned by the library are owned by it unless a function says otherwise.
 *  - Functions are thread-safe unless stated.
 */
#ifndef ROBUST_H
#define ROBUST_H

#ifdef __cplusplus
extern "C" {
#endif

#define ROBUST_VERSION_MAJOR 0
#define ROBUST_VERSION_MINOR 1
#define ROBUST_VERSION_PATCH 0
#define ROBUST_VERSION "0.1.0"

/* The library's version, "MAJOR.MINOR.PATCH". Static storage owned by the library: do not free.
 * Thread-safe. Compare with ROBUST_VERSION to detect a header/library mismatch. */
const char *robust_version(void);

#ifdef __cplusplus
}
#endif
#endif /* ROBUST_H */
