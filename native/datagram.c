/*
 * UDP syscalls, one JS function each, no policy (the rules are in
 * src/core/datagram.ts). bind, connect, close, localAddress, peerAddress and
 * the reuse/v6-only options are sockets.c's, which work on any socket.
 *
 * Ownership: the fd returned by udpSocket belongs to the caller (TypeScript),
 * which closes it once, after deregistering it from its poller. EINTR is
 * retried inside each call. Results reach JS without an allocation per byte:
 * counts and flags go into an Int32Array the caller passes in and reuses, the
 * sender's IP (one string, which its address needs anyway) into a JS array.
 *
 * Batches (sendmmsg / recvmmsg) take at most NP_MAX_BATCH datagrams per call;
 * their headers live on the heap, sized by the batch, so that a worker's
 * smaller stack is never at risk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "netpoll.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#if !defined(__linux__)
/* Elsewhere there is no sendmmsg / recvmmsg: one syscall per datagram, with
 * the same results (the count moved before the first failure). */
struct mmsghdr {
  struct msghdr msg_hdr;
  unsigned int msg_len;
};

static int sendmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags) {
  unsigned int i;
  for (i = 0; i < n; i++) {
    ssize_t r = sendmsg(fd, &v[i].msg_hdr, flags);
    if (r < 0) return i > 0 ? (int)i : -1;
    v[i].msg_len = (unsigned int)r;
  }
  return (int)n;
}

static int recvmmsg(int fd, struct mmsghdr* v, unsigned int n, int flags, void* timeout) {
  unsigned int i;
  (void)timeout;
  for (i = 0; i < n; i++) {
    ssize_t r = recvmsg(fd, &v[i].msg_hdr, flags);
    if (r < 0) return i > 0 ? (int)i : -1;
    v[i].msg_len = (unsigned int)r;
  }
  return (int)n;
}
#endif

/* Most datagrams one sendMany / recvMany call moves (Linux's UIO_MAXIOV). */
#define NP_MAX_BATCH 1024

/* Per received datagram in a recvMany meta array: bytes, truncated, family, port. */
#define NP_META_STRIDE 4

#define FD_ARG NP_FD_ARG

static napi_value js_udp_socket(napi_env env, napi_callback_info info) {
  return np_inet_socket(env, info, SOCK_DGRAM);
}

/* sendTo(fd, buf, offset, length, family, ip, port): the count, or -errno. */
static napi_value js_udp_send_to(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  uint8_t* data;
  size_t n;
  struct sockaddr_storage ss;
  socklen_t len = 0;
  int err;
  ssize_t r;
  if (!np_args(env, info, 7, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bytes(env, argv[1], argv[2], argv[3], &data, &n)) return NULL;
  /* np_addr_args reads argv[1..3]: family, ip and port are argv[4..6]. */
  if (!np_addr_args(env, argv + 3, &ss, &len, &err)) return NULL;
  if (err < 0) return np_num(env, err);
  do r = sendto(fd, data, n, MSG_NOSIGNAL, (struct sockaddr*)&ss, len);
  while (r < 0 && errno == EINTR);
  return np_num(env, r < 0 ? -errno : (int64_t)r);
}

/* An Int32Array argument of at least `min` elements, else TypeError / RangeError. */
static bool int32s(napi_env env, napi_value v, const char* what, size_t min, int32_t** out,
                   size_t* length) {
  bool is_ta = false;
  napi_typedarray_type type;
  void* base;
  char msg[96];
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, length, &base, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    snprintf(msg, sizeof msg, "%s must be an Int32Array", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  if (*length < min) {
    snprintf(msg, sizeof msg, "%s is too short", what);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = (int32_t*)base;
  return true;
}

/* Whether v is a JS array (then the senders' IPs go into it), false for null/undefined. */
static bool optional_array(napi_env env, napi_value v, bool* present) {
  napi_valuetype t;
  bool is_array = false;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_null || t == napi_undefined) {
    *present = false;
    return true;
  }
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "from must be an array, null or undefined");
    return false;
  }
  *present = true;
  return true;
}

