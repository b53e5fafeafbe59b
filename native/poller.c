/*
 * Readiness pollers on the environment's libuv loop.
 *
 * Edge-triggered backend (Linux): one private epoll fd; a socket is added with
 * EPOLLET once, by pollerWatch when a fiber first waits on it (a socket whose
 * calls never wait costs no epoll_ctl); one uv_poll_t watches the epoll fd and
 * each wake-up drains it into the batch, calling onEvents(count) once per
 * filled batch.
 * Portable backend: one uv_poll_t per registered fd, started by pollerArm and
 * stopped again before each delivery (one-shot).
 *
 * Ownership and lifetime:
 * - A socket fd given to pollerAdd is the poller's until pollerDel, which
 *   deregisters it (EPOLL_CTL_DEL / uv_close, both synchronous) and closes it in
 *   the same call, so no thread exit can fall between the two. TypeScript
 *   decides when; the poller only keeps the list (`owned`), so that the end of
 *   the thread (or a poller collected without pollerClose) closes every socket
 *   still on it instead of leaking it. An fd that is not on the list is never
 *   closed here.
 * - The epoll fd belongs to the poller and is closed only in the close callback
 *   of the uv_poll_t watching it. A sentinel eventfd, registered in it and never
 *   signalled, proves it is still ours: after a close behind our back (a double
 *   close elsewhere in the process) the number may be free, or another file's.
 *   Once epoll_wait or the sentinel check fails, the poller has failed: it stops
 *   its uv_poll_t (so libuv never spins on a number that is not ours), tells JS
 *   with onEvents(-errno), refuses every later call on the epoll fd, and never
 *   closes that number or the sentinel's.
 * - An np_entry (portable) is owned by the poller's fd table until pollerDel or
 *   pollerClose, then by libuv until its close callback frees it.
 * - The np_poller is freed by settle() once it is closed, every uv_close
 *   callback has run (pending == 0) and the JS handle wrapping it has been
 *   finalized; whichever of those comes last frees it. Close callbacks never run
 *   synchronously, so p stays valid across a JS callback even if it calls
 *   pollerClose / pollerDel.
 * - After close, the napi_refs and the async context are released and JS is
 *   never called again. Each poller registers an async environment cleanup hook
 *   so that a worker's exit closes it and Node runs the loop until the close
 *   callbacks are done (the hook is removed when that happens).
 */
#include "netpoll.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

/* Most events taken from epoll per epoll_wait (the batch may be smaller). */
#define NP_MAX_PAIRS 4096

typedef struct np_poller np_poller;

typedef struct {
  uv_poll_t handle; /* handle.data points back to the entry */
  np_poller* poller;
  int32_t token;
} np_entry;

struct np_poller {
  napi_env env;
  uv_loop_t* loop;
  napi_ref on_events;
  napi_ref batch;
  napi_async_context async;
  napi_async_cleanup_hook_handle hook;
  size_t pairs;     /* batch capacity in (token, bits) pairs, taken at open */
  bool edge;
  bool closed;      /* pollerClose ran: refs released, handles closing */
  bool finished;    /* closed and every close callback has run */
  bool wrap_gone;   /* the JS handle has been finalized */
  unsigned pending; /* uv_close calls whose callbacks have not run yet */
  int failed;       /* -errno of the epoll fd's failure, 0 while it works */
  /* fds registered and not yet released (owned[fd] != 0), both backends;
   * NP_IN_EPOLL once pollerWatch has added fd to the epoll set */
  uint8_t* owned;
  size_t nowned;
  /* edge-triggered backend */
  int epfd;
  int sentinel; /* eventfd registered in epfd, -1 when none */
  uv_poll_t ep; /* initialized iff edge */
#ifdef __linux__
  struct epoll_event* evs;
#endif
  /* portable backend: registered entries indexed by fd */
  np_entry** fds;
  size_t nfds;
};

/* owned[fd]: the poller owns fd; and it is in the epoll set. */
#define NP_OWNED 1
#define NP_IN_EPOLL 2

/* Marks objects created by pollerOpen, so a foreign wrapped object is a TypeError. */
static const napi_type_tag poller_tag = {0x9f3b6a1c2d4e5f60ULL, 0x6e6574706f6c6c31ULL};

