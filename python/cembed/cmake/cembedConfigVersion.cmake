# find_package(cembed <version> CONFIG): compatible within one major version
# (within one minor version while the major is 0), not older than asked.
# PACKAGE_VERSION is kept equal to the Python package's version by
# tests/test_packaging.py.
set(PACKAGE_VERSION "0.1.0")
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _cembed_v "${PACKAGE_VERSION}")
set(_cembed_major "${CMAKE_MATCH_1}")
set(_cembed_minor "${CMAKE_MATCH_2}")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if("${PACKAGE_FIND_VERSION}" STREQUAL "")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION
       AND PACKAGE_FIND_VERSION_MAJOR EQUAL _cembed_major)
  if(_cembed_major GREATER 0 OR PACKAGE_FIND_VERSION_MINOR EQUAL _cembed_minor)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
endif()
if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
  set(PACKAGE_VERSION_EXACT TRUE)
endif()
