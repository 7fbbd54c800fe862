# cmake/test/install_consumer.cmake: the install_consumer test (cmake -P).
#
# 1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix
# 2. pkg-config: compile consumer.c with `pkg-config --cflags --libs hotpath`
#    (and --static against libhotpath.a) and run it;
# 3. CMake: configure consumer/ with find_package(hotpath), build, run both
#    the hotpath::hotpath and the hotpath::hotpath_static consumer.
# Each consumer checks that malloc really went through hotpath.
#
# Variables: BUILD_DIR WORK_DIR CONSUMER_DIR C_COMPILER PKG_CONFIG GENERATOR.

foreach(v BUILD_DIR WORK_DIR CONSUMER_DIR C_COMPILER GENERATOR)
  if(NOT ${v})
    message(FATAL_ERROR "install_consumer: ${v} not set")
  endif()
endforeach()
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "install_consumer: pkg-config not found (scripts/deps.sh build installs it)")
endif()

# Run a command; fail the test with its output if it fails.  Returns its stdout in OUT.
function(hp_run)
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REPLACE ";" " " cmd "${ARGN}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  message(STATUS "ok: ${cmd}")
  if(NOT out STREQUAL "")
    message(STATUS "${out}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# 1. Install.
hp_run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
file(GLOB_RECURSE pcfile ${prefix}/*/hotpath.pc)
if(NOT pcfile)
  message(FATAL_ERROR "install_consumer: no hotpath.pc under ${prefix}")
endif()
get_filename_component(pcdir ${pcfile} DIRECTORY)
get_filename_component(libdir ${pcdir} DIRECTORY)
foreach(f ${libdir}/libhotpath.a ${libdir}/libhotpath_bench.a include/hotpath/bench.h
          include/hotpath/hotpath.h include/hotpath/alloc.h
          include/hotpath/memstats.h bin/hotpath)
  if(NOT IS_ABSOLUTE ${f})
    set(f ${prefix}/${f})
  endif()
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "install_consumer: not installed: ${f}")
  endif()
endforeach()

# The installed CLI must find the installed library, not the build tree's.
hp_run(${prefix}/bin/hotpath version)
if(NOT OUT MATCHES "library: ${libdir}/libhotpath")
  message(FATAL_ERROR "install_consumer: installed hotpath does not find ${libdir}: ${OUT}")
endif()

# 2. pkg-config, isolated from the system's .pc files.
set(pcenv ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${pcdir} PKG_CONFIG_PATH=)
hp_run(${pcenv} ${PKG_CONFIG} --modversion hotpath)
hp_run(${pcenv} ${PKG_CONFIG} --cflags hotpath)
separate_arguments(cflags UNIX_COMMAND "${OUT}")
hp_run(${pcenv} ${PKG_CONFIG} --libs hotpath)
separate_arguments(libs UNIX_COMMAND "${OUT}")
hp_run(${pcenv} ${PKG_CONFIG} --static --libs hotpath)
separate_arguments(static_libs UNIX_COMMAND "${OUT}")
set(src ${CONSUMER_DIR}/consumer.c)
hp_run(${C_COMPILER} -o ${WORK_DIR}/consumer_pc ${cflags} ${src} ${libs})
hp_run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${WORK_DIR}/consumer_pc)
# libhotpath.a itself, statically; the libraries it needs (libdw, zlib...)
# as the system has them.
list(TRANSFORM static_libs REPLACE "^-lhotpath$" "-Wl,-Bstatic;-lhotpath;-Wl,-Bdynamic")
hp_run(${C_COMPILER} -static-libgcc -o ${WORK_DIR}/consumer_pc_static ${cflags} ${src}
       ${static_libs})
hp_run(${WORK_DIR}/consumer_pc_static)
# A benchmark program: -lhotpath_bench before the library.
hp_run(${C_COMPILER} -o ${WORK_DIR}/bench_pc ${cflags} ${CONSUMER_DIR}/bench_consumer.c
       -lhotpath_bench ${libs} -lm)
hp_run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${WORK_DIR}/bench_pc -benchtime 10x)
if(NOT OUT MATCHES "BenchmarkInstalledMalloc(-[0-9]+)?[ \t]+10[ \t].* 64 B/op[ \t]+1 allocs/op")
  message(FATAL_ERROR "install_consumer: the benchmark printed: ${OUT}")
endif()

# 3. find_package(hotpath).
set(cbuild ${WORK_DIR}/consumer-build)
hp_run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${cbuild} -G ${GENERATOR}
       -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix}
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
hp_run(${CMAKE_COMMAND} --build ${cbuild})
hp_run(${cbuild}/consumer_shared)
hp_run(${cbuild}/consumer_static)
hp_run(${cbuild}/consumer_bench -benchtime 10x)
message(STATUS "install_consumer: pkg-config and find_package consumers run on hotpath")
