/* stats_fields.h: the one list of MemStats fields that /debug/vars (Go's
 * names) and /metrics (Prometheus names) both print.  See stats_fields.c. */
#ifndef HPI_HTTP_STATS_FIELDS_H
#define HPI_HTTP_STATS_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "hotpath/memstats.h"
#include "prim/prim.h"

typedef struct hpi_stat_field {
    const char *name; /* in /debug/vars: Go's runtime.MemStats name ("HeapAlloc") */
    int in_go;        /* 0: Go has no such field; /debug/vars puts it under "hotpath" */
    const char *prom; /* after "hotpath_memstats_": "heap_alloc_bytes" */
    int counter;      /* 1: only grows (a Prometheus counter, "_total") */
    const char *help;
    size_t off; /* offsetof(hp_memstats_t, field), a uint64_t */
} hpi_stat_field_t;

extern HPI_INTERNAL const hpi_stat_field_t hpi_stat_fields[];
extern HPI_INTERNAL const int hpi_stat_nfields;

static inline uint64_t hpi_stat_value(const hp_memstats_t *st, const hpi_stat_field_t *f)
{
    return *(const uint64_t *)((const char *)st + f->off);
}

#endif /* HPI_HTTP_STATS_FIELDS_H */
