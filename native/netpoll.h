/*
 * Shared declarations of the effect-netpoll addon.
 *
 * Conventions (the contract is src/internal/native.ts):
 * - a syscall failure is returned to JS as -errno, never thrown;
 * - a JS argument of the wrong type (or a buffer range outside its array) throws
 *   a TypeError / RangeError, and the C function returns NULL with it pending;
 * - no mutable globals: all state hangs off a poller, and each poller registers
 *   its own environment cleanup hook, so worker threads are independent.
 */
#ifndef NETPOLL_H
#define NETPOLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>
#include <sys/socket.h>

/* Readiness bits delivered in poll batches (READABLE / WRITABLE / HANGUP in
 * native.ts). HANGUP: the peer shut down, an error is pending, or urgent data
 * arrived (recv stops short at its mark): from now on a short transfer no
 * longer means an empty buffer. */
#define NP_READABLE 1
#define NP_WRITABLE 2
#define NP_HANGUP 4

/* The batch ends with control words shared with JS (native.ts): IN_CALLBACK is
 * set by the epoll poller while its callback runs; PARKED is JS's count of
 * parked fibers, which decides uv_ref / uv_unref once the callback is over. */
#define NP_CONTROL_WORDS 2
#define NP_CTL_IN_CALLBACK 0
#define NP_CTL_PARKED 1

/* Exports registration, one per file. Return false with an exception pending. */
bool np_sockets_init(napi_env env, napi_value exports);
bool np_poller_init(napi_env env, napi_value exports);
bool np_unix_init(napi_env env, napi_value exports);
bool np_datagram_init(napi_env env, napi_value exports);

/* Argument helpers (module.c). Each returns false with a JS exception pending. */
bool np_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv);
/* A Number that is a safe integer (|x| <= 2^53 - 1), else TypeError. */
bool np_int(napi_env env, napi_value v, const char* what, int64_t* out);
/* A boolean, else TypeError. */
bool np_bool(napi_env env, napi_value v, const char* what, bool* out);
/* A Uint8Array and an in-range [offset, offset + length) of it (TypeError / RangeError). */
bool np_bytes(napi_env env, napi_value buf, napi_value off, napi_value len,
              uint8_t** data, size_t* n);
/* Throws a generic Error for a failed napi_* call unless an exception is already pending. */
void np_throw_status(napi_env env, napi_status status);

/* Wraps a result (fd, byte count, 0 or -errno) as a JS number; NULL on failure. */
napi_value np_num(napi_env env, int64_t v);

/* IP addresses (sockets.c), shared by the socket files. (family 4|6, ip, port)
 * to a sockaddr: 0 or -errno. */
int np_make_addr(int64_t family, const char* ip, int64_t port, struct sockaddr_storage* ss,
                 socklen_t* len);
/* Reads (family, ip, port) from argv[1..3]: false with an exception pending on a
 * wrong JS type, else *err is 0 or -errno. */
bool np_addr_args(napi_env env, napi_value* argv, struct sockaddr_storage* ss, socklen_t* len,
                  int* err);
/* [4|6, ip, port] for a sockaddr, or -EAFNOSUPPORT (a number) for another family. */
napi_value np_addr_value(napi_env env, const struct sockaddr_storage* ss);

/* fd arguments: negative (or beyond int) fds map to -EBADF, never to a syscall. */
static inline bool np_fd_ok(int64_t fd) { return fd >= 0 && fd <= INT32_MAX; }

/* Reads argv[i] as an fd named `name`; a negative one makes the function return -EBADF. */
#define NP_FD_ARG(i, name)                                                     \
  int64_t name##_;                                                             \
  if (!np_int(env, argv[i], "fd", &name##_)) return NULL;                      \
  if (!np_fd_ok(name##_)) return np_num(env, -EBADF);                          \
  int name = (int)name##_

/* The flags that make socket(2), socketpair(2) and accept4(2) return a
 * nonblocking, close-on-exec fd, where the system has them (0 elsewhere). */
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC) && (defined(__linux__) || defined(__FreeBSD__))
#define NP_SOCK_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
/* A separate 0/1 switch for #if: glibc defines SOCK_NONBLOCK as an enum
 * constant, which the preprocessor reads as 0 in `#if NP_SOCK_FLAGS == 0`. */
#define NP_HAVE_SOCK_FLAGS 1
#else
#define NP_SOCK_FLAGS 0
#define NP_HAVE_SOCK_FLAGS 0
#endif

/* Makes a new fd nonblocking and close-on-exec (and SIGPIPE-free where
 * SO_NOSIGPIPE exists) when NP_SOCK_FLAGS could not; on failure closes it
 * (nobody else has it yet). Returns fd or -errno (sockets.c). */
int np_own_fd(int fd);

/* socket(family 4 or 6 from argv[0], type | NP_SOCK_FLAGS) made ours (np_own_fd): the fd, or
 * -EAFNOSUPPORT for another family, or -errno (sockets.c). */
napi_value np_inet_socket(napi_env env, napi_callback_info info, int type);

/* Evaluates a napi_* call; on failure throws (if nothing is pending) and returns NULL. */
#define NP_CALL(env, call)                                                     \
  do {                                                                         \
    napi_status np_status_ = (call);                                           \
    if (np_status_ != napi_ok) {                                               \
      np_throw_status((env), np_status_);                                      \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

#endif
