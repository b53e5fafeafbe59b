/*
 * Socket syscalls, one JS function each, no policy.
 *
 * Ownership: every fd returned here (socket, accept, dup) belongs to the caller
 * (TypeScript), which closes it exactly once with close(), after deregistering
 * it from any poller. EINTR is retried inside each call, except for connect
 * (the attempt continues asynchronously, so it is reported as -EINPROGRESS) and
 * close (Linux releases the fd even when interrupted; retrying could close a
 * reused fd, so it is reported as success).
 *
 * Addresses: family 4 or 6 (-EAFNOSUPPORT otherwise), port 0..65535 (-EINVAL),
 * ip parsed by inet_pton (-EINVAL). An IPv6 ip may carry a scope, "fe80::1%eth0"
 * or "fe80::1%2" (an unknown interface is -EINVAL); localAddress/peerAddress
 * append "%<ifname>" (or "%<index>") when the sockaddr has a nonzero scope id.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "netpoll.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* elsewhere: SO_NOSIGPIPE is set at socket creation */
#endif

#define FD_ARG NP_FD_ARG

int np_own_fd(int fd) {
#if !NP_HAVE_SOCK_FLAGS
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
#endif
  return fd;
}

/* Builds a sockaddr from (family, ip, port); 0 or -errno. */
static int make_addr(int64_t family, const char* ip, int64_t port,
                     struct sockaddr_storage* ss, socklen_t* len) {
  memset(ss, 0, sizeof *ss);
  if (family != 4 && family != 6) return -EAFNOSUPPORT;
  if (port < 0 || port > 65535) return -EINVAL;
  if (family == 4) {
    struct sockaddr_in* sin = (struct sockaddr_in*)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) return -EINVAL;
    *len = sizeof *sin;
    return 0;
  }
  struct sockaddr_in6* sin6 = (struct sockaddr_in6*)ss;
  char host[INET6_ADDRSTRLEN];
  const char* pct = strchr(ip, '%');
  size_t hlen = pct ? (size_t)(pct - ip) : strlen(ip);
  if (hlen >= sizeof host) return -EINVAL;
  memcpy(host, ip, hlen);
  host[hlen] = '\0';
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons((uint16_t)port);
  if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) return -EINVAL;
  if (pct) {
    const char* scope = pct + 1;
    char* end;
    if (*scope == '\0') return -EINVAL;
    if (*scope >= '0' && *scope <= '9') {
      errno = 0;
      unsigned long idx = strtoul(scope, &end, 10);
      if (errno || *end != '\0' || idx > UINT32_MAX) return -EINVAL;
      sin6->sin6_scope_id = (uint32_t)idx;
    } else {
      unsigned idx = if_nametoindex(scope);
      if (idx == 0) return -EINVAL;
      sin6->sin6_scope_id = idx;
    }
  }
  *len = sizeof *sin6;
  return 0;
}

/* Reads (family, ip, port) from argv[1..3]; false with an exception pending on a
 * wrong JS type, else *err is 0 or -errno. */
static bool addr_args(napi_env env, napi_value* argv, struct sockaddr_storage* ss,
                      socklen_t* len, int* err) {
  int64_t family, port;
  char ip[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t iplen = 0;
  napi_valuetype t;
  if (!np_int(env, argv[1], "family", &family)) return false;
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, NULL, "ip must be a string");
    return false;
  }
  if (!np_int(env, argv[3], "port", &port)) return false;
  if (napi_get_value_string_utf8(env, argv[2], NULL, 0, &iplen) != napi_ok ||
      iplen >= sizeof ip) {
    *err = -EINVAL;
    return true;
  }
  if (napi_get_value_string_utf8(env, argv[2], ip, sizeof ip, &iplen) != napi_ok ||
      strlen(ip) != iplen) { /* embedded NUL */
    *err = -EINVAL;
    return true;
  }
  *err = make_addr(family, ip, port, ss, len);
  return true;
}

