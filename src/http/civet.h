/* civet.h: civetweb, the embedded HTTP server, loaded when the debug server
 * starts (prim/dlib.h): a process that never serves does not map it.  Its
 * functions are called through this table, typed from civetweb's header. */
#ifndef HPI_HTTP_CIVET_H
#define HPI_HTTP_CIVET_H

#include <civetweb.h>

#include "prim/prim.h"

#define HPI_MG_FUNCS(X)                                                                            \
    X(mg_init_library)                                                                             \
    X(mg_check_feature)                                                                            \
    X(mg_start)                                                                                    \
    X(mg_stop)                                                                                     \
    X(mg_set_request_handler)                                                                      \
    X(mg_get_request_info)                                                                         \
    X(mg_get_server_ports)                                                                         \
    X(mg_get_header)                                                                               \
    X(mg_get_var)                                                                                  \
    X(mg_read)                                                                                     \
    X(mg_write)                                                                                    \
    X(mg_printf)

#define HPI_MG_MEMBER(name) __typeof__(name) *name;
/* Set once by hpi_mg_load, read-only afterwards. */
typedef struct hpi_mg {
    HPI_MG_FUNCS(HPI_MG_MEMBER)
} hpi_mg_t;
#undef HPI_MG_MEMBER

extern HPI_INTERNAL hpi_mg_t hpi_mg;

/* Load libcivetweb.so.1 once (thread-safe).  0, or ENOENT when it (Debian's
 * libcivetweb1) is missing. */
HPI_INTERNAL int hpi_mg_load(void);

#endif /* HPI_HTTP_CIVET_H */