/* Writes a sender's family and port into meta[0..1] and its IP into from[index]. */
static bool sender(napi_env env, const struct sockaddr_storage* ss, int32_t* meta, napi_value from,
                   uint32_t index) {
  napi_value tuple, ip, v;
  uint32_t family = 0, port = 0;
  if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) {
    /* No address (never for UDP over IP): family 0, an empty IP. */
    meta[0] = 0;
    meta[1] = 0;
    if (napi_create_string_utf8(env, "", 0, &ip) != napi_ok) return false;
    return napi_set_element(env, from, index, ip) == napi_ok;
  }
  tuple = np_addr_value(env, ss);
  if (tuple == NULL) return false;
  if (napi_get_element(env, tuple, 0, &v) != napi_ok ||
      napi_get_value_uint32(env, v, &family) != napi_ok ||
      napi_get_element(env, tuple, 2, &v) != napi_ok ||
      napi_get_value_uint32(env, v, &port) != napi_ok ||
      napi_get_element(env, tuple, 1, &ip) != napi_ok)
    return false;
  meta[0] = (int32_t)family;
  meta[1] = (int32_t)port;
  return napi_set_element(env, from, index, ip) == napi_ok;
}

/*
 * recvFrom(fd, buf, offset, length, meta, from): one datagram into
 * buf[offset, offset + length). Returns its count (what was copied), or -errno.
 * meta[0] = 1 when the datagram was longer than the range (MSG_TRUNC: the rest
 * is gone), meta[1] = the sender's family, meta[2] its port; from[0] = its IP,
 * when from is an array (a connected socket's caller passes null).
 */
