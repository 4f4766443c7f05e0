# cmake -P build_msi.cmake: builds the sysgi MSI from sysgi.wxs.
#
#   -DWXS=.../sysgi.wxs -DOUT=.../sysgi-VERSION-x64.msi -DVERSION=a.b.c
#   -DSYSGI_EXE=... -DMSICA_DLL=... -DSYSGI_INI=...
#   [-DMOD_SYSGI=.../mod_sysgi.so -DAPACHE_CONF=.../sysgi.conf]
#   and either -DWIXL=wixl -DMSIBUILD=msibuild (msitools, Linux)
#   or -DCANDLE=candle.exe -DLIGHT=light.exe (WiX Toolset 3, Windows).
#
# The tests call it too, to build an older version from the same source.
cmake_minimum_required(VERSION 3.20)
foreach(v WXS OUT VERSION SYSGI_EXE MSICA_DLL SYSGI_INI)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "build_msi.cmake: ${v} is not set")
  endif()
endforeach()
foreach(f SYSGI_EXE MSICA_DLL SYSGI_INI)
  if(NOT EXISTS "${${f}}")
    message(FATAL_ERROR "build_msi.cmake: ${f} ${${f}} does not exist")
  endif()
endforeach()

# The wxs variables, NAME=VALUE (each toolset spells the flag its way).
set(defs Version=${VERSION} SysgiExe=${SYSGI_EXE} MsiCaDll=${MSICA_DLL}
         SysgiIni=${SYSGI_INI})
# The Apache module, when that build exists (-DAPACHE_ROOT builds it).
if(MOD_SYSGI AND EXISTS "${MOD_SYSGI}")
  if(NOT APACHE_CONF OR NOT EXISTS "${APACHE_CONF}")
    message(FATAL_ERROR "build_msi.cmake: MOD_SYSGI needs APACHE_CONF")
  endif()
  list(APPEND defs ModSysgi=${MOD_SYSGI} ApacheConf=${APACHE_CONF})
endif()
get_filename_component(out_dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${out_dir}")

if(CANDLE)
  list(TRANSFORM defs PREPEND "-d" OUTPUT_VARIABLE cdefs)
  set(obj "${OUT}.wixobj")
  execute_process(COMMAND "${CANDLE}" -nologo -arch x64 ${cdefs} -out "${obj}" "${WXS}"
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "candle failed (${rc})")
  endif()
  execute_process(COMMAND "${LIGHT}" -nologo -sval -out "${OUT}" "${obj}"
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "light failed (${rc})")
  endif()
  return()
endif()

if(NOT WIXL OR NOT MSIBUILD)
  message(FATAL_ERROR "build_msi.cmake: set WIXL and MSIBUILD, or CANDLE and LIGHT")
endif()
# wixl finds files only by relative name (from its working directory), so
# the payload is staged, under its own names, next to the output. It
# ignores the attributes it does not know (with a GLib warning) and refuses
# unknown elements; WIXL hides those from it. "-D NAME=VALUE" is two
# arguments for wixl.
file(REMOVE "${OUT}")
set(stage "${OUT}.stage")
file(REMOVE_RECURSE "${stage}")
file(MAKE_DIRECTORY "${stage}")
set(wdefs -D Version=${VERSION} -D WIXL=1)
foreach(pair "SysgiExe;SYSGI_EXE" "MsiCaDll;MSICA_DLL" "SysgiIni;SYSGI_INI"
             "ModSysgi;MOD_SYSGI" "ApacheConf;APACHE_CONF")
  list(GET pair 0 var)
  list(GET pair 1 src)
  if(NOT "${var}=${${src}}" IN_LIST defs)
    continue()
  endif()
  get_filename_component(name "${${src}}" NAME)
  file(COPY "${${src}}" DESTINATION "${stage}")
  list(APPEND wdefs -D ${var}=${name})
endforeach()
execute_process(COMMAND "${WIXL}" -a x64 ${wdefs} -o "${OUT}" "${WXS}"
                WORKING_DIRECTORY "${stage}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
string(REGEX REPLACE "[^\n]*has no property named[^\n]*\n" "" err_left "${err}")
if(err_left)
  message("${err_left}")
endif()
if(rc OR NOT EXISTS "${OUT}")
  message(FATAL_ERROR "wixl failed (${rc}): ${err}")
endif()
# What WiX writes from the wxs and wixl does not: RemoveExistingProducts
# right after InstallValidate (MajorUpgrade's default schedule; wixl puts
# it late, among the services), the component condition,
# the INI's Permanent|NeverOverwrite (with 64bit: 16|128|256), and
# SecureCustomProperties with the public properties (wixl lists only its
# upgrade properties there), MsiHiddenProperties (Hidden="yes").
set(secure "WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;LISTEN;PORT;PYTHONHOME;INSTALLDIR;SERVICEACCOUNT;SERVICEPASSWORD")
foreach(q
    "UPDATE `InstallExecuteSequence` SET `Sequence` = 1410 WHERE `Action` = 'RemoveExistingProducts'"
    "UPDATE `Component` SET `Condition` = 'PYTHONHOME' WHERE `Component` = 'RegPythonHomeComponent'"
    "UPDATE `Component` SET `Attributes` = 400 WHERE `Component` = 'SysgiIniComponent'"
    "UPDATE `Property` SET `Value` = '${secure}' WHERE `Property` = 'SecureCustomProperties'"
    "INSERT INTO `Property` (`Property`, `Value`) VALUES ('MsiHiddenProperties', 'SERVICEPASSWORD')")
  execute_process(COMMAND "${MSIBUILD}" "${OUT}" -q "${q}" RESULT_VARIABLE rc)
  if(rc)
    file(REMOVE "${OUT}")
    message(FATAL_ERROR "msibuild failed (${rc}) on: ${q}")
  endif()
endforeach()
file(REMOVE_RECURSE "${stage}")
message(STATUS "built ${OUT}")
