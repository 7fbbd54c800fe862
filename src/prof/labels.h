/* labels.h: reading profile label sets (hotpath/prof.h's hp_labels_t) from
 * the rest of the library.  See labels.c.
 *
 * A label set is immutable once made and never freed, so these readers take
 * no lock and may run in a signal handler: keys and values are sorted by
 * key, each key once. */
#ifndef HPI_PROF_LABELS_H
#define HPI_PROF_LABELS_H

#include "hotpath/prof.h"
#include "prim/prim.h"
#include "prof/pprof.h"

/* The set's pairs: *keys and *values get arrays of the count returned
 * (0 for NULL or the empty set, and then NULL arrays).  Signal-safe. */
HPI_INTERNAL int hpi_labels_get(const hp_labels_t *l, const char *const **keys,
                                const char *const **values);

/* The set as string labels for hpi_pprof_add: fills at most max entries of
 * out and returns how many.  Signal-safe (it only copies pointers). */
HPI_INTERNAL int hpi_labels_to_pprof(const hp_labels_t *l, hpi_pprof_label_t *out, int max);

#endif /* HPI_PROF_LABELS_H */
