# ds_add_plugin(<name> SOURCES ...): builds a Deepseek Pipelines plug-in exactly as an outside author
# would: a MODULE library that sees only the public SDK headers (framework/include/ds), exports only
# its entry point (hidden visibility plus a version script) and refuses undefined symbols at link
# time. The library is named ds_<name>.so and lands in OUTPUT_DIR, else the build's plugins/ folder
# (DS_PLUGIN_OUTPUT_DIR), else, out of tree, the current binary folder. An out-of-tree project may
# include() this file straight from a source checkout: the SDK headers are found relative to it.
set(DS_SDK_INCLUDE_DIR ${CMAKE_CURRENT_LIST_DIR}/../framework/include)
set(DS_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/ds_plugin.map)

function(ds_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  set(target ds_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${DS_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT ARG_OUTPUT_DIR)
    # Out of tree (no DS_PLUGIN_OUTPUT_DIR): next to the project's other build outputs.
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ds_${name}
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  target_include_directories(${target} PRIVATE ${DS_SDK_INCLUDE_DIR})
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_options(${target} PRIVATE
    -Wl,--no-undefined
    -Wl,--version-script=${DS_PLUGIN_VERSION_SCRIPT})
  if(ARG_LIBRARIES)
    target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES})
  endif()
endfunction()
