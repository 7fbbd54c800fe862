/* pprof.h: building and writing a profile in pprof's format (profile.proto,
 * gzip-compressed), with protobuf-c and zlib.  See prof.h for the profiling
 * design and ../shared/spec/pprof-profile-format.md for the format.
 *
 * A profile is built in memory from samples (stacks of raw PCs with values
 * and labels), then written once: the writer symbolizes every distinct
 * address (hpi_symtab), makes one Location per address with one Line per
 * frame (inlined frames kept), one Function per (name, file, start line),
 * the mappings of the process with build IDs and truthful has_* flags,
 * interns strings, encodes and gzips.  Names, files and lines travel inside the profile, so
 * `go tool pprof` needs neither the binary nor its debug info.
 *
 * Not for signal handlers: it allocates (with hpi_prof_internal set, so its
 * allocations are not sampled into heap profiles).
 */
#ifndef HPI_PROF_PPROF_H
#define HPI_PROF_PPROF_H

#include <stdbool.h>
#include <stdint.h>

#include "prim/prim.h"

typedef struct hpi_pprof hpi_pprof_t;

/* A sample type or the period type: e.g. {"cpu", "nanoseconds"}. */
typedef struct hpi_pprof_vtype {
    const char *type, *unit;
} hpi_pprof_vtype_t;

/* A label: string value when str != NULL, else numeric num with unit
 * (unit may be NULL). */
typedef struct hpi_pprof_label {
    const char *key;
    const char *str;
    int64_t num;
    const char *unit;
} hpi_pprof_label_t;

/* A new, empty profile with ntypes sample types; default_type names the
 * type tools show first (NULL: the last).  Strings are copied.  NULL when
 * out of memory. */
HPI_INTERNAL hpi_pprof_t *hpi_pprof_new(const hpi_pprof_vtype_t *types, int ntypes,
                                        const char *default_type);
HPI_INTERNAL void hpi_pprof_free(hpi_pprof_t *p);

HPI_INTERNAL void hpi_pprof_set_period(hpi_pprof_t *p, hpi_pprof_vtype_t type, int64_t period);
/* Start of collection (ns since the Unix epoch) and its length (0: unset). */
HPI_INTERNAL void hpi_pprof_set_time(hpi_pprof_t *p, int64_t time_nanos, int64_t duration_nanos);
HPI_INTERNAL void hpi_pprof_add_comment(hpi_pprof_t *p, const char *text);
/* A regexp of frames to cut from the leaf end of every sample (Profile
 * drop_frames), for frames the capture could not skip itself. */
HPI_INTERNAL void hpi_pprof_set_drop_frames(hpi_pprof_t *p, const char *regexp);

/* Add a sample: pcs leaf first (as captured, see stack.h); exact_leaf says
 * pcs[0] is an exact PC (an interrupted instruction) rather than a return
 * address; every return address is written as address - 1.  values has
 * ntypes entries.  Samples with equal stacks and labels are merged by
 * summing values.  Returns 0 or ENOMEM. */
HPI_INTERNAL int hpi_pprof_add(hpi_pprof_t *p, const uintptr_t *pcs, int npcs, bool exact_leaf,
                               const int64_t *values, const hpi_pprof_label_t *labels, int nlabels);

/* Add a sample whose one frame is a named pseudo-function with no address
 * (like Go's runtime/pprof.lostProfileEvent, or a thread whose stack could
 * not be read).  Returns 0 or ENOMEM. */
HPI_INTERNAL int hpi_pprof_add_synthetic(hpi_pprof_t *p, const char *func, const int64_t *values,
                                         const hpi_pprof_label_t *labels, int nlabels);

/* Symbolize, encode, gzip and write the whole profile to fd.  Returns 0 or
 * an errno value (the fd may then hold part of a profile). */
HPI_INTERNAL int hpi_pprof_write(hpi_pprof_t *p, int fd);

/* Pack, gzip and write an already built profile message (a
 * Perftools__Profiles__Profile, e.g. one unpacked and changed).  Returns 0
 * or an errno value. */
HPI_INTERNAL int hpi_pprof_emit(const void *msg, int fd);

#endif /* HPI_PROF_PPROF_H */
