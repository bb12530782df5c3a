# Installs the build tree into a fresh prefix, builds the consumer project and the echo template plugin
# against it, and runs them.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
# The installed ntx binary runs from the prefix alone (RPATH), and finds the installed plugins.
step(${WORK_DIR}/prefix/bin/ntx validate ${EXAMPLE_DIR})
step(${WORK_DIR}/build/consumer_app ${EXAMPLE_DIR} ${WORK_DIR}/build ${WORK_DIR})
# The template plugin, as installed (share/ntx/examples/echo-plugin), builds out of tree against the same
# prefix; then the installed ntx runs it against a real echo server on 127.0.0.1 and the installed kit
# checks it.
set(ECHO_DIR ${WORK_DIR}/prefix/share/ntx/examples/echo-plugin)
step(${CMAKE_COMMAND} -S ${ECHO_DIR} -B ${WORK_DIR}/echo-build -G Ninja -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
step(${CMAKE_COMMAND} --build ${WORK_DIR}/echo-build)
# Its unit test, built against the installed test host (ntx::plugin_test_host) alone.
get_filename_component(CMAKE_BIN_DIR ${CMAKE_COMMAND} DIRECTORY)
step(${CMAKE_BIN_DIR}/ctest --test-dir ${WORK_DIR}/echo-build --output-on-failure)
step(${PYTHON} ${CMAKE_CURRENT_LIST_DIR}/run_echo_example.py ${WORK_DIR}/prefix ${WORK_DIR}/echo-build ${ECHO_DIR}/res_dir ${WORK_DIR})
# The C++ API's examples, as installed (share/ntx/examples/cpp), build out of tree against the same
# prefix (find_package(ntx), no build-tree paths) and run against the installed target server.
set(CPP_DIR ${WORK_DIR}/prefix/share/ntx/examples/cpp)
step(${CMAKE_COMMAND} -S ${CPP_DIR} -B ${WORK_DIR}/cpp-build -G Ninja -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
step(${CMAKE_COMMAND} --build ${WORK_DIR}/cpp-build)
set(RUN ${PYTHON} ${CPP_DIR}/run_with_target.py ${WORK_DIR}/prefix/bin/ntx-target)
step(${RUN} --res-dir ${CPP_DIR}/smoke-res -- ${WORK_DIR}/cpp-build/ntx_example_run_res_dir @RES_DIR@)
step(${RUN} -- ${WORK_DIR}/cpp-build/ntx_example_tri_phase @TARGET@ 20)
step(${RUN} -- ${WORK_DIR}/cpp-build/ntx_example_catch2_test)
step(${RUN} -- ${WORK_DIR}/cpp-build/ntx_example_in_process_protocol)
step(${RUN} -- ${WORK_DIR}/cpp-build/ntx_example_live_progress @TARGET@)