/* Frees p once nothing can reach it any more; p must not be used after this call. */
static void settle(np_poller* p) {
  if (p->closed && p->pending == 0 && !p->finished) {
    p->finished = true;
    if (p->hook != NULL) napi_remove_async_cleanup_hook(p->hook);
    p->hook = NULL;
  }
  if (p->finished && p->wrap_gone) {
#ifdef __linux__
    free(p->evs);
#endif
    free(p->fds);
    free(p->owned);
    free(p);
  }
}

static void ep_closed(uv_handle_t* h) {
  np_poller* p = h->data;
  if (p->epfd >= 0) close(p->epfd); /* no longer watched by any uv_poll_t */
  if (p->sentinel >= 0) close(p->sentinel);
  p->epfd = -1;
  p->sentinel = -1;
  p->pending--;
  settle(p);
}

static void entry_closed(uv_handle_t* h) {
  np_entry* e = h->data;
  np_poller* p = e->poller;
  free(e);
  p->pending--;
  settle(p);
}

/* Puts fd on the owned list: 0, or -errno. fcntl proves fd open before the
 * table grows for it, so a wild number never sizes the table. */
static int own(np_poller* p, int fd) {
  if ((size_t)fd >= p->nowned) {
    if (fcntl(fd, F_GETFD) < 0) return -errno;
    size_t n = p->nowned ? p->nowned : 64;
    while (n <= (size_t)fd) n *= 2;
    uint8_t* owned = realloc(p->owned, n);
    if (owned == NULL) return -ENOMEM;
    memset(owned + p->nowned, 0, n - p->nowned);
    p->owned = owned;
    p->nowned = n;
  }
  p->owned[fd] = NP_OWNED;
  return 0;
}

static bool owns(const np_poller* p, int64_t fd) {
  return fd >= 0 && (size_t)fd < p->nowned && p->owned[fd];
}

#ifdef __linux__
/* The epoll fd is no longer ours: stop watching its number, keep err for every
 * later call, and forget both numbers without closing them. */
static void poller_fail(np_poller* p, int err) {
  if (p->failed != 0) return;
  p->failed = err;
  uv_poll_stop(&p->ep);
  p->epfd = -1;
  p->sentinel = -1;
}
#endif

/* Deregisters and closes every fd still owned, and releases the JS references;
 * idempotent. The caller calls settle() afterwards. */
static void poller_close(napi_env env, np_poller* p) {
  if (p->closed) return;
  p->closed = true;
  if (p->edge) {
    uv_close((uv_handle_t*)&p->ep, ep_closed);
    p->pending++;
  }
  for (size_t i = 0; i < p->nfds; i++) {
    if (p->fds[i] == NULL) continue;
    uv_close((uv_handle_t*)&p->fds[i]->handle, entry_closed);
    p->fds[i] = NULL;
    p->pending++;
  }
  /* Deregistered above (or with the epoll fd): sockets TS never released. */
  for (size_t fd = 0; fd < p->nowned; fd++)
    if (p->owned[fd]) close((int)fd);
  if (p->owned != NULL) memset(p->owned, 0, p->nowned);
  if (p->on_events != NULL) napi_delete_reference(env, p->on_events);
  if (p->batch != NULL) napi_delete_reference(env, p->batch);
  if (p->async != NULL) napi_async_destroy(env, p->async);
  p->on_events = NULL;
  p->batch = NULL;
  p->async = NULL;
}

static void poller_finalize(napi_env env, void* data, void* hint) {
  np_poller* p = data;
  p->wrap_gone = true;
  poller_close(env, p);
  settle(p);
}

static void on_env_exit(napi_async_cleanup_hook_handle hook, void* arg) {
  np_poller* p = arg;
  poller_close(p->env, p);
  settle(p);
}

/* The batch's current memory: re-read at each wake-up (cheap), so a detached
 * buffer yields 0 pairs instead of a dangling pointer. `ctl` gets the two
 * control words at its end. Needs an open handle scope. */
