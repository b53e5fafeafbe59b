/*
 * Unix-domain stream socket syscalls, one JS function each, no policy.
 *
 * Only what differs from TCP lives here: creating the socket (or a connected
 * pair), connect(2) and bind(2) on a path, the local and peer paths, and the
 * peer's credentials. listen, accept, read, write, readv, writev, dup,
 * shutdown and close are sockets.c's: they work on any stream socket's fd.
 *
 * Ownership as in sockets.c: every fd returned here belongs to the caller,
 * which closes it exactly once. Paths: a JS string whose UTF-8 bytes (all of
 * them, embedded NULs included) fill sun_path; a leading NUL names Linux's
 * abstract namespace, where the name is exactly those bytes (no terminator,
 * so the address length is the byte length, never strlen). A path with no
 * room in sun_path is -ENAMETOOLONG, an empty one -EINVAL; the TypeScript core
 * refuses both before any syscall, these checks only keep the addon safe.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "netpoll.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define PATH_ROOM sizeof(((struct sockaddr_un*)0)->sun_path)

/* Fills a sockaddr_un from a JS string. false with an exception pending for a
 * non-string; else *err is 0 or -errno. */
static bool path_arg(napi_env env, napi_value v, struct sockaddr_un* sun, socklen_t* len, int* err) {
  napi_valuetype t;
  size_t n = 0;
  char buf[PATH_ROOM + 1];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return false;
  }
  *err = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    np_throw_status(env, napi_generic_failure);
    return false;
  }
  if (n == 0) {
    *err = -EINVAL;
    return true;
  }
  if (n > PATH_ROOM) {
    *err = -ENAMETOOLONG;
    return true;
  }
  /* buf has room for the n bytes and the terminator napi writes after them. */
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &n) != napi_ok) {
    np_throw_status(env, napi_generic_failure);
    return false;
  }
  /* A filesystem path needs its terminating NUL inside sun_path; an abstract name does not. */
  if (buf[0] != '\0' && n >= PATH_ROOM) {
    *err = -ENAMETOOLONG;
    return true;
  }
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  memcpy(sun->sun_path, buf, n);
  /* Abstract: exactly the name's bytes. Filesystem: the path and its NUL. */
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (buf[0] == '\0' ? 0 : 1));
  return true;
}

/* The path of a sockaddr_un of length len as a JS string ("" for an unnamed socket). */
static napi_value path_value(napi_env env, const struct sockaddr_un* sun, socklen_t len) {
  size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (n > PATH_ROOM) n = PATH_ROOM;
  /* A filesystem path ends at its NUL (the kernel may count it, or not); an abstract name keeps every byte. */
  if (n > 0 && sun->sun_path[0] != '\0') n = strnlen(sun->sun_path, n);
  napi_value s;
  NP_CALL(env, napi_create_string_utf8(env, sun->sun_path, n, &s));
  return s;
}

static napi_value js_unix_socket(napi_env env, napi_callback_info info) {
  int fd = socket(AF_UNIX, SOCK_STREAM | NP_SOCK_FLAGS, 0);
  return np_num(env, fd < 0 ? -errno : np_own_fd(fd));
}

/* [fd, fd] of a connected pair, or -errno. */
static napi_value js_unix_pair(napi_env env, napi_callback_info info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | NP_SOCK_FLAGS, 0, fds) < 0) return np_num(env, -errno);
  int a = np_own_fd(fds[0]);
  if (a < 0) {
    close(fds[1]);
    return np_num(env, a);
  }
  int b = np_own_fd(fds[1]);
  if (b < 0) {
    close(a);
    return np_num(env, b);
  }
  napi_value arr, v;
  /* On a failure below the fds would leak: N-API calls fail only when the environment is going away. */
  NP_CALL(env, napi_create_array_with_length(env, 2, &arr));
  NP_CALL(env, napi_create_int32(env, a, &v));
  NP_CALL(env, napi_set_element(env, arr, 0, v));
  NP_CALL(env, napi_create_int32(env, b, &v));
  NP_CALL(env, napi_set_element(env, arr, 1, v));
  return arr;
}

