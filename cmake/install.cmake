# cmake/install.cmake: what `make install` (cmake --install) puts where.
#
#   <libdir>/libhotpath.so.0.1.0, .so.0, .so   the shared library (target hotpath)
#   <libdir>/libhotpath.a                     the static library (target hotpath_static)
#   <libdir>/libhotpath_bench.a               the benchmark harness's main (hotpath_bench)
#   <includedir>/hotpath/*.h                  public headers
#   <bindir>/hotpath                          the CLI (target hotpath_cli, tools/)
#   <libdir>/pkgconfig/hotpath.pc             for pkg-config
#   <libdir>/cmake/hotpath/                   for find_package(hotpath): targets
#                                             hotpath::hotpath, hotpath::hotpath_static
#
# Everything installed is relocatable: the pkg-config file finds its prefix from
# its own directory and the CMake files from theirs, so
# `cmake --install build --prefix DIR` works whatever prefix was configured.
# Included from the top-level CMakeLists.txt after tools/ and examples/.

include(CMakePackageConfigHelpers)

set(HP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hotpath)

install(TARGETS hotpath hotpath_static hotpath_bench
  EXPORT hotpathTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hotpath
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

if(TARGET hotpath_cli)
  install(TARGETS hotpath_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# pkg-config: prefix is computed from ${pcfiledir}, the directory of the .pc file.
file(RELATIVE_PATH HP_PC_TO_PREFIX
     ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HP_PC_TO_PREFIX "${HP_PC_TO_PREFIX}")
file(RELATIVE_PATH HP_PC_LIBDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH HP_PC_INCLUDEDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_INCLUDEDIR})
configure_file(${CMAKE_CURRENT_LIST_DIR}/hotpath.pc.in
               ${PROJECT_BINARY_DIR}/hotpath.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hotpath.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package: hotpathConfig.cmake, its version file, and the exported targets.
install(EXPORT hotpathTargets
  NAMESPACE hotpath::
  DESTINATION ${HP_CMAKE_DIR}
  FILE hotpathTargets.cmake)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/hotpathConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hotpathConfig.cmake
  INSTALL_DESTINATION ${HP_CMAKE_DIR})
# 0.x: a minor release may break compatibility, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hotpathConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hotpathConfig.cmake
              ${PROJECT_BINARY_DIR}/hotpathConfigVersion.cmake
        DESTINATION ${HP_CMAKE_DIR})
