/* options_probe: prints what the allocator's options did, for
 * integration/options_test.sh.  Frees an 8 MiB block it has touched, waits a
 * little, and prints the bytes the heap has returned to the OS:
 * "released <bytes>".  With HOTPATH_SCAVENGE_DELAY_MS=0 they go back at once;
 * with the default delay (5 s) nothing has gone back yet.  Then the heap
 * sampling rate in effect: "memprofilerate <n>", and the mutex profile
 * fraction: "mutexfraction <n>".
 *
 * Usage: options_probe
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath/hotpath.h"

int main(void)
{
    size_t n = 8u << 20;
    char *p = malloc(n);
    if (p == NULL) return 1;
    memset(p, 1, n);
    free(p);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    hp_memstats_t st;
    hp_read_memstats(&st);
    printf("released %llu\n", (unsigned long long)st.heap_released);
    printf("memprofilerate %lld\n", (long long)hp_set_memprofile_rate(-1));
    printf("mutexfraction %d\n", hp_set_mutex_profile_fraction(-1));
    return 0;
}