static napi_value js_udp_recv_from(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint8_t* data;
  size_t n, metalen;
  int32_t* meta;
  bool want_from;
  struct sockaddr_storage ss;
  struct iovec iov;
  struct msghdr msg;
  ssize_t r;
  if (!np_args(env, info, 6, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_bytes(env, argv[1], argv[2], argv[3], &data, &n)) return NULL;
  if (!int32s(env, argv[4], "meta", 3, &meta, &metalen)) return NULL;
  if (!optional_array(env, argv[5], &want_from)) return NULL;
  memset(&msg, 0, sizeof msg);
  memset(&ss, 0, sizeof ss);
  iov.iov_base = data;
  iov.iov_len = n;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (want_from) {
    msg.msg_name = &ss;
    msg.msg_namelen = sizeof ss;
  }
  do r = recvmsg(fd, &msg, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return np_num(env, -errno);
  meta[0] = (msg.msg_flags & MSG_TRUNC) != 0;
  meta[1] = 0;
  meta[2] = 0;
  if (want_from && !sender(env, &ss, meta + 1, argv[5], 0)) {
    np_throw_status(env, napi_generic_failure);
    return NULL;
  }
  return np_num(env, (int64_t)r);
}

/* The Uint8Array at index i of an array (TypeError for anything else). */
static bool element_bytes(napi_env env, napi_value array, uint32_t i, const char* what,
                          uint8_t** data, size_t* n) {
  napi_value element;
  bool is_ta = false;
  napi_typedarray_type type;
  void* base;
  char msg[96];
  if (napi_get_element(env, array, i, &element) != napi_ok ||
      napi_is_typedarray(env, element, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, element, &type, n, &base, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    snprintf(msg, sizeof msg, "%s must be an array of Uint8Array", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  *data = *n == 0 ? NULL : (uint8_t*)base;
  return true;
}

/* An array argument's length, capped at NP_MAX_BATCH; TypeError for a non-array. */
static bool batch_length(napi_env env, napi_value v, const char* what, uint32_t* n) {
  bool is_array = false;
  char msg[96];
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, v, n) != napi_ok) {
    snprintf(msg, sizeof msg, "%s must be an array", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  if (*n > NP_MAX_BATCH) *n = NP_MAX_BATCH;
  return true;
}

/* The headers of one batch, on the heap (see the top of the file). */
struct batch {
  struct mmsghdr* msgs;
  struct iovec* iov;
  struct sockaddr_storage* addrs;
};

static bool batch_alloc(napi_env env, struct batch* b, uint32_t n) {
  b->msgs = calloc(n ? n : 1, sizeof *b->msgs);
  b->iov = calloc(n ? n : 1, sizeof *b->iov);
  b->addrs = calloc(n ? n : 1, sizeof *b->addrs);
  if (b->msgs && b->iov && b->addrs) return true;
  free(b->msgs);
  free(b->iov);
  free(b->addrs);
  napi_throw_error(env, NULL, "effect-netpoll: out of memory for a datagram batch");
  return false;
}

static void batch_free(struct batch* b) {
  free(b->msgs);
  free(b->iov);
  free(b->addrs);
}

/*
 * sendMany(fd, payloads, targets): sendmmsg of payloads[i] to targets[i], a
 * [family, ip, port] array, or undefined for a connected socket's peer
 * (targets itself may be undefined: every payload goes to the peer). Returns
 * how many datagrams were sent (from the first on), or -errno when the first
 * could not be (EAGAIN: none was). A target that is no address is -EINVAL
 * before anything is sent.
 */
static napi_value js_udp_send_many(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t n, i;
  bool have_targets;
  struct batch b;
  int r;
  if (!np_args(env, info, 3, argv)) return NULL;
  FD_ARG(0, fd);
  if (!batch_length(env, argv[1], "payloads", &n)) return NULL;
  if (!optional_array(env, argv[2], &have_targets)) return NULL;
  if (n == 0) return np_num(env, 0);
  if (!batch_alloc(env, &b, n)) return NULL;
  int err = 0;
  napi_value prev = NULL;
  for (i = 0; i < n; i++) {
    uint8_t* data;
    size_t len;
    if (!element_bytes(env, argv[1], i, "payloads", &data, &len)) goto thrown;
    b.iov[i].iov_base = data;
    b.iov[i].iov_len = len;
    b.msgs[i].msg_hdr.msg_iov = &b.iov[i];
    b.msgs[i].msg_hdr.msg_iovlen = 1;
    if (!have_targets) continue;
    napi_value target;
    napi_valuetype t;
    if (napi_get_element(env, argv[2], i, &target) != napi_ok ||
        napi_typeof(env, target, &t) != napi_ok)
      goto thrown;
    if (t == napi_undefined || t == napi_null) {
      prev = NULL;
      continue;
    }
    /* The same target object as the datagram before (a batch to one peer): parsed once. */
    bool same = false;
    if (i > 0 && prev != NULL && napi_strict_equals(env, target, prev, &same) == napi_ok && same) {
      b.addrs[i] = b.addrs[i - 1];
      b.msgs[i].msg_hdr.msg_name = &b.addrs[i];
      b.msgs[i].msg_hdr.msg_namelen = b.msgs[i - 1].msg_hdr.msg_namelen;
      continue;
    }
    prev = target;
    bool is_array = false;
    if (napi_is_array(env, target, &is_array) != napi_ok || !is_array) {
      napi_throw_type_error(env, NULL, "targets must hold [family, ip, port] arrays");
      goto thrown;
    }
    /* np_addr_args reads argv[1..3]: a slot before the tuple's three. */
    napi_value tuple[4];
    tuple[0] = target;
    for (uint32_t k = 0; k < 3; k++)
      if (napi_get_element(env, target, k, &tuple[k + 1]) != napi_ok) goto thrown;
    socklen_t alen = 0;
    if (!np_addr_args(env, tuple, &b.addrs[i], &alen, &err)) goto thrown;
    if (err < 0) break;
    b.msgs[i].msg_hdr.msg_name = &b.addrs[i];
    b.msgs[i].msg_hdr.msg_namelen = alen;
  }
  if (err < 0) {
    batch_free(&b);
    return np_num(env, err);
  }
  do r = sendmmsg(fd, b.msgs, n, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  err = r < 0 ? -errno : r;
  batch_free(&b);
  return np_num(env, err);
thrown:
  batch_free(&b);
  return NULL;
}

/*
 * recvMany(fd, bufs, meta, from): recvmmsg of up to bufs.length datagrams,
 * datagram i into bufs[i]. Returns how many arrived (1 or more), or -errno
 * (EAGAIN: none was waiting). For datagram i, meta[4i..4i+3] = its count, 1
 * when it was truncated, the sender's family and port; from[i] = its IP when
 * from is an array. meta must hold 4 ints per buffer.
 */
static napi_value js_udp_recv_many(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t n, i;
  int32_t* meta;
  size_t metalen;
  bool want_from;
  struct batch b;
  int r;
  if (!np_args(env, info, 4, argv)) return NULL;
  FD_ARG(0, fd);
  if (!batch_length(env, argv[1], "bufs", &n)) return NULL;
  if (!int32s(env, argv[2], "meta", (size_t)n * NP_META_STRIDE, &meta, &metalen)) return NULL;
  if (!optional_array(env, argv[3], &want_from)) return NULL;
  if (n == 0) return np_num(env, 0);
  if (!batch_alloc(env, &b, n)) return NULL;
  for (i = 0; i < n; i++) {
    uint8_t* data;
    size_t len;
    if (!element_bytes(env, argv[1], i, "bufs", &data, &len)) {
      batch_free(&b);
      return NULL;
    }
    b.iov[i].iov_base = data;
    b.iov[i].iov_len = len;
    b.msgs[i].msg_hdr.msg_iov = &b.iov[i];
    b.msgs[i].msg_hdr.msg_iovlen = 1;
    if (want_from) {
      b.msgs[i].msg_hdr.msg_name = &b.addrs[i];
      b.msgs[i].msg_hdr.msg_namelen = sizeof b.addrs[i];
    }
  }
  do r = recvmmsg(fd, b.msgs, n, 0, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = -errno;
    batch_free(&b);
    return np_num(env, err);
  }
  for (i = 0; i < (uint32_t)r; i++) {
    int32_t* m = meta + (size_t)i * NP_META_STRIDE;
    m[0] = (int32_t)b.msgs[i].msg_len;
    m[1] = (b.msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    m[2] = 0;
    m[3] = 0;
    if (want_from && !sender(env, &b.addrs[i], m + 2, argv[3], i)) {
      batch_free(&b);
      np_throw_status(env, napi_generic_failure);
      return NULL;
    }
  }
  batch_free(&b);
  return np_num(env, r);
}

/*
 * The int options, by number (src/core/datagram.ts names them):
 * 0 SO_BROADCAST, 1 IP_TTL, 2 IPV6_UNICAST_HOPS, 3 IP_MULTICAST_TTL,
 * 4 IPV6_MULTICAST_HOPS, 5 IP_MULTICAST_LOOP, 6 IPV6_MULTICAST_LOOP,
 * 7 SO_RCVBUF, 8 SO_SNDBUF. False for an unknown number.
 */
static bool option(int64_t which, int* level, int* name) {
  static const int table[][2] = {
      {SOL_SOCKET, SO_BROADCAST},         {IPPROTO_IP, IP_TTL},
      {IPPROTO_IPV6, IPV6_UNICAST_HOPS},  {IPPROTO_IP, IP_MULTICAST_TTL},
      {IPPROTO_IPV6, IPV6_MULTICAST_HOPS}, {IPPROTO_IP, IP_MULTICAST_LOOP},
      {IPPROTO_IPV6, IPV6_MULTICAST_LOOP}, {SOL_SOCKET, SO_RCVBUF},
      {SOL_SOCKET, SO_SNDBUF},
  };
  if (which < 0 || which >= (int64_t)(sizeof table / sizeof table[0])) return false;
  *level = table[which][0];
  *name = table[which][1];
  return true;
}

/* getOption(fd, which): the option's value (0 or more), or -errno. */
static napi_value js_udp_get_option(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t which;
  int level, name, v = 0;
  socklen_t len = sizeof v;
  if (!np_args(env, info, 2, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_int(env, argv[1], "option", &which)) return NULL;
  if (!option(which, &level, &name)) return np_num(env, -ENOPROTOOPT);
  if (getsockopt(fd, level, name, &v, &len) < 0) return np_num(env, -errno);
  return np_num(env, v);
}

/* setOption(fd, which, value): 0 or -errno. */
static napi_value js_udp_set_option(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t which, value;
  int level, name;
  if (!np_args(env, info, 3, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_int(env, argv[1], "option", &which) || !np_int(env, argv[2], "value", &value))
    return NULL;
  if (!option(which, &level, &name)) return np_num(env, -ENOPROTOOPT);
  if (value < INT32_MIN || value > INT32_MAX) return np_num(env, -EINVAL);
  int v = (int)value;
  return np_num(env, setsockopt(fd, level, name, &v, sizeof v) == 0 ? 0 : -errno);
}

/* A JS string into buf (EINVAL: too long or with a NUL), or a TypeError. */
static bool short_string(napi_env env, napi_value v, const char* what, char* buf, size_t size,
                         int* err) {
  napi_valuetype t;
  size_t n = 0;
  char msg[64];
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n >= size ||
      napi_get_value_string_utf8(env, v, buf, size, &n) != napi_ok || strlen(buf) != n)
    *err = -EINVAL;
  return true;
}

/*
 * membership(fd, family, join, group, iface): IP_ADD/DROP_MEMBERSHIP (iface: a
 * local IPv4 address, "" for the system's choice) or IPV6_JOIN/LEAVE_GROUP
 * (iface: an interface name or index, "" for the system's choice). 0 or -errno.
 */
static napi_value js_udp_membership(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int64_t family;
  bool join;
  char group[INET6_ADDRSTRLEN + 1], iface[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int err = 0;
  if (!np_args(env, info, 5, argv)) return NULL;
  FD_ARG(0, fd);
  if (!np_int(env, argv[1], "family", &family) || !np_bool(env, argv[2], "join", &join) ||
      !short_string(env, argv[3], "group", group, sizeof group, &err) ||
      !short_string(env, argv[4], "iface", iface, sizeof iface, &err))
    return NULL;
  if (err < 0) return np_num(env, err);
  if (family == 4) {
    struct ip_mreq m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) return np_num(env, -EINVAL);
    if (iface[0] == '\0') m.imr_interface.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, iface, &m.imr_interface) != 1) return np_num(env, -EINVAL);
    int r = setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m);
    return np_num(env, r == 0 ? 0 : -errno);
  }
  if (family != 6) return np_num(env, -EAFNOSUPPORT);
  struct ipv6_mreq m;
  memset(&m, 0, sizeof m);
  if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1) return np_num(env, -EINVAL);
  if (iface[0] >= '0' && iface[0] <= '9') {
    char* end;
    errno = 0;
    unsigned long idx = strtoul(iface, &end, 10);
    if (errno || *end != '\0' || idx > UINT32_MAX) return np_num(env, -EINVAL);
    m.ipv6mr_interface = (unsigned)idx;
  } else if (iface[0] != '\0') {
    m.ipv6mr_interface = if_nametoindex(iface);
    if (m.ipv6mr_interface == 0) return np_num(env, -ENODEV);
  }
  int r = setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m, sizeof m);
  return np_num(env, r == 0 ? 0 : -errno);
}

/* disconnect(fd): connect(AF_UNSPEC) dissolves a UDP socket's association. 0 or -errno. */
static napi_value js_udp_disconnect(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct sockaddr sa;
  if (!np_args(env, info, 1, argv)) return NULL;
  FD_ARG(0, fd);
  memset(&sa, 0, sizeof sa);
  sa.sa_family = AF_UNSPEC;
  if (connect(fd, &sa, sizeof sa) == 0) return np_num(env, 0);
  /* Some kernels (BSD) report an unconnected socket's dissolve as EAFNOSUPPORT: done all the same. */
  return np_num(env, errno == EAFNOSUPPORT ? 0 : -errno);
}

bool np_datagram_init(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      {"udpSocket", NULL, js_udp_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSendTo", NULL, js_udp_send_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpRecvFrom", NULL, js_udp_recv_from, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSendMany", NULL, js_udp_send_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpRecvMany", NULL, js_udp_recv_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpGetOption", NULL, js_udp_get_option, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSetOption", NULL, js_udp_set_option, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpMembership", NULL, js_udp_membership, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpDisconnect", NULL, js_udp_disconnect, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_status s =
      napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  if (s != napi_ok) np_throw_status(env, s);
  return s == napi_ok;
}
