/* civet.c: civetweb, loaded on first use.  See civet.h. */
#include "http/civet.h"

#include "prim/dlib.h"

hpi_mg_t hpi_mg;

#define HPI_MG_NAME(name) #name,
static const char *const names[] = {HPI_MG_FUNCS(HPI_MG_NAME)};
#undef HPI_MG_NAME

static hpi_dlib_t lib =
    HPI_DLIB_INIT("libcivetweb.so.1", "libcivetweb1", "the debug HTTP server cannot start");

int hpi_mg_load(void)
{
    _Static_assert(sizeof hpi_mg == sizeof names / sizeof names[0] * sizeof(void *),
                   "hpi_mg and names differ");
    return hpi_dlib_load(&lib, names, &hpi_mg, (int)(sizeof names / sizeof names[0]));
}
