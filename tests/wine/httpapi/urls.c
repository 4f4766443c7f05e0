/*
 * urls.c: URL groups, the URLs in them ("http://HOST[:PORT]/path/", HOST
 * an IPv4 address, a name, '+' or '*') and the routing of a request to a
 * queue in the four classes of the UrlPrefix documentation, in order: the
 * strong wildcard '+' (any host), an explicit host name (matched against
 * the Host header), an IP literal (an "IP-bound weak wildcard": any host
 * name on a connection to that address), the weak wildcard '*'; the
 * longest path wins inside the first class with a match.
 */
#include "ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ha_group *ha_find_group(HTTP_URL_GROUP_ID id) {
  for (ha_group *g = G.groups; g; g = g->next)
    if (g->id == id && !g->closed)
      return g;
  return NULL;
}

void ha_close_group(ha_group *g) {
  for (ha_url **u = &G.urls; *u;) {
    if ((*u)->group == g->id) {
      ha_url *dead = *u;
      *u = dead->next;
      free(dead->text);
      free(dead);
    } else {
      u = &(*u)->next;
    }
  }
  g->closed = 1;
  g->queue = NULL;
}

/* ---- URL groups ------------------------------------------------------------ */

ULONG WINAPI HttpCreateUrlGroup(HTTP_SERVER_SESSION_ID s, PHTTP_URL_GROUP_ID id,
                                ULONG reserved) {
  static HTTP_URL_GROUP_ID next = 0x6700000000000001ULL;
  ha_start();
  ha_trace("HttpCreateUrlGroup");
  if (reserved || !id)
    return ERROR_INVALID_PARAMETER;
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_group *g = NULL;
  if (ha_session_index(s) < 0) {
    ha_violation("HttpCreateUrlGroup on an unknown session");
    rc = ERROR_INVALID_PARAMETER;
  } else if (!(g = calloc(1, sizeof *g))) {
    rc = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    g->id = next++;
    g->session = s;
    g->next = G.groups;
    G.groups = g;
    *id = g->id;
  }
  LeaveCriticalSection(&G.lock);
  return rc;
}

ULONG WINAPI HttpCloseUrlGroup(HTTP_URL_GROUP_ID id) {
  ha_start();
  ha_trace("HttpCloseUrlGroup");
  EnterCriticalSection(&G.lock);
  ha_group *g = ha_find_group(id);
  if (g) {
    ha_close_group(g);
    ha_unlisten_unused();
  } else {
    ha_violation("HttpCloseUrlGroup of an unknown or closed group");
  }
  LeaveCriticalSection(&G.lock);
  return g ? NO_ERROR : ERROR_INVALID_PARAMETER;
}

ULONG WINAPI HttpSetUrlGroupProperty(HTTP_URL_GROUP_ID id,
                                     HTTP_SERVER_PROPERTY prop, PVOID info,
                                     ULONG len) {
  ha_start();
  ha_trace("HttpSetUrlGroupProperty %d", (int)prop);
  EnterCriticalSection(&G.lock);
  ULONG rc = NO_ERROR;
  ha_group *g = ha_find_group(id);
  if (!g) {
    ha_violation("HttpSetUrlGroupProperty on an unknown or closed group");
    rc = ERROR_INVALID_PARAMETER;
  } else if (!info) {
    rc = ERROR_INVALID_PARAMETER;
  } else if (prop == HttpServerBindingProperty) {
    HTTP_BINDING_INFO *b = info;
    if (len != sizeof *b) {
      ha_violation("binding property of %lu bytes", len);
      rc = ERROR_INVALID_PARAMETER;
    } else if (!b->Flags.Present) {
      g->queue = NULL;
    } else {
      ha_queue *q = ha_find_queue(b->RequestQueueHandle, "binding property");
      if (!q)
        rc = ERROR_INVALID_PARAMETER;
      g->queue = q;
    }
  } else if (prop != HttpServerTimeoutsProperty &&
             prop != HttpServerStateProperty &&
             prop != HttpServerQosProperty &&
             prop != HttpServerLoggingProperty &&
             prop != HttpServerAuthenticationProperty &&
             prop != HttpServerExtendedAuthenticationProperty &&
             prop != HttpServerChannelBindProperty) {
    rc = ERROR_INVALID_PARAMETER;
  }
  LeaveCriticalSection(&G.lock);
  return rc;
}

/* Parses "http://HOST[:PORT]/path/". Returns NO_ERROR or the error the
 * real call returns for it. */
static ULONG parse_url(PCWSTR url, ha_url *u) {
  char a[1400];
  if (!url || !WideCharToMultiByte(CP_UTF8, 0, url, -1, a, sizeof a, NULL,
                                   NULL))
    return ERROR_INVALID_PARAMETER;
  if (_strnicmp(a, "https://", 8) == 0)
    return ERROR_NOT_SUPPORTED;
  if (_strnicmp(a, "http://", 7) != 0)
    return ERROR_INVALID_PARAMETER;
  char *h = a + 7, *slash = strchr(h, '/');
  size_t n = strlen(a);
  if (!slash || a[n - 1] != '/')
    return ERROR_INVALID_PARAMETER;
  char *colon = memchr(h, ':', (size_t)(slash - h));
  size_t hl = (size_t)((colon ? colon : slash) - h);
  if (hl == 0 || hl >= sizeof u->host || h[0] == '[')
    return ERROR_INVALID_PARAMETER; /* IPv6 literals are not served */
  memcpy(u->host, h, hl);
  u->host[hl] = '\0';
  CharLowerBuffA(u->host, (DWORD)hl);
  long port = 80;
  if (colon) {
    char *end;
    port = strtol(colon + 1, &end, 10);
    if (end != slash || port <= 0 || port > 65535)
      return ERROR_INVALID_PARAMETER;
  }
  u->port = (unsigned short)port;
  if (strcmp(u->host, "+") == 0)
    u->cls = 0;
  else if (strcmp(u->host, "*") == 0)
    u->cls = 3;
  else if (inet_pton(AF_INET, u->host, &u->ip) == 1)
    u->cls = 2;
  else
    u->cls = 1;
  if (strlen(slash) >= sizeof u->path)
    return ERROR_INVALID_PARAMETER;
  strcpy(u->path, slash);
  CharLowerBuffA(u->path, (DWORD)strlen(u->path));
  return NO_ERROR;
}

