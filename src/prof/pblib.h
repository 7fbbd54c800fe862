/* pblib.h: zlib and libprotobuf-c, loaded when the first profile is
 * written or read.  See pprof.c (writing) and http/delta.c (reading).
 *
 * Like libdw (dwlib.h), neither is linked: linked, they would be mapped
 * into every process that preloads hotpath, and every symbol the program
 * looks up would also be searched in their tables, about 130 KiB of
 * resident memory in a program that never writes a profile (measured in
 * docs/PERFORMANCE.md).  dlopen(RTLD_LOCAL) brings them in on first use.
 *
 * Our code calls zlib through hpi_z.  The code protoc-c generates
 * (profile.pb-c.c) calls libprotobuf-c by its own names; it is compiled
 * with pbc_names.h included first, which renames those to the forwarders
 * defined in pblib.c. */
#ifndef HPI_PROF_PBLIB_H
#define HPI_PROF_PBLIB_H

#include <zlib.h>

#include "prim/prim.h"

#define HPI_Z_FUNCS(X)                                                                             \
    X(deflateInit2_)                                                                               \
    X(deflate)                                                                                     \
    X(deflateEnd)                                                                                  \
    X(inflateInit2_)                                                                               \
    X(inflate)                                                                                     \
    X(inflateEnd)

#define HPI_Z_MEMBER(name) __typeof__(name) *name;
/* Set once by hpi_pblib_load, read-only afterwards. */
typedef struct hpi_z {
    HPI_Z_FUNCS(HPI_Z_MEMBER)
} hpi_z_t;
#undef HPI_Z_MEMBER

extern HPI_INTERNAL hpi_z_t hpi_z;

/* Load libz.so.1 and libprotobuf-c.so.1 once (thread-safe; may allocate, so
 * never call it holding a lock that malloc can take).  0, or ENOENT when
 * either (Debian's zlib1g, libprotobuf-c1) is missing or lacks a function,
 * said once on stderr: then no profile can be written or read. */
HPI_INTERNAL int hpi_pblib_load(void);

#endif /* HPI_PROF_PBLIB_H */
