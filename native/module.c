/*
 * Module registration and the JS argument helpers shared by sockets.c and poller.c.
 * The module is context-aware (NAPI_MODULE_INIT): it may be loaded once per
 * environment (main thread and each worker) and keeps no global state.
 */
#include "netpoll.h"

#include <stdio.h>

#define NP_MAX_SAFE_INT 9007199254740991.0

bool np_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  napi_status s = napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (s != napi_ok) {
    np_throw_status(env, s);
    return false;
  }
  /* Missing arguments are left undefined by N-API and fail their type checks. */
  return true;
}

static bool type_error(napi_env env, const char* what, const char* expected) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be %s", what, expected);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

bool np_int(napi_env env, napi_value v, const char* what, int64_t* out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok)
    return type_error(env, what, "an integer");
  /* NaN fails both comparisons. */
  if (!(d >= -NP_MAX_SAFE_INT && d <= NP_MAX_SAFE_INT) || d != (double)(int64_t)d)
    return type_error(env, what, "a safe integer");
  *out = (int64_t)d;
  return true;
}

bool np_bool(napi_env env, napi_value v, const char* what, bool* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean ||
      napi_get_value_bool(env, v, out) != napi_ok)
    return type_error(env, what, "a boolean");
  return true;
}

bool np_bytes(napi_env env, napi_value buf, napi_value off, napi_value len,
              uint8_t** data, size_t* n) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void* base;
  int64_t o, l;
  if (napi_is_typedarray(env, buf, &is_ta) != napi_ok || !is_ta)
    return type_error(env, "buf", "a Uint8Array");
  /* `base` already includes the view's byte offset into its ArrayBuffer. */
  if (napi_get_typedarray_info(env, buf, &type, &length, &base, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return type_error(env, "buf", "a Uint8Array");
  if (!np_int(env, off, "offset", &o) || !np_int(env, len, "length", &l)) return false;
  /* A detached buffer has length 0, so only an empty range passes. */
  if (o < 0 || l < 0 || (uint64_t)o > length || (uint64_t)l > length - (uint64_t)o) {
    napi_throw_range_error(env, NULL, "offset/length out of the buffer's range");
    return false;
  }
  *data = l == 0 ? NULL : (uint8_t*)base + o;
  *n = (size_t)l;
  return true;
}

void np_throw_status(napi_env env, napi_status status) {
  bool pending = false;
  char msg[64];
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  snprintf(msg, sizeof msg, "effect-netpoll: N-API call failed (status %d)", (int)status);
  napi_throw_error(env, NULL, msg);
}

napi_value np_num(napi_env env, int64_t v) {
  napi_value r;
  NP_CALL(env, napi_create_int64(env, v, &r));
  return r;
}

NAPI_MODULE_INIT() {
  if (!np_sockets_init(env, exports) || !np_poller_init(env, exports) || !np_unix_init(env, exports) ||
      !np_datagram_init(env, exports))
    return NULL;
  return exports;
}
