/* dlib.h: a shared library loaded on first use, for libraries most
 * processes never need (libdw to symbolize, civetweb to serve HTTP).
 *
 * Linked, such a library and the ones it needs would be mapped into every
 * process that preloads hotpath.  dlopen(RTLD_LOCAL) brings it in when a
 * feature first needs it; its functions are found by name, all or none,
 * and called through a table the user types from the library's header
 * (see prof/dwlib.h). */
#ifndef HPI_PRIM_DLIB_H
#define HPI_PRIM_DLIB_H

#include "prim/prim.h"

typedef struct hpi_dlib {
    const char *soname;  /* "libdw.so.1" */
    const char *package; /* the Debian package that has it, for the warning */
    const char *without; /* what is lost without it, for the warning */
    hpi_lock_t lock;
    int state; /* lock: 0 not tried, 1 loaded, -1 failed */
} hpi_dlib_t;

#define HPI_DLIB_INIT(soname, package, without) {soname, package, without, HPI_LOCK_INIT, 0}

/* Load lib once (thread-safe) and fill table, a struct of n function
 * pointers in the order of names, with the library's functions (copied as
 * bytes).  0, or ENOENT when the library or one of the functions is
 * missing (said once on stderr; table is then left untouched). */
HPI_INTERNAL int hpi_dlib_load(hpi_dlib_t *lib, const char *const *names, void *table, int n);

#endif /* HPI_PRIM_DLIB_H */
