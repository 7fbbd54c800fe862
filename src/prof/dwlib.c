/* dwlib.c: elfutils libdw, loaded on first use.  See dwlib.h. */
#include "prof/dwlib.h"

#include "prim/dlib.h"

hpi_dw_t hpi_dw;

#define HPI_DW_NAME(name) #name,
static const char *const names[] = {HPI_DW_FUNCS(HPI_DW_NAME)};
#undef HPI_DW_NAME

static hpi_dlib_t lib = HPI_DLIB_INIT("libdw.so.1", "libdw1",
                                      "profiles will show addresses, not function names");

int hpi_dw_load(void)
{
    /* hpi_dw is a struct of function pointers only, in the order of names. */
    _Static_assert(sizeof hpi_dw == sizeof names / sizeof names[0] * sizeof(void *),
                   "hpi_dw and names differ");
    return hpi_dlib_load(&lib, names, &hpi_dw, (int)(sizeof names / sizeof names[0]));
}