/* connect(2) or bind(2) on (fd, path). */
static napi_value path_call(napi_env env, napi_callback_info info, bool is_connect) {
  napi_value argv[2];
  struct sockaddr_un sun;
  socklen_t len = 0;
  int err, rc;
  if (!np_args(env, info, 2, argv)) return NULL;
  NP_FD_ARG(0, fd);
  if (!path_arg(env, argv[1], &sun, &len, &err)) return NULL;
  if (err < 0) return np_num(env, err);
  if (!is_connect) return np_num(env, bind(fd, (struct sockaddr*)&sun, len) == 0 ? 0 : -errno);
  rc = connect(fd, (struct sockaddr*)&sun, len);
  if (rc == 0) return np_num(env, 0);
  /* An interrupted connect goes on in the background, as for TCP. */
  return np_num(env, errno == EINTR ? -EINPROGRESS : -errno);
}

static napi_value js_unix_connect(napi_env env, napi_callback_info info) {
  return path_call(env, info, true);
}

static napi_value js_unix_bind(napi_env env, napi_callback_info info) {
  return path_call(env, info, false);
}

/* getsockname or getpeername on (fd): the path, or -errno. */
static napi_value name_call(napi_env env, napi_callback_info info, bool peer) {
  napi_value argv[1];
  struct sockaddr_un sun;
  socklen_t len = sizeof sun;
  if (!np_args(env, info, 1, argv)) return NULL;
  NP_FD_ARG(0, fd);
  memset(&sun, 0, sizeof sun);
  int rc = peer ? getpeername(fd, (struct sockaddr*)&sun, &len) : getsockname(fd, (struct sockaddr*)&sun, &len);
  if (rc < 0) return np_num(env, -errno);
  if (sun.sun_family != AF_UNIX && len > offsetof(struct sockaddr_un, sun_path)) return np_num(env, -EAFNOSUPPORT);
  return path_value(env, &sun, len);
}

static napi_value js_unix_local_path(napi_env env, napi_callback_info info) {
  return name_call(env, info, false);
}

static napi_value js_unix_peer_path(napi_env env, napi_callback_info info) {
  return name_call(env, info, true);
}

/* [pid, uid, gid] of the peer when it connected (or made the pair), or -errno. */
static napi_value js_peer_cred(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t pid, uid, gid;
  if (!np_args(env, info, 1, argv)) return NULL;
  NP_FD_ARG(0, fd);
#if defined(SO_PEERCRED) && defined(__linux__)
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return np_num(env, -errno);
  pid = cred.pid;
  uid = cred.uid;
  gid = cred.gid;
#elif defined(__APPLE__) || defined(__FreeBSD__)
  uid_t u;
  gid_t g;
  if (getpeereid(fd, &u, &g) < 0) return np_num(env, -errno);
  uid = u;
  gid = g;
  pid = -1;
#ifdef LOCAL_PEERPID
  pid_t p;
  socklen_t plen = sizeof p;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &p, &plen) == 0) pid = p;
#endif
#else
  return np_num(env, -ENOSYS);
#endif
  napi_value arr;
  NP_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NP_CALL(env, napi_set_element(env, arr, 0, np_num(env, pid)));
  NP_CALL(env, napi_set_element(env, arr, 1, np_num(env, uid)));
  NP_CALL(env, napi_set_element(env, arr, 2, np_num(env, gid)));
  return arr;
}

bool np_unix_init(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      {"unixSocket", NULL, js_unix_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixPair", NULL, js_unix_pair, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixConnect", NULL, js_unix_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixBind", NULL, js_unix_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixLocalPath", NULL, js_unix_local_path, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixPeerPath", NULL, js_unix_peer_path, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerCred", NULL, js_peer_cred, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_status s = napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  if (s != napi_ok) np_throw_status(env, s);
  return s == napi_ok;
}
