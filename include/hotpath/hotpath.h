/* hotpath/hotpath.h: the umbrella header.  Go's performance runtime for C. */
#ifndef HOTPATH_HOTPATH_H
#define HOTPATH_HOTPATH_H

#define HP_VERSION_MAJOR 0
#define HP_VERSION_MINOR 1
#define HP_VERSION_PATCH 0
#define HP_VERSION_STRING "0.1.0"

#include "hotpath/alloc.h"
#include "hotpath/memstats.h"
#include "hotpath/http.h"
#include "hotpath/prof.h"
#include "hotpath/pool.h"
#include "hotpath/gc.h"

#endif /* HOTPATH_HOTPATH_H */
