/* The smallest client of librobust.so: check that the library loads and that its version
 * matches the header it was compiled against. */
#include <stdio.h>
#include <string.h>
#include "robust.h"

int main(void) {
    const char *v = robust_version();
    printf("librobust %s (header %s)\n", v, ROBUST_VERSION);
    return strcmp(v, ROBUST_VERSION) == 0 ? 0 : 1;
}
