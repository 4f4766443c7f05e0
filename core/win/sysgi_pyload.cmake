# sysgi_pyload: the run-time Python loader of the Windows platform layer,
# linked by sysgi.exe (service/) and mod_sysgi for Windows (apache-win/).
# Included from core/CMakeLists.txt on Windows only.
#
# The Python symbols of sysgi_core become a generated table of __imp_
# pointers that python_loader.c fills at run time (gen_python_imports.cmake).
# nm -u lists them (MinGW); without nm (MSVC) the script reads the library's
# string tables instead. Only sysgi_core calls Python: the front ends and
# the other core libraries never include Python.h.
set(SYSGI_PY_IMPORTS_C ${CMAKE_CURRENT_BINARY_DIR}/python_imports.c)
add_custom_command(
  OUTPUT ${SYSGI_PY_IMPORTS_C}
  COMMAND ${CMAKE_COMMAND} "-DNM=${CMAKE_NM}" -DLIB=$<TARGET_FILE:sysgi_core>
          -DOUT=${SYSGI_PY_IMPORTS_C}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/win/gen_python_imports.cmake
  DEPENDS sysgi_core ${CMAKE_CURRENT_SOURCE_DIR}/win/gen_python_imports.cmake
  COMMENT "Listing the Python symbols sysgi_core imports"
  VERBATIM)

add_library(sysgi_pyload STATIC win/python_loader.c ${SYSGI_PY_IMPORTS_C})
# PUBLIC: `#include "python_loader.h"` resolves for every target linking it.
target_include_directories(sysgi_pyload PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/win)
target_compile_definitions(sysgi_pyload PRIVATE
  _WIN32_WINNT=0x0A00 WINVER=0x0A00 WIN32_LEAN_AND_MEAN UNICODE _UNICODE)
target_link_libraries(sysgi_pyload PUBLIC sysgi_pyvenv)
