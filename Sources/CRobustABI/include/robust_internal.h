/* Internal to librobust.so (not installed, not exported): helpers the Swift side calls. */
#ifndef ROBUST_INTERNAL_H
#define ROBUST_INTERNAL_H
/* Records message as this thread's robust_last_error() and returns status. */
int rbi_fail(int status, const char *message);
#endif
