/* hotpath/prof.h: profiles in pprof format, like Go's runtime/pprof.
 *
 * Every profile is written as a gzip-compressed profile.proto that
 * `go tool pprof` reads without the binary: function names, files and
 * lines (inlined frames too) travel inside it.
 *
 *   hp_cpuprofile_start(fd) ... hp_cpuprofile_stop()   CPU profile to fd
 *   hp_profile_write("heap", fd, 0)                    a named profile
 *
 * Named profiles: "heap", "allocs", "goroutine" (the threads of the
 * process), "threadcreate", "mutex", "block".  debug = 0 writes the binary
 * format; debug = 1 Go's legacy text form; for "goroutine", debug = 2 one
 * block per thread with its name and state.
 *
 * Environment (read at start-up; a bad value warns and keeps the default):
 *   HOTPATH_CPUPROFILE=path      profile the whole run, written at exit
 *   HOTPATH_CPUPROFILE_HZ=n      sampling rate (default 100)
 *   HOTPATH_MEMPROFILE=path      heap profile written at exit
 *   HOTPATH_MEMPROFILERATE=n     mean bytes between heap samples (524288;
 *                                1 = every allocation, 0 = off)
 * See docs/PROFILING.md.
 */
#ifndef HOTPATH_PROF_H
#define HOTPATH_PROF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start CPU profiling of every thread into fd (Go's StartCPUProfile).
 * Returns 0, or EBUSY when a CPU profile is already running. */
int hp_cpuprofile_start(int fd);

/* Stop CPU profiling and write the profile to the fd given to start.
 * Returns 0, or an errno value (ENOENT when none was running). */
int hp_cpuprofile_stop(void);

/* Sampling rate of the next CPU profile, in samples per CPU-second (Go's
 * SetCPUProfileRate).  CPU-time timers cannot fire faster than the kernel
 * tick (often 250 Hz); a higher rate is clamped with a warning. */
void hp_set_cpuprofile_rate(int hz);

/* Write the named profile to fd.  Returns 0, ENOENT for an unknown name,
 * EINVAL for a bad debug level, or an errno value from writing. */
int hp_profile_write(const char *name, int fd, int debug);

/* Records in the named profile right now (Go's Profile.Count), or -1 for
 * an unknown name. */
int64_t hp_profile_count(const char *name);

/* Heap sampling: mean bytes between sampled allocations (Go's
 * runtime.MemProfileRate; 1 = every allocation, 0 = off).  Returns the
 * previous rate. */
int64_t hp_set_memprofile_rate(int64_t rate);

/* Mutex profile: record 1 in `rate` contention events (0 = off, Go's
 * SetMutexProfileFraction).  A negative rate only reads.  Returns the
 * previous rate. */
int hp_set_mutex_profile_fraction(int rate);

/* Block profile: record blocking events of about one per `ns` nanoseconds
 * blocked (1 = every event, 0 = off; Go's SetBlockProfileRate). */
void hp_set_block_profile_rate(int64_t ns);

/* Profile labels (Go's pprof.Labels / pprof.Do): key=value pairs attached
 * to this thread's CPU samples, shown by `go tool pprof -tagfocus`.
 * A label set is immutable and lives as long as the process (sets are
 * interned: equal sets are one object). */
typedef struct hp_labels hp_labels_t;

/* A label set from key, value pairs ended by NULL:
 *   hp_labels("handler", "search", "tenant", "7", NULL).
 * NULL when out of memory or given an odd count. */
hp_labels_t *hp_labels(const char *key, const char *value, ...);

/* Run fn(arg) with this thread's labels set to its current labels plus
 * `labels` (a key already set takes the new value), then restore them. */
void hp_do(const hp_labels_t *labels, void (*fn)(void *arg), void *arg);

/* This thread's labels (NULL: none), and replace them. */
const hp_labels_t *hp_thread_labels(void);
void hp_set_thread_labels(const hp_labels_t *labels);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_PROF_H */
