# ntx as a guest, then as a static package: a parent project builds ntx with add_subdirectory (static,
# with its own flags, which configuring checks: tests/consumer/guest), runs its program, installs what
# it built, and the consumer project (tests/consumer) builds against that static package and runs.
# -DNTX_SOURCE_DIR= -DWORK_DIR= -DCONSUMER_DIR= [-DLAUNCHER=ccache]
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/consumer-build)
file(MAKE_DIRECTORY ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
set(launcher)
if(LAUNCHER)
  # Keyed by paths relative to the source tree (as the main build's launcher): a fresh clone reuses
  # what another tree compiled, instead of building ntx cold a second time.
  set(ENV{CCACHE_BASEDIR} ${NTX_SOURCE_DIR})
  set(ENV{CCACHE_NOHASHDIR} true)
  set(ENV{CCACHE_SLOPPINESS} pch_defines,time_macros,include_file_mtime,include_file_ctime)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER} -DCMAKE_C_COMPILER_LAUNCHER=${LAUNCHER})
endif()
step(${CMAKE_COMMAND} -S ${CONSUMER_DIR}/guest -B ${WORK_DIR}/guest-build -G Ninja -DNTX_SOURCE_DIR=${NTX_SOURCE_DIR}
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=-DPARENT_CXX_FLAG" ${launcher})
step(${CMAKE_COMMAND} --build ${WORK_DIR}/guest-build)
step(${WORK_DIR}/guest-build/parent_app)
step(${CMAKE_COMMAND} --install ${WORK_DIR}/guest-build --prefix ${WORK_DIR}/prefix)
if(NOT EXISTS ${WORK_DIR}/prefix/lib/libntx.a OR EXISTS ${WORK_DIR}/prefix/lib/libntx.so)
  message(FATAL_ERROR "the guest's install is not the static package")
endif()
step(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer-build -G Ninja -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${launcher})
step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
step(${WORK_DIR}/consumer-build/consumer_app - ${WORK_DIR}/consumer-build ${WORK_DIR})
message(STATUS "guest and static package: ok")
