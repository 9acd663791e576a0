# Prepares find_package(ROOT) for rdataloader and for projects that use its installed package.
#
# ROOT is taken from ROOT_DIR when it is set, else from the standard search paths (ROOTSYS, CMAKE_PREFIX_PATH,
# PATH), else from the Python on PATH: a ROOT installed with pip keeps its CMake files inside the Python
# package, which no standard search path reaches. To pick a pip-installed ROOT explicitly:
#   cmake -DROOT_DIR=$(python -c "import ROOT, os; print(os.path.dirname(ROOT.__file__))")/cmake ...

include_guard(DIRECTORY)

set(_rdataloader_fixed "${CMAKE_BINARY_DIR}/rdataloader-ROOT-cmake")
if(ROOT_DIR STREQUAL _rdataloader_fixed AND RDATALOADER_ROOT_WHEEL_DIR)
  # Configuring again: rebuild the copy from the wheel, which may have been updated since.
  set(ROOT_DIR "${RDATALOADER_ROOT_WHEEL_DIR}")
endif()

if(ROOT_DIR AND NOT EXISTS "${ROOT_DIR}/ROOTConfig.cmake" AND EXISTS "${ROOT_DIR}/cmake/ROOTConfig.cmake")
  # The installation directory itself (for a wheel, the directory of the ROOT Python package) is accepted too.
  set(ROOT_DIR "${ROOT_DIR}/cmake")
endif()

if(NOT ROOT_DIR)
  find_package(ROOT CONFIG QUIET)
  if(NOT ROOT_FOUND)
    find_package(Python3 COMPONENTS Interpreter QUIET)
    if(Python3_Interpreter_FOUND)
      # find_spec locates the package without importing it, which would start ROOT's interpreter.
      execute_process(
        COMMAND "${Python3_EXECUTABLE}" -c
                "import importlib.util, os; s = importlib.util.find_spec('ROOT'); print(os.path.join(s.submodule_search_locations[0], 'cmake'))"
        OUTPUT_VARIABLE _rdataloader_root_dir
        OUTPUT_STRIP_TRAILING_WHITESPACE
        RESULT_VARIABLE _rdataloader_python_rc
        ERROR_QUIET)
      if(_rdataloader_python_rc EQUAL 0 AND EXISTS "${_rdataloader_root_dir}/ROOTConfig.cmake")
        set(ROOT_DIR "${_rdataloader_root_dir}")
      endif()
    endif()
  endif()
endif()

# The ROOT wheels (0.1a12, ROOT 6.40) export their targets with paths under a "mock_site_packages" directory
# that only exists while the wheel is built, so find_package(ROOT) fails on them (root-project/root#22654).
# A copy of the wheel's CMake files with those paths pointing into the installed packages is used instead.
set(_rdataloader_mock "")
if(ROOT_DIR AND EXISTS "${ROOT_DIR}/ROOTConfig-targets.cmake" AND NOT EXISTS "${ROOT_DIR}/../../../mock_site_packages")
  file(STRINGS "${ROOT_DIR}/ROOTConfig-targets.cmake" _rdataloader_mock REGEX "/mock_site_packages/" LIMIT_COUNT 1)
endif()
if(_rdataloader_mock)
  get_filename_component(_rdataloader_wheel "${ROOT_DIR}/.." ABSOLUTE)
  get_filename_component(_rdataloader_site_packages "${ROOT_DIR}/../.." ABSOLUTE)
  file(COPY "${ROOT_DIR}/modules" DESTINATION "${_rdataloader_fixed}")
  file(GLOB _rdataloader_files RELATIVE "${ROOT_DIR}" "${ROOT_DIR}/*.cmake")
  foreach(_rdataloader_file IN LISTS _rdataloader_files)
    file(READ "${ROOT_DIR}/${_rdataloader_file}" _rdataloader_text)
    string(REPLACE "\${_IMPORT_PREFIX}/mock_site_packages/" "${_rdataloader_site_packages}/" _rdataloader_text
           "${_rdataloader_text}")
    string(REPLACE "\${_IMPORT_PREFIX}/include" "${_rdataloader_wheel}/include" _rdataloader_text
           "${_rdataloader_text}")
    string(REPLACE "\${_thisdir}/../" "${_rdataloader_wheel}/" _rdataloader_text "${_rdataloader_text}")
    # Rewriting an unchanged file would make the build system re-run CMake at every build.
    set(_rdataloader_old "")
    if(EXISTS "${_rdataloader_fixed}/${_rdataloader_file}")
      file(READ "${_rdataloader_fixed}/${_rdataloader_file}" _rdataloader_old)
    endif()
    if(NOT _rdataloader_old STREQUAL _rdataloader_text)
      file(WRITE "${_rdataloader_fixed}/${_rdataloader_file}" "${_rdataloader_text}")
    endif()
  endforeach()
  set(RDATALOADER_ROOT_WHEEL_DIR "${ROOT_DIR}" CACHE INTERNAL "The ROOT wheel's own CMake directory")
  set(ROOT_DIR "${_rdataloader_fixed}" CACHE PATH "Directory containing ROOTConfig.cmake" FORCE)
elseif(ROOT_DIR)
  unset(RDATALOADER_ROOT_WHEEL_DIR CACHE)
  set(ROOT_DIR "${ROOT_DIR}" CACHE PATH "Directory containing ROOTConfig.cmake" FORCE)
endif()

# Call once ROOT is found. The ROOT wheel ships the system libraries that its own libraries need in
# site-packages/root.libs and reaches them through $ORIGIN run paths, which the linker does not follow
# when it checks the indirect dependencies of an executable (libGraf needs the wheel's libfreetype).
function(rdataloader_link_root_wheel)
  get_filename_component(wheel_libs "${ROOT_LIBRARY_DIR}/../../root.libs" ABSOLUTE)
  if(IS_DIRECTORY "${wheel_libs}")
    set_property(TARGET ROOT::Core APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${wheel_libs}")
  endif()
endfunction()
