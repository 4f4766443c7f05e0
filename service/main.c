/*
 * main.c: sysgi.exe command-line dispatch. Arguments are taken as UTF-16
 * from the system (GetCommandLineW), so non-ASCII paths survive whatever
 * the console code page is.
 */
#include <winsock2.h>
#include <windows.h>
#include <shellapi.h>

#include <stdio.h>
#include <wchar.h>

#include "check.h"
#include "serve.h"
#include "supervisor.h"
#include "svc_commands.h"
#include "sysgi.h"

static void usage(FILE *f) {
  fprintf(f,
          "sysgi %s - a WSGI server for Windows on http.sys\n"
          "\n"
          "usage:\n"
          "  %s\n"
          "      Serve one WSGI application in the foreground on\n"
          "      http://127.0.0.1:N/ (default port 8000); Ctrl-C stops.\n"
          "      --python-home defaults to the PYTHONHOME variable.\n"
          "      --config PATH serves the applications of an INI file;\n"
          "      --KEY VALUE sets any [server] or [app:MOUNT] setting KEY.\n"
          "  %s\n"
          "      Print the configuration the service runs with (the INI\n"
          "      file, then HKLM\\SOFTWARE\\sysgi), every value with its\n"
          "      source; exit 1 listing every error when it is invalid.\n"
          "%s"
          "  sysgi recycle GROUP\n"
          "      Replace the workers of process group GROUP of the running\n"
          "      service (or serve --config) one at a time, refusing no\n"
          "      request.\n"
          "  sysgi --help | --version\n",
          sysgi_version(), SYSGI_SERVE_USAGE, SYSGI_CHECK_USAGE, SVC_USAGE);
}

int main(void) {
  int argc = 0;
  wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  int rc;
  if (!argv) {
    fprintf(stderr, "sysgi: cannot read the command line\n");
    return 1;
  }
  if (argc < 2) {
    usage(stderr);
    rc = 2;
  } else if (!wcscmp(argv[1], L"--help") || !wcscmp(argv[1], L"-h") ||
             !wcscmp(argv[1], L"help")) {
    usage(stdout);
    rc = 0;
  } else if (!wcscmp(argv[1], L"--version")) {
    printf("sysgi %s\n", sysgi_version());
    rc = 0;
  } else if (!wcscmp(argv[1], L"serve")) {
    rc = sysgi_serve(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"check")) {
    rc = sysgi_check(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"install")) {
    rc = svc_cmd_install(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"uninstall")) {
    rc = svc_cmd_uninstall(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"start")) {
    rc = svc_cmd_start(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"stop")) {
    rc = svc_cmd_stop(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"status")) {
    rc = svc_cmd_status(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"recycle")) {
    rc = svc_cmd_recycle(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"worker")) {
    /* Not in the usage: run by the process-group supervisor. */
    rc = svc_cmd_worker(argc - 2, argv + 2);
  } else if (!wcscmp(argv[1], L"service")) {
    /* Not in the usage: the entry the SCM runs (the binary path). */
    rc = svc_cmd_service(argc - 2, argv + 2);
  } else {
    fprintf(stderr, "sysgi: unknown command '%ls' (try sysgi --help)\n",
            argv[1]);
    rc = 2;
  }
  LocalFree(argv);
  return rc;
}
