# Cross-compiling sysgi for 64-bit Windows from Debian with mingw-w64
# (packages gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64):
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake \
#         -DSYSGI_PYTHON_SRC=$PWD/.deps/python-src
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

set(SYSGI_MINGW_PREFIX x86_64-w64-mingw32 CACHE STRING "mingw-w64 target triple")
set(CMAKE_C_COMPILER ${SYSGI_MINGW_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${SYSGI_MINGW_PREFIX}-g++)
set(CMAKE_RC_COMPILER ${SYSGI_MINGW_PREFIX}-windres)
set(CMAKE_AR ${SYSGI_MINGW_PREFIX}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${SYSGI_MINGW_PREFIX}-ranlib CACHE FILEPATH "")
# Used by service/ to list the Python symbols the core imports.
set(CMAKE_NM ${SYSGI_MINGW_PREFIX}-nm CACHE FILEPATH "")

# Look for libraries and headers only in the target's sysroot; programs
# (python3, pytest, wine) come from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${SYSGI_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Binaries run under Wine on the build machine (try_run, tests).
set(CMAKE_CROSSCOMPILING_EMULATOR wine)