static size_t batch_view(np_poller* p, int32_t** out, int32_t** ctl) {
  napi_value v;
  napi_typedarray_type type;
  size_t len;
  void* data;
  if (napi_get_reference_value(p->env, p->batch, &v) != napi_ok || v == NULL ||
      napi_get_typedarray_info(p->env, v, &type, &len, &data, NULL, NULL) != napi_ok ||
      data == NULL || len < NP_CONTROL_WORDS + 2)
    return 0;
  *out = data;
  *ctl = (int32_t*)data + len - NP_CONTROL_WORDS;
  len = (len - NP_CONTROL_WORDS) / 2;
  return len < p->pairs ? len : p->pairs;
}

/* Calls onEvents(count) through napi_make_callback, which drains the microtask
 * queue afterwards. A throw is handed to Node as an uncaught exception. Needs an
 * open handle scope; p stays valid (see the lifetime notes above). */
static void call_js(np_poller* p, int count) {
  napi_env env = p->env;
  napi_value cb = NULL, recv = NULL, arg = NULL, exc = NULL;
  if (napi_get_reference_value(env, p->on_events, &cb) != napi_ok || cb == NULL ||
      napi_get_global(env, &recv) != napi_ok || napi_create_int32(env, count, &arg) != napi_ok)
    return;
  if (napi_make_callback(env, p->async, recv, cb, 1, &arg, NULL) == napi_pending_exception &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok)
    napi_fatal_exception(env, exc);
}

#ifdef __linux__
static void ep_ready(uv_poll_t* h, int status, int events) {
  np_poller* p = h->data;
  size_t cap = p->pairs < NP_MAX_PAIRS ? p->pairs : NP_MAX_PAIRS;
  napi_handle_scope scope = NULL;
  int32_t *batch = NULL, *ctl = NULL;
  int n;
  /* status < 0 (an error on the epoll fd itself) has stopped the handle; epoll_wait says what. */
  if (p->closed || p->failed != 0 || napi_open_handle_scope(p->env, &scope) != napi_ok) return;
  size_t room = batch_view(p, &batch, &ctl);
  size_t want = room == 0 ? cap : room < cap ? room : cap; /* room 0: discard */
  /* One batch per wake-up: libuv watches the epoll fd level-triggered, so what
   * is left is taken on the next loop iteration, after timers and other I/O. */
  do n = epoll_wait(p->epfd, p->evs, (int)want, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = -errno;
    poller_fail(p, err);
    call_js(p, err);
  } else if (n > 0 && room > 0) {
    for (int i = 0; i < n; i++) {
      uint32_t ev = p->evs[i].events;
      int bits = 0;
      if (ev & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) bits |= NP_READABLE;
      if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) bits |= NP_WRITABLE;
      if (ev & (EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) bits |= NP_HANGUP;
      batch[2 * i] = (int32_t)(uint32_t)p->evs[i].data.u64;
      batch[2 * i + 1] = bits;
    }
    /* Fibers woken here mostly park again before the microtasks drain: JS leaves
     * uv_ref/uv_unref to us while ctl[IN_CALLBACK] is set, and we apply the
     * final count of parked fibers once, after the callback. */
    ctl[NP_CTL_IN_CALLBACK] = 1;
    call_js(p, n);
    if (!p->closed && batch_view(p, &batch, &ctl) > 0) {
      ctl[NP_CTL_IN_CALLBACK] = 0;
      if (ctl[NP_CTL_PARKED] > 0) uv_ref((uv_handle_t*)&p->ep);
      else uv_unref((uv_handle_t*)&p->ep);
    }
  }
  napi_close_handle_scope(p->env, scope);
}
#endif

