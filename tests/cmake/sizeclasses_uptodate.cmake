# Runs the size-class generator and compares its output with the committed
# table: the table must be exactly what tools/mksizeclasses.c generates.
#   cmake -DGEN=path/to/mksizeclasses -DCOMMITTED=src/alloc/sizeclasses.h
#         -DOUT=build/.../sizeclasses.generated.h -P sizeclasses_uptodate.cmake
foreach(v GEN COMMITTED OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "sizeclasses_uptodate: -D${v}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${GEN} OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sizeclasses_uptodate: ${GEN} failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${COMMITTED} ${OUT} RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  find_program(DIFF diff)
  if(DIFF)
    execute_process(COMMAND ${DIFF} -u ${COMMITTED} ${OUT})
  endif()
  message(FATAL_ERROR "sizeclasses_uptodate: ${COMMITTED} is stale; regenerate it with\n"
                      "  ${GEN} > ${COMMITTED}")
endif()
message(STATUS "sizeclasses_uptodate: ${COMMITTED} matches the generator")
