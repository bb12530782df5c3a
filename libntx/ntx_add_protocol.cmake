# ntx_add_protocol(<name> SOURCES <files...> [LIBRARIES <libs...>] [TARGET <target>]
#                  [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>] [NO_UNDEFINED])
# Builds a protocol plugin <name> as ntx_<name>.so against ntx::plugin_sdk, exporting only the entry
# symbol, so `entry: <name>` in a script finds it on the plugin search path. Hidden visibility handles
# the plugin's own code; the version script also localizes whatever header-only libraries (Boost,
# libstdc++ inline code) would export.
#   LIBRARIES            linked privately, next to ntx::plugin_sdk
#   TARGET               the CMake target's name (default: <name>)
#   OUTPUT_DIRECTORY     where the build puts the .so (default: CMake's)
#   INSTALL_DESTINATION  installs the .so there (default: not installed)
#   NO_UNDEFINED         a symbol nothing provides fails the link, not the dlopen
function(ntx_add_protocol name)
  cmake_parse_arguments(ARG "NO_UNDEFINED" "TARGET;OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LIBRARIES" ${ARGN})
  set(target ${name})
  if(ARG_TARGET)
    set(target ${ARG_TARGET})
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ntx::plugin_sdk ${ARG_LIBRARIES})
  set(map ${CMAKE_CURRENT_BINARY_DIR}/${target}_exports.map)
  file(WRITE ${map} "{ global: ntx_plugin_entry; local: *; };\n")
  set_target_properties(${target} PROPERTIES PREFIX "" OUTPUT_NAME ntx_${name}
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE -Wl,--version-script=${map})
  if(ARG_NO_UNDEFINED)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(ARG_INSTALL_DESTINATION)
    install(TARGETS ${target} LIBRARY DESTINATION ${ARG_INSTALL_DESTINATION})
  endif()
endfunction()
