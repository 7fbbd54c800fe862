/* pbc_names.h: included before everything else in the generated
 * profile.pb-c.c (CMakeLists.txt), so that its calls into libprotobuf-c go
 * to the forwarders of pblib.c, which reach the library loaded on first
 * use.  Nothing else includes it. */
#ifndef HPI_PROF_PBC_NAMES_H
#define HPI_PROF_PBC_NAMES_H

#define protobuf_c_message_get_packed_size hpi_pbc_message_get_packed_size
#define protobuf_c_message_pack hpi_pbc_message_pack
#define protobuf_c_message_pack_to_buffer hpi_pbc_message_pack_to_buffer
#define protobuf_c_message_unpack hpi_pbc_message_unpack
#define protobuf_c_message_free_unpacked hpi_pbc_message_free_unpacked
#define protobuf_c_empty_string hpi_pbc_empty_string

#endif /* HPI_PROF_PBC_NAMES_H */
