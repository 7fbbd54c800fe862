/* profiles.c: the named profiles (Go's pprof.Lookup) and the settings that
 * are not one profiler's own: hp_profile_write, hp_profile_count,
 * hp_set_memprofile_rate, and HOTPATH_MEMPROFILE written at exit.
 * See prof.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc/internal.h"
#include "hotpath/prof.h"
#include "prof/lockprof.h"
#include "prof/memprof.h"
#include "prof/threads.h"

typedef struct named {
    const char *name;
    int max_debug;
    int (*write)(int fd, int debug);
    int64_t (*count)(void);
} named_t;

static int write_heap(int fd, int debug)
{
    return hpi_memprof_write(fd, debug, 0);
}
static int write_allocs(int fd, int debug)
{
    return hpi_memprof_write(fd, debug, 1);
}
static int write_mutex(int fd, int debug)
{
    return hpi_lockprof_write(HPI_LOCKPROF_MUTEX, fd, debug);
}
static int write_block(int fd, int debug)
{
    return hpi_lockprof_write(HPI_LOCKPROF_BLOCK, fd, debug);
}
static int64_t count_mutex(void)
{
    return hpi_lockprof_count(HPI_LOCKPROF_MUTEX);
}
static int64_t count_block(void)
{
    return hpi_lockprof_count(HPI_LOCKPROF_BLOCK);
}

/* Go's order (pprof's index page lists them so). */
static const named_t profiles[] = {
    {"allocs", 1, write_allocs, hpi_memprof_count},
    {"block", 1, write_block, count_block},
    {"goroutine", 2, hpi_threads_write_goroutine, hpi_threads_count},
    {"heap", 1, write_heap, hpi_memprof_count},
    {"mutex", 1, write_mutex, count_mutex},
    {"threadcreate", 1, hpi_threads_write_threadcreate, hpi_threads_count},
};

static const named_t *lookup(const char *name)
{
    if (name == NULL) return NULL;
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (strcmp(profiles[i].name, name) == 0) return &profiles[i];
    return NULL;
}

HP_API int hp_profile_write(const char *name, int fd, int debug)
{
    const named_t *p = lookup(name);
    if (p == NULL) return ENOENT;
    if (debug < 0) return EINVAL;
    /* Go treats any debug above the highest level as the highest. */
    return p->write(fd, debug > p->max_debug ? p->max_debug : debug);
}

HP_API int64_t hp_profile_count(const char *name)
{
    const named_t *p = lookup(name);
    return p != NULL ? p->count() : -1;
}

HP_API int64_t hp_set_memprofile_rate(int64_t rate)
{
    if (rate < 0) return hpi_options.memprofile_rate;
    hpi_options_init();
    int64_t old = hpi_options.memprofile_rate;
    hpi_options.memprofile_rate = rate;
    /* This thread draws its next distance at once; others at their next
     * sample, as in Go. */
    hpi_mcache_t *mc = hpi_mcache_get();
    if (mc != &hpi_mcache_none) hpi_sample_reset(mc);
    return old;
}

/* HOTPATH_MEMPROFILE: the heap profile of the whole run, at exit, or when
 * SIGTERM ends the process (cpuprof.c catches it).  A forked child inherits
 * the atexit handler and writes <path>.<pid>, so that it never overwrites
 * its parent's profile. */
static pid_t memprofile_pid; /* the process that read the option */
static _Atomic int memprofile_written; /* once per process: at exit or on SIGTERM */

void hpi_memprofile_at_exit(void)
{
    char buf[4096];
    const char *path = hpi_options.memprofile;
    if (path == NULL) return;
    if (getpid() == memprofile_pid && atomic_exchange(&memprofile_written, 1)) return;
    if (getpid() != memprofile_pid) {
        snprintf(buf, sizeof buf, "%s.%d", path, (int)getpid());
        path = buf;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        hpi_printf_err("HOTPATH_MEMPROFILE: cannot create %s: %s", path, strerror(errno));
        return;
    }
    int err = hpi_memprof_write(fd, 0, 0);
    if (close(fd) != 0 && err == 0) err = errno;
    if (err != 0) hpi_printf_err("HOTPATH_MEMPROFILE: writing %s: %s", path, strerror(err));
}

HPI_CORE __attribute__((constructor(103))) static void profiles_init(void)
{
    hpi_options_init();
    if (hpi_options.memprofile == NULL) return;
    memprofile_pid = getpid();
    atexit(hpi_memprofile_at_exit);
}