static void fd_ready(uv_poll_t* h, int status, int events) {
  np_entry* e = h->data;
  np_poller* p = e->poller;
  int32_t token = e->token;
  int bits;
  napi_handle_scope scope = NULL;
  int32_t *batch = NULL, *ctl = NULL;
  /* POLLERR (e.g. a refused connect) arrives as status < 0 with the handle stopped. */
  if (status < 0)
    bits = NP_READABLE | NP_WRITABLE | NP_HANGUP;
  else
    bits = ((events & (UV_READABLE | UV_DISCONNECT)) ? NP_READABLE : 0) |
           ((events & UV_WRITABLE) ? NP_WRITABLE : 0) |
           ((events & UV_DISCONNECT) ? NP_HANGUP : 0);
  if (bits == 0 || p->closed) return;
  uv_poll_stop(h); /* one-shot: a level-triggered handle left armed would spin */
  if (napi_open_handle_scope(p->env, &scope) != napi_ok) return;
  if (batch_view(p, &batch, &ctl) >= 1) {
    batch[0] = token;
    batch[1] = bits;
    call_js(p, 1); /* may pollerDel this fd: e must not be used after this */
  }
  napi_close_handle_scope(p->env, scope);
}

/* The np_poller behind a handle from pollerOpen; false with a TypeError pending. */
static bool get_poller(napi_env env, napi_value v, np_poller** out) {
  napi_valuetype t;
  bool tagged = false;
  void* data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &poller_tag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "poller must be a handle returned by pollerOpen");
    return false;
  }
  *out = data;
  return true;
}

/* (poller, fd, n) with n an int32; false with an exception pending. */
static bool poller_fd_args(napi_env env, napi_callback_info info, size_t argc, np_poller** p,
                           int64_t* fd, int32_t* n) {
  napi_value argv[3];
  int64_t v = 0;
  if (!np_args(env, info, argc, argv) || !get_poller(env, argv[0], p) ||
      !np_int(env, argv[1], "fd", fd))
    return false;
  if (argc == 3) {
    if (!np_int(env, argv[2], "token/events", &v)) return false;
    if (v < INT32_MIN || v > INT32_MAX) {
      napi_throw_type_error(env, NULL, "token/events must be an int32");
      return false;
    }
  }
  *n = (int32_t)v;
  return true;
}

static napi_value js_poller_open(napi_env env, napi_callback_info info) {
  napi_value argv[3], obj, name;
  napi_valuetype t;
  napi_typedarray_type type;
  bool is_ta = false, edge, wrapped = false;
  size_t len;
  void* data;
  uv_loop_t* loop;
  napi_status s;
  if (!np_args(env, info, 3, argv)) return NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "onEvents must be a function");
    return NULL;
  }
  if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "batch must be an Int32Array");
    return NULL;
  }
  if (!np_bool(env, argv[2], "edgeTriggered", &edge)) return NULL;
  if (len < NP_CONTROL_WORDS + 2) return np_num(env, -EINVAL);
#ifndef __linux__
  if (edge) return np_num(env, -ENOSYS);
#endif
  NP_CALL(env, napi_get_uv_event_loop(env, &loop));

  np_poller* p = calloc(1, sizeof *p);
  if (p == NULL) return np_num(env, -ENOMEM);
  p->env = env;
  p->loop = loop;
  p->edge = edge;
  p->pairs = (len - NP_CONTROL_WORDS) / 2;
  p->epfd = -1;
  p->sentinel = -1;
#ifdef __linux__
  if (edge) {
    size_t cap = p->pairs < NP_MAX_PAIRS ? p->pairs : NP_MAX_PAIRS;
    int err = 0;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    p->evs = malloc(cap * sizeof *p->evs);
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->sentinel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->evs == NULL) err = -ENOMEM;
    else if (p->epfd < 0 || p->sentinel < 0) err = -errno;
    else if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->sentinel, &ev) < 0) err = -errno;
    else err = uv_poll_init(loop, &p->ep, p->epfd);
    if (err < 0) {
      if (p->epfd >= 0) close(p->epfd);
      if (p->sentinel >= 0) close(p->sentinel);
      free(p->evs);
      free(p);
      return np_num(env, err);
    }
    p->ep.data = p;
  }
#endif

  /* From here on p is released through poller_close + settle, never directly. */
