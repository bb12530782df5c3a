# ntx_add_protocol(<name> SOURCES <files...>)
# Builds a protocol plugin <name> as ntx_<name>.so against ntx::plugin_sdk, exporting only the entry
# symbol, so `entry: <name>` in a script finds it on the plugin search path.
function(ntx_add_protocol name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ntx::plugin_sdk)
  set(map ${CMAKE_CURRENT_BINARY_DIR}/${name}_exports.map)
  file(WRITE ${map} "{ global: ntx_plugin_entry; local: *; };\n")
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ntx_${name}
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE -Wl,--version-script=${map})
endfunction()
