# Windows CPython headers for the core, with no Python import library:
# sysgi.exe loads python3.dll (or python3XY.dll) at run time from the
# configured python-home (see core/win/python_loader.c), so the binary does not
# depend on one Python version, and the PATH never decides which Python runs.
#
# Defines the INTERFACE target `sysgi_python_headers`.
#
# Header sources, in order of preference:
#   SYSGI_PYTHON_INCLUDE  the include/ directory of a python.org install
#                         (native Windows builds, MSVC or MinGW); its
#                         pyconfig.h is already the Windows one.
#   SYSGI_PYTHON_SRC      a CPython source tree (cross builds from Debian:
#                         `apt-get source python3.11`, see tools/install-deps.sh):
#                         Include/ plus a copy of PC/pyconfig.h in the build
#                         tree (Include/ must not see Debian's POSIX pyconfig).
set(SYSGI_PYTHON_INCLUDE "" CACHE PATH
    "include/ directory of a Windows CPython install (native builds)")
set(SYSGI_PYTHON_SRC "${CMAKE_SOURCE_DIR}/.deps/python-src" CACHE PATH
    "CPython source tree providing Include/ and PC/pyconfig.h (cross builds)")

add_library(sysgi_python_headers INTERFACE)

if(SYSGI_PYTHON_INCLUDE)
  if(NOT EXISTS "${SYSGI_PYTHON_INCLUDE}/Python.h")
    message(FATAL_ERROR "SYSGI_PYTHON_INCLUDE=${SYSGI_PYTHON_INCLUDE} has no Python.h")
  endif()
  target_include_directories(sysgi_python_headers SYSTEM INTERFACE
                             "${SYSGI_PYTHON_INCLUDE}")
else()
  foreach(f Include/Python.h PC/pyconfig.h)
    if(NOT EXISTS "${SYSGI_PYTHON_SRC}/${f}")
      message(FATAL_ERROR
        "${SYSGI_PYTHON_SRC}/${f} not found: run tools/install-deps.sh, or "
        "pass -DSYSGI_PYTHON_SRC=<CPython source> or "
        "-DSYSGI_PYTHON_INCLUDE=<python.org install>/include")
    endif()
  endforeach()
  set(_sysgi_pyconf_dir "${CMAKE_BINARY_DIR}/python-pc-include")
  configure_file("${SYSGI_PYTHON_SRC}/PC/pyconfig.h"
                 "${_sysgi_pyconf_dir}/pyconfig.h" COPYONLY)
  # The generated directory comes first so that #include "pyconfig.h" from
  # Include/Python.h finds the Windows configuration.
  target_include_directories(sysgi_python_headers SYSTEM INTERFACE
                             "${_sysgi_pyconf_dir}" "${SYSGI_PYTHON_SRC}/Include")
endif()

# PC/pyconfig.h defines MS_WIN64 only under MSVC; without it a 64-bit MinGW
# build gets 32-bit Py_ssize_t/SIZEOF_* definitions.
if(CMAKE_SIZEOF_VOID_P EQUAL 8)
  target_compile_definitions(sysgi_python_headers INTERFACE MS_WIN64)
endif()
target_compile_definitions(sysgi_python_headers INTERFACE
                           Py_LIMITED_API=${SYSGI_PY_LIMITED_API})
if(MSVC)
  # PC/pyconfig.h asks MSVC to link python3.lib through #pragma comment(lib):
  # we load the DLL ourselves, so that import library must not be required.
  target_link_options(sysgi_python_headers INTERFACE /NODEFAULTLIB:python3.lib)
endif()