#define TRY(call)                                                              \
  if ((s = (call)) != napi_ok) goto fail
  TRY(napi_create_object(env, &obj));
  TRY(napi_type_tag_object(env, obj, &poller_tag));
  TRY(napi_wrap(env, obj, p, poller_finalize, NULL, NULL));
  wrapped = true;
  TRY(napi_create_reference(env, argv[0], 1, &p->on_events));
  TRY(napi_create_reference(env, argv[1], 1, &p->batch));
  TRY(napi_create_string_utf8(env, "effect-netpoll:Poller", NAPI_AUTO_LENGTH, &name));
  TRY(napi_async_init(env, NULL, name, &p->async));
  TRY(napi_add_async_cleanup_hook(env, on_env_exit, p, &p->hook));
#undef TRY

#ifdef __linux__
  if (edge) {
    int err = uv_poll_start(&p->ep, UV_READABLE, ep_ready);
    if (err < 0) {
      poller_close(env, p);
      settle(p); /* the JS handle is dropped; its finalizer frees p */
      return np_num(env, err);
    }
    uv_unref((uv_handle_t*)&p->ep); /* an idle poller never keeps Node alive */
  }
#endif
  return obj;

fail:
  if (!wrapped) p->wrap_gone = true;
  poller_close(env, p);
  settle(p);
  np_throw_status(env, s);
  return NULL;
}

static napi_value js_poller_add(napi_env env, napi_callback_info info) {
  np_poller* p;
  int64_t fd;
  int32_t token;
  if (!poller_fd_args(env, info, 3, &p, &fd, &token)) return NULL;
  if (p->closed || !np_fd_ok(fd)) return np_num(env, -EBADF);
  if (p->failed != 0) return np_num(env, p->failed);
  if (owns(p, fd)) return np_num(env, -EEXIST);
  int err = own(p, (int)fd);
  if (err < 0 || p->edge) return np_num(env, err); /* edge: added to epoll by pollerWatch */
  if ((size_t)fd >= p->nfds) {
    size_t n = p->nfds ? p->nfds : 64;
    while (n <= (size_t)fd) n *= 2;
    np_entry** fds = realloc(p->fds, n * sizeof *fds);
    if (fds != NULL) {
      memset(fds + p->nfds, 0, (n - p->nfds) * sizeof *fds);
      p->fds = fds;
      p->nfds = n;
    }
  }
  np_entry* e = (size_t)fd < p->nfds ? calloc(1, sizeof *e) : NULL;
  if (e == NULL) err = -ENOMEM;
  else if ((err = uv_poll_init(p->loop, &e->handle, (int)fd)) < 0) free(e); /* not started: inactive */
  if (err < 0) {
    p->owned[fd] = 0;
    return np_num(env, err);
  }
  e->handle.data = e;
  e->poller = p;
  e->token = token;
  p->fds[fd] = e;
  return np_num(env, 0);
}

static napi_value js_poller_arm(napi_env env, napi_callback_info info) {
  np_poller* p;
  int64_t fd;
  int32_t events;
  if (!poller_fd_args(env, info, 3, &p, &fd, &events)) return NULL;
  if (p->closed || !np_fd_ok(fd)) return np_num(env, -EBADF);
  if (p->edge) return np_num(env, 0);
  if (events & ~(NP_READABLE | NP_WRITABLE)) return np_num(env, -EINVAL);
  if ((size_t)fd >= p->nfds || p->fds[fd] == NULL) return np_num(env, -ENOENT);
  uv_poll_t* h = &p->fds[fd]->handle;
  if (events == 0) return np_num(env, uv_poll_stop(h));
  int uv_events = ((events & NP_READABLE) ? UV_READABLE | UV_DISCONNECT : 0) |
                  ((events & NP_WRITABLE) ? UV_WRITABLE : 0);
  return np_num(env, uv_poll_start(h, uv_events, fd_ready));
}

/* (poller, fd, token): adds an owned fd to the epoll set once (EPOLLET, so an
 * fd already ready is reported at once); 0, or -errno. A no-op on the portable
 * backend and for an fd already added. */
static napi_value js_poller_watch(napi_env env, napi_callback_info info) {
  np_poller* p;
  int64_t fd;
  int32_t token;
  if (!poller_fd_args(env, info, 3, &p, &fd, &token)) return NULL;
  if (p->closed) return np_num(env, -EBADF);
  if (p->failed != 0) return np_num(env, p->failed);
  if (!owns(p, fd)) return np_num(env, -ENOENT);
#ifdef __linux__
  if (p->edge && p->owned[fd] != NP_IN_EPOLL) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET;
    ev.data.u64 = (uint32_t)token;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, (int)fd, &ev) < 0) return np_num(env, -errno);
    p->owned[fd] = NP_IN_EPOLL;
  }