ULONG WINAPI HttpAddUrlToUrlGroup(HTTP_URL_GROUP_ID id, PCWSTR url,
                                  HTTP_URL_CONTEXT ctx, ULONG reserved) {
  ha_start();
  ha_trace("HttpAddUrlToUrlGroup %ls", url ? url : L"(null)");
  ha_url *u = calloc(1, sizeof *u);
  if (!u)
    return ERROR_NOT_ENOUGH_MEMORY;
  ULONG rc = reserved ? ERROR_INVALID_PARAMETER : parse_url(url, u);
  EnterCriticalSection(&G.lock);
  if (rc == NO_ERROR && !ha_find_group(id)) {
    ha_violation("HttpAddUrlToUrlGroup on an unknown or closed group");
    rc = ERROR_INVALID_PARAMETER;
  }
  for (ha_url *o = G.urls; rc == NO_ERROR && o; o = o->next)
    if (o->port == u->port && strcmp(o->host, u->host) == 0 &&
        strcmp(o->path, u->path) == 0)
      rc = ERROR_ALREADY_EXISTS;
  if (rc == NO_ERROR) {
    int loop = strcmp(u->host, "127.0.0.1") == 0 ||
               strcmp(u->host, "localhost") == 0;
    rc = ha_listen(u->port, !loop);
  }
  if (rc == NO_ERROR) {
    u->text = _wcsdup(url);
    u->group = id;
    u->ctx = ctx;
    u->next = G.urls;
    G.urls = u;
    u = NULL;
  }
  LeaveCriticalSection(&G.lock);
  free(u);
  return rc;
}

ULONG WINAPI HttpRemoveUrlFromUrlGroup(HTTP_URL_GROUP_ID id, PCWSTR url,
                                       ULONG flags) {
  ha_start();
  ha_url key;
  ULONG rc = parse_url(url, &key);
  if (rc != NO_ERROR)
    return rc;
  EnterCriticalSection(&G.lock);
  rc = ERROR_FILE_NOT_FOUND;
  for (ha_url **u = &G.urls; *u; u = &(*u)->next) {
    ha_url *o = *u;
    if (o->group == id && o->port == key.port &&
        strcmp(o->host, key.host) == 0 && strcmp(o->path, key.path) == 0) {
      *u = o->next;
      free(o->text);
      free(o);
      rc = NO_ERROR;
      break;
    }
  }
  (void)flags;
  ha_unlisten_unused();
  LeaveCriticalSection(&G.lock);
  return rc;
}

/* Lower-case, percent-decoded path of a raw URL (no query). */
static void route_path(const char *raw, char *out, size_t cap) {
  if (_strnicmp(raw, "http://", 7) == 0) {
    raw = strchr(raw + 7, '/');
    if (!raw)
      raw = "/";
  }
  size_t o = 0;
  for (size_t i = 0; raw[i] && raw[i] != '?' && o + 1 < cap; i++) {
    unsigned hi, lo;
    if (raw[i] == '%' && sscanf(raw + i + 1, "%1x%1x", &hi, &lo) == 2) {
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[o++] = raw[i];
    }
  }
  out[o] = '\0';
  CharLowerBuffA(out, (DWORD)o);
}

int ha_route(ha_req *r) {
  char path[HA_BUF], host[256];
  route_path(r->raw_url, path, sizeof path);
  size_t pl = strlen(path);
  snprintf(host, sizeof host, "%s", r->host);
  char *colon = strrchr(host, ':');
  if (colon)
    *colon = '\0';
  CharLowerBuffA(host, (DWORD)strlen(host));
  unsigned short port = ntohs(r->c->local.sin_port);
  int host_seen = 0;
  for (int cls = 0; cls < 4; cls++) {
    ha_url *best = NULL;
    for (ha_url *u = G.urls; u; u = u->next) {
      if (u->cls != cls || u->port != port)
        continue;
      if (cls == 1 && strcmp(u->host, host) != 0)
        continue;
      if (cls == 2 && u->ip.s_addr != r->c->local.sin_addr.s_addr)
        continue;
      host_seen = 1;
      size_t ul = strlen(u->path);
      int match = strncmp(path, u->path, ul) == 0 ||
                  (pl + 1 == ul && strncmp(path, u->path, pl) == 0);
      if (match && (!best || ul > strlen(best->path)))
        best = u;
    }
    if (best) {
      ha_group *g = ha_find_group(best->group);
      if (!g || !g->queue || g->queue->closed || g->queue->shut)
        return 503;
      r->q = g->queue;
      r->url_ctx = best->ctx;
      return 0;
    }
  }
  return host_seen ? 404 : 400;
}

