/* cpuprof.h: the CPU profiler.  See prof.h and cpuprof.c.
 * The public calls are in hotpath/prof.h (hp_cpuprofile_start/stop,
 * hp_set_cpuprofile_rate); these are for the rest of the library. */
#ifndef HPI_PROF_CPUPROF_H
#define HPI_PROF_CPUPROF_H

#include "prim/prim.h"

/* At library start-up, after options are read: start profiling the whole
 * run when HOTPATH_CPUPROFILE is set (written at exit, on SIGTERM, and by
 * each forked child into <path>.<pid>). */
HPI_INTERNAL void hpi_cpuprof_init(void);

#endif /* HPI_PROF_CPUPROF_H */