#endif
  return np_num(env, 0);
}

/*
 * (poller, fd, shared): deregisters fd and closes it. An fd whose file no
 * other descriptor shares (shared == 0: never dup'ed) skips EPOLL_CTL_DEL:
 * closing the file's last descriptor removes it from every epoll set.
 */
static napi_value js_poller_del(napi_env env, napi_callback_info info) {
  np_poller* p;
  int64_t fd;
  int32_t shared;
  if (!poller_fd_args(env, info, 3, &p, &fd, &shared)) return NULL;
  if (!owns(p, fd)) return np_num(env, -ENOENT);
  bool in_epoll = p->owned[fd] == NP_IN_EPOLL;
  p->owned[fd] = 0;
#ifdef __linux__
  if (p->edge && p->failed == 0 && shared != 0 && in_epoll) {
    struct epoll_event ev; /* ignored, but must be non-NULL before Linux 2.6.9 */
    memset(&ev, 0, sizeof ev);
    epoll_ctl(p->epfd, EPOLL_CTL_DEL, (int)fd, &ev); /* fails only if the fd is already gone */
  }
#endif
  if (!p->edge) {
    np_entry* e = p->fds[fd];
    p->fds[fd] = NULL;
    uv_close((uv_handle_t*)&e->handle, entry_closed); /* deregisters fd now, frees e later */
    p->pending++;
  }
  return np_num(env, close((int)fd) == 0 ? 0 : -errno);
}

/* Edge-triggered backend: whether the epoll fd is still ours (the sentinel is
 * registered in it). 0, or the failure's -errno, which fails the poller. */
static napi_value js_poller_check(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  np_poller* p;
  if (!np_args(env, info, 1, argv) || !get_poller(env, argv[0], &p)) return NULL;
  if (p->closed) return np_num(env, -EBADF);
#ifdef __linux__
  if (p->edge && p->failed == 0) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->sentinel, &ev) < 0) poller_fail(p, -errno);
  }
#endif
  return np_num(env, p->failed);
}

static napi_value js_poller_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  np_poller* p;
  bool on;
  if (!np_args(env, info, 2, argv) || !get_poller(env, argv[0], &p) ||
      !np_bool(env, argv[1], "on", &on))
    return NULL;
  if (!p->closed && p->edge) {
    if (on) uv_ref((uv_handle_t*)&p->ep);
    else uv_unref((uv_handle_t*)&p->ep);
  }
  return NULL; /* undefined */
}

static napi_value js_poller_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  np_poller* p;
  if (!np_args(env, info, 1, argv) || !get_poller(env, argv[0], &p)) return NULL;
  poller_close(env, p);
  settle(p); /* the JS handle is alive, so p is not freed here */
  return NULL; /* undefined */
}

bool np_poller_init(napi_env env, napi_value exports) {
  napi_value has_edge;
  napi_status s;
#ifdef __linux__
  s = napi_get_boolean(env, true, &has_edge);
#else
  s = napi_get_boolean(env, false, &has_edge);
#endif
  if (s == napi_ok) {
    const napi_property_descriptor props[] = {
        {"pollerOpen", NULL, js_poller_open, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerAdd", NULL, js_poller_add, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerArm", NULL, js_poller_arm, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerWatch", NULL, js_poller_watch, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerDel", NULL, js_poller_del, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerCheck", NULL, js_poller_check, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerRef", NULL, js_poller_ref, NULL, NULL, NULL, napi_enumerable, NULL},
        {"pollerClose", NULL, js_poller_close, NULL, NULL, NULL, napi_enumerable, NULL},
        {"hasEdgeTriggered", NULL, NULL, NULL, NULL, has_edge, napi_enumerable, NULL},
    };
    s = napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  }
  if (s != napi_ok) np_throw_status(env, s);
  return s == napi_ok;
}
