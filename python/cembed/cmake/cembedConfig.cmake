# cembed's CMake package: find_package(cembed CONFIG) with
#   cmake -Dcembed_DIR="$(cembed --cmake-dir)" ...
# (or the directory `cembed --cmake-dir` prints in CMAKE_PREFIX_PATH).
#
# Provides
#   CEMBED_EXECUTABLE   the cembed command of this installation
#   cembed_add_library(<name>
#       API <file>             declarations of the exported API (embedding_api)
#       INIT <file>            Python code run on the first call (embedding_init_code)
#       [MODULE <module>]      the module name Python sees (default: <name>)
#       [SOURCE <file>...]     C code pasted into the library (set_source's
#                              code: defines the types the API uses)
#       [C_FILES <file>...]    C files compiled separately and linked in
#       [CDEF <file>...]       declarations shared with Python, not exported (cdef)
#       [PYTHON <exe>]         the Python the library is for (default: the
#                              Python this cembed is installed in)
#       [ISOLATION <mode>]     where the init code and calls run
#                              (embedding_isolation): shared (the default),
#                              isolated, pool or pool:<size>; isolated and
#                              pool need CPython 3.12+)
# which builds lib<name>.so and its consumer header <name>.h (and <name>.pc)
# in ${CMAKE_CURRENT_BINARY_DIR}/cembed_<name>/ and makes <name> a target to
# link: target_link_libraries(app PRIVATE <name>) adds the header's directory
# to app's include path, links the library and rebuilds it when an input
# changes.

get_filename_component(_cembed_package_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(CEMBED_EXECUTABLE "${_cembed_package_dir}/_bin/cembed"
    CACHE FILEPATH "The cembed executable")
if(NOT EXISTS "${CEMBED_EXECUTABLE}")
  set(cembed_FOUND FALSE)
  set(cembed_NOT_FOUND_MESSAGE
      "the cembed executable is missing: ${CEMBED_EXECUTABLE}")
  return()
endif()

function(cembed_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "API;INIT;MODULE;PYTHON;ISOLATION" "SOURCE;CDEF;C_FILES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "cembed_add_library(${name}): unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  foreach(required API INIT)
    if(NOT arg_${required})
      message(FATAL_ERROR "cembed_add_library(${name}): ${required} <file> is required")
    endif()
  endforeach()
  if(NOT arg_MODULE)
    set(arg_MODULE "${name}")
  endif()

  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/cembed_${name}")
  set(library "${out_dir}/lib${name}.so")
  set(header "${out_dir}/${name}.h")
  # An imported target's include directory must exist when CMake generates.
  file(MAKE_DIRECTORY "${out_dir}")

  set(inputs "")
  set(args build --module "${arg_MODULE}")
  get_filename_component(api "${arg_API}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(init "${arg_INIT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  list(APPEND args --api "${api}" --init "${init}")
  list(APPEND inputs "${api}" "${init}")
  foreach(file IN LISTS arg_CDEF)
    get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --cdef "${file}")
    list(APPEND inputs "${file}")
  endforeach()
  foreach(file IN LISTS arg_SOURCE)
    get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --source "${file}")
    list(APPEND inputs "${file}")
  endforeach()
  foreach(file IN LISTS arg_C_FILES)
    get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --c-file "${file}")
    list(APPEND inputs "${file}")
  endforeach()
  if(arg_PYTHON)
    list(APPEND args --python "${arg_PYTHON}")
  endif()
  if(arg_ISOLATION)
    list(APPEND args --isolation "${arg_ISOLATION}")
  endif()
  list(APPEND args -o "${library}")

  add_custom_command(
    OUTPUT "${library}" "${header}"
    COMMAND "${CEMBED_EXECUTABLE}" ${args}
    DEPENDS ${inputs} "${CEMBED_EXECUTABLE}"
    COMMENT "cembed: building lib${name}.so"
    VERBATIM)
  add_custom_target(${name}_cembed ALL DEPENDS "${library}" "${header}")

  add_library(${name} SHARED IMPORTED GLOBAL)
  set_target_properties(${name} PROPERTIES
    IMPORTED_LOCATION "${library}"
    IMPORTED_SONAME "lib${name}.so"
    INTERFACE_INCLUDE_DIRECTORIES "${out_dir}")
  # Linking <name> builds the library first.
  add_dependencies(${name} ${name}_cembed)
endfunction()
