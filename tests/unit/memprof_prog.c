/* memprof_prog: known allocations at two call sites, for memprof_test.sh.
 *
 *   memprof_prog RATE OUT.pb [OUT.txt [wait]]
 *
 * Sets the heap sampling rate, then:
 *   site_small: 200000 objects of 100 bytes, all kept;
 *   site_mid:   50000 objects of 1000 bytes, the even-numbered half freed;
 *   site_inlined: 1000 objects of 64 bytes from alloc_inline(), a function
 *               always inlined into it (the profile must keep both frames).
 * Writes the heap profile (pprof) to OUT.pb, and the debug=1 text to
 * OUT.txt if given, and prints the true figures, which the script compares
 * with what `go tool pprof` reads (with "wait", it then prints "ready" and
 * waits to be killed, for the SIGTERM test):
 *   truth site_small alloc_objects alloc_space inuse_objects inuse_space
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpath/prof.h"

#define N_SMALL 200000
#define N_MID 50000

static void *keep_small[N_SMALL];
static void *keep_mid[N_MID];
#define N_INLINE 1000
static void *keep_inline[N_INLINE];

static inline __attribute__((always_inline)) void *alloc_inline(void)
{
    return malloc(64);
}

__attribute__((noinline)) static void site_inlined(void)
{
    for (int i = 0; i < N_INLINE; i++)
        keep_inline[i] = alloc_inline();
}

__attribute__((noinline)) static void site_small(void)
{
    for (int i = 0; i < N_SMALL; i++)
        keep_small[i] = malloc(100);
}

__attribute__((noinline)) static void site_mid(void)
{
    for (int i = 0; i < N_MID; i++)
        keep_mid[i] = malloc(1000);
}

static int write_profile(const char *path, int debug)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(path), 1;
    int err = hp_profile_write("heap", fd, debug);
    close(fd);
    if (err != 0) return fprintf(stderr, "hp_profile_write: error %d\n", err), 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) return fprintf(stderr, "usage: memprof_prog RATE OUT.pb [OUT.txt]\n"), 2;
    hp_set_memprofile_rate(atoll(argv[1]));
    site_small();
    site_mid();
    site_inlined();
    for (int i = 0; i < N_MID; i += 2)
        free(keep_mid[i]);
    if (write_profile(argv[2], 0) != 0) return 1;
    if (argc > 3 && write_profile(argv[3], 1) != 0) return 1;
    printf("truth site_small %d %d %d %d\n", N_SMALL, N_SMALL * 100, N_SMALL, N_SMALL * 100);
    printf("truth site_mid %d %d %d %d\n", N_MID, N_MID * 1000, N_MID / 2, N_MID / 2 * 1000);
    printf("inline alloc_inline site_inlined %d %d\n", N_INLINE, N_INLINE * 64);
    if (argc > 4 && strcmp(argv[4], "wait") == 0) {
        printf("ready\n");
        fflush(stdout);
        for (;;) pause();
    }
    /* Keep the objects reachable to the end. */
    return keep_small[N_SMALL - 1] == NULL || keep_mid[1] == NULL;
}
