/* pblib.c: zlib and libprotobuf-c, loaded on first use.  See pblib.h. */
#include "prof/pblib.h"

#include <protobuf-c/protobuf-c.h>

#include "prim/dlib.h"

hpi_z_t hpi_z;

#define HPI_PBC_FUNCS(X)                                                                           \
    X(protobuf_c_message_get_packed_size)                                                          \
    X(protobuf_c_message_pack)                                                                     \
    X(protobuf_c_message_pack_to_buffer)                                                           \
    X(protobuf_c_message_unpack)                                                                   \
    X(protobuf_c_message_free_unpacked)

#define HPI_MEMBER(name) __typeof__(name) *name;
/* Set once by hpi_pblib_load, read-only afterwards. */
static struct {
    HPI_PBC_FUNCS(HPI_MEMBER)
} pbc;
#undef HPI_MEMBER

#define HPI_NAME(name) #name,
static const char *const z_names[] = {HPI_Z_FUNCS(HPI_NAME)};
static const char *const pbc_names[] = {HPI_PBC_FUNCS(HPI_NAME)};
#undef HPI_NAME

static hpi_dlib_t zlib = HPI_DLIB_INIT("libz.so.1", "zlib1g", "profiles cannot be written");
static hpi_dlib_t pbclib =
    HPI_DLIB_INIT("libprotobuf-c.so.1", "libprotobuf-c1", "profiles cannot be written");

int hpi_pblib_load(void)
{
    /* Both tables are structs of function pointers only, in the order of
     * their names. */
    _Static_assert(sizeof hpi_z == sizeof z_names / sizeof z_names[0] * sizeof(void *),
                   "hpi_z and z_names differ");
    _Static_assert(sizeof pbc == sizeof pbc_names / sizeof pbc_names[0] * sizeof(void *),
                   "pbc and pbc_names differ");
    int err = hpi_dlib_load(&zlib, z_names, &hpi_z, (int)(sizeof z_names / sizeof z_names[0]));
    if (err == 0)
        err =
            hpi_dlib_load(&pbclib, pbc_names, &pbc, (int)(sizeof pbc_names / sizeof pbc_names[0]));
    return err;
}

/* ---- The forwarders profile.pb-c.c calls (pbc_names.h) ----
 * Only reached after hpi_pblib_load succeeded (every writer and reader
 * loads first); before that they do nothing rather than crash. */

const char hpi_pbc_empty_string[] = "";

size_t hpi_pbc_message_get_packed_size(const ProtobufCMessage *m)
{
    return pbc.protobuf_c_message_get_packed_size ? pbc.protobuf_c_message_get_packed_size(m) : 0;
}

size_t hpi_pbc_message_pack(const ProtobufCMessage *m, uint8_t *out)
{
    return pbc.protobuf_c_message_pack ? pbc.protobuf_c_message_pack(m, out) : 0;
}

size_t hpi_pbc_message_pack_to_buffer(const ProtobufCMessage *m, ProtobufCBuffer *buf)
{
    return pbc.protobuf_c_message_pack_to_buffer ? pbc.protobuf_c_message_pack_to_buffer(m, buf)
                                                 : 0;
}

ProtobufCMessage *hpi_pbc_message_unpack(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *a,
                                         size_t len, const uint8_t *data)
{
    return pbc.protobuf_c_message_unpack ? pbc.protobuf_c_message_unpack(d, a, len, data) : NULL;
}

void hpi_pbc_message_free_unpacked(ProtobufCMessage *m, ProtobufCAllocator *a)
{
    if (pbc.protobuf_c_message_free_unpacked) pbc.protobuf_c_message_free_unpacked(m, a);
}