/* [4|6, ip, port] for a sockaddr, or -EAFNOSUPPORT for another family. */
static napi_value addr_value(napi_env env, const struct sockaddr_storage* ss) {
  char ip[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int family, port;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in* sin = (const struct sockaddr_in*)ss;
    if (!inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip)) return np_num(env, -errno);
    family = 4;
    port = ntohs(sin->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6* sin6 = (const struct sockaddr_in6*)ss;
    if (!inet_ntop(AF_INET6, &sin6->sin6_addr, ip, INET6_ADDRSTRLEN)) return np_num(env, -errno);
    if (sin6->sin6_scope_id != 0) {
      char name[IF_NAMESIZE];
      size_t n = strlen(ip);
      if (if_indextoname(sin6->sin6_scope_id, name))
        snprintf(ip + n, sizeof ip - n, "%%%s", name);
      else
        snprintf(ip + n, sizeof ip - n, "%%%u", (unsigned)sin6->sin6_scope_id);
    }
    family = 6;
    port = ntohs(sin6->sin6_port);
  } else {
    return np_num(env, -EAFNOSUPPORT);
  }
  napi_value arr, v;
  NP_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NP_CALL(env, napi_create_int32(env, family, &v));
  NP_CALL(env, napi_set_element(env, arr, 0, v));
  NP_CALL(env, napi_create_string_utf8(env, ip, NAPI_AUTO_LENGTH, &v));
  NP_CALL(env, napi_set_element(env, arr, 1, v));
  NP_CALL(env, napi_create_int32(env, port, &v));
  NP_CALL(env, napi_set_element(env, arr, 2, v));
  return arr;
}

napi_value np_inet_socket(napi_env env, napi_callback_info info, int type) {
  napi_value argv[1];
  int64_t family;
  if (!np_args(env, info, 1, argv) || !np_int(env, argv[0], "family", &family)) return NULL;
  if (family != 4 && family != 6) return np_num(env, -EAFNOSUPPORT);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, type | NP_SOCK_FLAGS, 0);
  if (fd < 0) return np_num(env, -errno);
  return np_num(env, np_own_fd(fd));
}

static napi_value js_socket(napi_env env, napi_callback_info info) {
  return np_inet_socket(env, info, SOCK_STREAM);
}

/* connect(2) or bind(2) on (fd, family, ip, port). */
static napi_value addr_call(napi_env env, napi_callback_info info,
                            int (*op)(int, const struct sockaddr*, socklen_t)) {
  napi_value argv[4];
  struct sockaddr_storage ss;
  socklen_t len = 0;
  int err;
  if (!np_args(env, info, 4, argv)) return NULL;
  FD_ARG(0, fd);
  if (!addr_args(env, argv, &ss, &len, &err)) return NULL;
  if (err < 0) return np_num(env, err);
  if (op(fd, (struct sockaddr*)&ss, len) == 0) return np_num(env, 0);
  /* An interrupted connect goes on in the background (a retry would give EALREADY). */
  return np_num(env, op == connect && errno == EINTR ? -EINPROGRESS : -errno);
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  return addr_call(env, info, connect);
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
  return addr_call(env, info, bind);
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t backlog;
  if (!np_args(env, info, 2, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_int(env, argv[1], "backlog", &backlog)) return NULL;
  if (backlog < INT32_MIN || backlog > INT32_MAX) return np_num(env, -EINVAL);
  return np_num(env, listen(fd, (int)backlog) == 0 ? 0 : -errno);
}

static napi_value js_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int c;
  if (!np_args(env, info, 1, argv)) return NULL;
  FD_ARG(0, fd);
#if defined(__linux__) || defined(__FreeBSD__)
  do c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (c < 0 && errno == EINTR);
  if (c < 0) return np_num(env, -errno);
#else
  do c = accept(fd, NULL, NULL);
  while (c < 0 && errno == EINTR);
  if (c < 0) return np_num(env, -errno);
  c = np_own_fd(c);
#endif
  return np_num(env, c);
}

