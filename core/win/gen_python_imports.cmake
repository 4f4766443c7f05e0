# Generates the table of Python symbols sysgi.exe resolves at run time.
#
# The core is compiled with Python's dllimport declarations, so each Python
# function or data object it uses is an undefined symbol __imp_<Name> in the
# static library: a pointer the linker normally takes from an import
# library. We DEFINE those pointers ourselves (one `void *__imp_<Name>` each)
# and python_loader.c fills them with GetProcAddress from the python3.dll (or
# python3XY.dll) of the configured python-home. No import library, no
# dependency on a Python version, and data symbols (PyExc_TypeError,
# _Py_NoneStruct) work exactly like functions.
#
# cmake [-DNM=<nm>] -DLIB=<libsysgi_core.a> -DOUT=<file.c> -P gen_python_imports.cmake
if(NM)
  execute_process(COMMAND ${NM} -u ${LIB} OUTPUT_VARIABLE syms
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -u ${LIB} failed: ${err}")
  endif()
else()
  # No nm (MSVC): the names are plain strings in the archive's symbol and
  # string tables, and the core never defines an __imp_Py* symbol itself,
  # so every occurrence is an import.
  file(STRINGS ${LIB} syms REGEX "__imp__?Py")
endif()
string(REGEX MATCHALL "__imp__?Py[A-Za-z0-9_]*" imps "${syms}")
list(REMOVE_DUPLICATES imps)
list(SORT imps)
list(LENGTH imps n)
if(n EQUAL 0)
  message(FATAL_ERROR "no __imp_Py* symbols in ${LIB}: is the core compiled "
          "with the Windows Python headers (sysgi_python_headers)?")
endif()

set(defs "")
set(table "")
foreach(imp IN LISTS imps)
  string(REGEX REPLACE "^__imp_" "" name "${imp}")
  string(APPEND defs "void *${imp};\n")
  string(APPEND table "    {\"${name}\", &${imp}},\n")
endforeach()
file(WRITE "${OUT}.tmp"
"/* Generated from the undefined symbols of ${LIB}\n"
" * by core/win/gen_python_imports.cmake: do not edit. */\n"
"#include \"python_loader.h\"\n\n"
"${defs}\n"
"const sysgi_py_import sysgi_py_imports[] = {\n${table}};\n"
"const size_t sysgi_py_n_imports = ${n};\n")
# Rewrite only on change, so an unchanged set of symbols relinks nothing.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
