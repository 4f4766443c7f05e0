/* svc_commands.h: the service commands of sysgi.exe. Each takes the
 * arguments after its name and returns the process exit code. */
#ifndef SYSGI_SVC_COMMANDS_H
#define SYSGI_SVC_COMMANDS_H

#include <wchar.h>

#define SVC_USAGE                                                             \
  "  sysgi install [--config FILE.ini] [--account NAME [--password PW]]\n"   \
  "      Validate the configuration, install the service 'sysgi'\n"          \
  "      (delayed automatic start, restart on failure, account\n"            \
  "      NT SERVICE\\sysgi by default) and reserve its listen URLs.\n"         \
  "  sysgi install --configure-only [--config FILE.ini]\n"                  \
  "      For a service created by the MSI: set its delayed start,\n"        \
  "      failure actions and SID type, and reserve its listen URLs for\n"   \
  "      its account (only an invalid listen URL is an error here).\n"    \
  "  sysgi uninstall [--urls-only]\n"                                        \
  "      Stop and remove the service, its URL reservations and its\n"        \
  "      Event Log source (--urls-only: only the URL reservations).\n"      \
  "  sysgi start | stop | status\n"                                          \
  "      Start or stop the service and wait for it; show its state.\n"

int svc_cmd_install(int argc, wchar_t **argv);   /* svc_install.c */
int svc_cmd_uninstall(int argc, wchar_t **argv); /* svc_install.c */
int svc_cmd_start(int argc, wchar_t **argv);     /* svc_control.c */
int svc_cmd_stop(int argc, wchar_t **argv);      /* svc_control.c */
int svc_cmd_status(int argc, wchar_t **argv);    /* svc_control.c */
/* `sysgi service [--config FILE]`: what the SCM runs (svc_main.c). */
int svc_cmd_service(int argc, wchar_t **argv);

/* Waits until the service leaves `pending` (START_PENDING/STOP_PENDING),
 * honouring its checkpoints and wait hints. Returns the state reached,
 * or 0 if the service stopped answering (no checkpoint progress). */
unsigned long svc_wait_state(void *service, unsigned long pending,
                             unsigned long limit_ms);

#endif