static napi_value js_read(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t* data;
  size_t n;
  ssize_t r;
  if (!np_args(env, info, 4, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bytes(env, argv[1], argv[2], argv[3], &data, &n)) return NULL;
  do r = recv(fd, data, n, 0);
  while (r < 0 && errno == EINTR);
  return np_num(env, r < 0 ? -errno : (int64_t)r);
}

/*
 * (fd, buf, offset, length, spill): one recvmsg into buf[offset, offset + length)
 * and then into all of spill. A count below length + spill's length shows
 * the socket drained without a second recv that would only say EAGAIN; bytes
 * past length are in spill, for the caller to keep.
 */
static napi_value js_read_spill(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  struct iovec iov[2];
  struct msghdr msg;
  uint8_t* data;
  size_t n;
  napi_typedarray_type type;
  size_t spill_len;
  void* spill;
  bool is_ta = false;
  ssize_t r;
  if (!np_args(env, info, 5, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bytes(env, argv[1], argv[2], argv[3], &data, &n)) return NULL;
  if (napi_is_typedarray(env, argv[4], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[4], &type, &spill_len, &spill, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "spill must be a Uint8Array");
    return NULL;
  }
  iov[0].iov_base = data;
  iov[0].iov_len = n;
  iov[1].iov_base = spill;
  iov[1].iov_len = spill == NULL ? 0 : spill_len;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  do r = recvmsg(fd, &msg, 0);
  while (r < 0 && errno == EINTR);
  return np_num(env, r < 0 ? -errno : (int64_t)r);
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t* data;
  size_t n;
  ssize_t r;
  if (!np_args(env, info, 4, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bytes(env, argv[1], argv[2], argv[3], &data, &n)) return NULL;
  do r = send(fd, data, n, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return np_num(env, r < 0 ? -errno : (int64_t)r);
}

/* Most buffers one vectored call takes (Linux's IOV_MAX); the rest waits for the next call. */
#define NP_MAX_IOV 1024

/*
 * The iovecs of bufs[offset, offset + length), counting bytes across the
 * array's Uint8Arrays in order; at most NP_MAX_IOV of them. False with an
 * exception pending: a TypeError for an element that is not a Uint8Array, a
 * RangeError for a range past the buffers' total.
 */
static bool iovecs(napi_env env, napi_value bufs, napi_value off, napi_value len, struct iovec* iov,
                   int* count) {
  bool is_array = false;
  uint32_t n = 0;
  int64_t skip, want;
  if (napi_is_array(env, bufs, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, bufs, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "bufs must be an array of Uint8Array");
    return false;
  }
  if (!np_int(env, off, "offset", &skip) || !np_int(env, len, "length", &want)) return false;
  if (skip < 0 || want < 0) {
    napi_throw_range_error(env, NULL, "offset/length out of the buffers' range");
    return false;
  }
  int k = 0;
  for (uint32_t i = 0; i < n && want > 0 && k < NP_MAX_IOV; i++) {
    napi_value element;
    bool is_ta = false;
    napi_typedarray_type type;
    size_t length;
    void* base;
    if (napi_get_element(env, bufs, i, &element) != napi_ok ||
        napi_is_typedarray(env, element, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, element, &type, &length, &base, NULL, NULL) != napi_ok ||
        type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "bufs must be an array of Uint8Array");
      return false;
    }
    if ((uint64_t)skip >= length) {
      skip -= (int64_t)length;
      continue;
    }
    size_t take = length - (size_t)skip;
    if ((uint64_t)take > (uint64_t)want) take = (size_t)want;
    iov[k].iov_base = (uint8_t*)base + skip;
    iov[k].iov_len = take;
    k++;
    want -= (int64_t)take;
    skip = 0;
  }
  /* Bytes asked for beyond the buffers: only a caller's mistake (the array is scanned whole). */
  if (want > 0 && k < NP_MAX_IOV) {
    napi_throw_range_error(env, NULL, "offset/length out of the buffers' range");
    return false;
  }
  *count = k;
  return true;
}

/* (fd, bufs, offset, length): recvmsg scattering into, or sendmsg gathering from, bufs[offset, offset + length). */
static napi_value vectored(napi_env env, napi_callback_info info, bool send) {
  napi_value argv[4];
  struct iovec iov[NP_MAX_IOV];
  struct msghdr msg;
  int count;
  ssize_t r;
  if (!np_args(env, info, 4, argv)) return NULL;
  FD_ARG(0, fd);
  if (!iovecs(env, argv[1], argv[2], argv[3], iov, &count)) return NULL;
  if (count == 0) return np_num(env, 0);
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t)count;
  do r = send ? sendmsg(fd, &msg, MSG_NOSIGNAL) : recvmsg(fd, &msg, 0);
  while (r < 0 && errno == EINTR);
  return np_num(env, r < 0 ? -errno : (int64_t)r);
}

/* readv's scatter: the count, 0 at end of stream. */
static napi_value js_readv(napi_env env, napi_callback_info info) { return vectored(env, info, false); }

/* writev's gather, with MSG_NOSIGNAL. */
static napi_value js_writev(napi_env env, napi_callback_info info) { return vectored(env, info, true); }

static napi_value js_dup(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!np_args(env, info, 1, argv)) return NULL;
  FD_ARG(0, fd);
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return np_num(env, d < 0 ? -errno : d);
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t how;
  if (!np_args(env, info, 2, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_int(env, argv[1], "how", &how)) return NULL;
  static const int hows[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  if (how < 0 || how > 2) return np_num(env, -EINVAL);
  return np_num(env, shutdown(fd, hows[how]) == 0 ? 0 : -errno);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!np_args(env, info, 1, argv)) return NULL;
  FD_ARG(0, fd);
  if (close(fd) == 0 || errno == EINTR) return np_num(env, 0);
  return np_num(env, -errno);
}

/* getsockopt(level, name) of an int option: its value, or -errno. */
static napi_value int_opt(napi_env env, napi_callback_info info, int level, int name) {
  napi_value argv[1];
  int v = 0;
  socklen_t len = sizeof v;
  if (!np_args(env, info, 1, argv)) return NULL;
  FD_ARG(0, fd);
  if (getsockopt(fd, level, name, &v, &len) < 0) return np_num(env, -errno);
  return np_num(env, v);
}

static napi_value js_so_error(napi_env env, napi_callback_info info) {
  return int_opt(env, info, SOL_SOCKET, SO_ERROR);
}

/* TCP_NODELAY: 1 or 0 (Linux reports the flag itself). */
static napi_value js_no_delay(napi_env env, napi_callback_info info) {
  return int_opt(env, info, IPPROTO_TCP, TCP_NODELAY);
}

static napi_value sock_name(napi_env env, napi_callback_info info, bool peer) {
  napi_value argv[1];
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (!np_args(env, info, 1, argv)) return NULL;
  FD_ARG(0, fd);
  memset(&ss, 0, sizeof ss);
  int r = peer ? getpeername(fd, (struct sockaddr*)&ss, &len)
               : getsockname(fd, (struct sockaddr*)&ss, &len);
  if (r < 0) return np_num(env, -errno);
  return addr_value(env, &ss);
}

static napi_value js_local_address(napi_env env, napi_callback_info info) {
  return sock_name(env, info, false);
}

static napi_value js_peer_address(napi_env env, napi_callback_info info) {
  return sock_name(env, info, true);
}

/* setX(fd, on): an int option set to 0/1; -ENOPROTOOPT where the option does not exist. */
static napi_value bool_opt(napi_env env, napi_callback_info info, int level, int name) {
  napi_value argv[2];
  bool on;
  if (!np_args(env, info, 2, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bool(env, argv[1], "on", &on)) return NULL;
  if (name < 0) return np_num(env, -ENOPROTOOPT);
  int v = on;
  return np_num(env, setsockopt(fd, level, name, &v, sizeof v) == 0 ? 0 : -errno);
}

static napi_value js_set_no_delay(napi_env env, napi_callback_info info) {
  return bool_opt(env, info, IPPROTO_TCP, TCP_NODELAY);
}

static napi_value js_set_reuse_addr(napi_env env, napi_callback_info info) {
  return bool_opt(env, info, SOL_SOCKET, SO_REUSEADDR);
}

static napi_value js_set_reuse_port(napi_env env, napi_callback_info info) {
#ifdef SO_REUSEPORT
  return bool_opt(env, info, SOL_SOCKET, SO_REUSEPORT);
#else
  return bool_opt(env, info, SOL_SOCKET, -1);
#endif
}

static napi_value js_set_v6_only(napi_env env, napi_callback_info info) {
  return bool_opt(env, info, IPPROTO_IPV6, IPV6_V6ONLY);
}

static napi_value js_set_keep_alive(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bool on;
  int64_t idle;
  if (!np_args(env, info, 3, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bool(env, argv[1], "on", &on) || !np_int(env, argv[2], "idleSeconds", &idle))
    return NULL;
  /* The idle time goes first, so that a rejected value leaves keepalive as it was. */
  if (on && idle > 0) {
    if (idle > INT32_MAX) return np_num(env, -EINVAL);
    int secs = (int)idle;
#if defined(TCP_KEEPIDLE)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs) < 0)
      return np_num(env, -errno);
#elif defined(TCP_KEEPALIVE)
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPALIVE, &secs, sizeof secs) < 0)
      return np_num(env, -errno);
#endif
  }
  int v = on;
  return np_num(env, setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) < 0 ? -errno : 0);
}

bool np_sockets_init(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      {"socket", NULL, js_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"accept", NULL, js_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"read", NULL, js_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readSpill", NULL, js_read_spill, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readv", NULL, js_readv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writev", NULL, js_writev, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup", NULL, js_dup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"soError", NULL, js_so_error, NULL, NULL, NULL, napi_enumerable, NULL},
      {"noDelay", NULL, js_no_delay, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localAddress", NULL, js_local_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerAddress", NULL, js_peer_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setNoDelay", NULL, js_set_no_delay, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setKeepAlive", NULL, js_set_keep_alive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setReuseAddr", NULL, js_set_reuse_addr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setReusePort", NULL, js_set_reuse_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setV6Only", NULL, js_set_v6_only, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_status s =
      napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  if (s != napi_ok) np_throw_status(env, s);
  return s == napi_ok;
}

/* The address helpers above, for the other socket files (datagram.c). */
int np_make_addr(int64_t family, const char* ip, int64_t port, struct sockaddr_storage* ss,
                 socklen_t* len) {
  return make_addr(family, ip, port, ss, len);
}

bool np_addr_args(napi_env env, napi_value* argv, struct sockaddr_storage* ss, socklen_t* len,
                  int* err) {
  return addr_args(env, argv, ss, len, err);
}

napi_value np_addr_value(napi_env env, const struct sockaddr_storage* ss) {
  return addr_value(env, ss);
}
