{
  "targets": [
    {
      "target_name": "netpoll",
      "sources": ["native/module.c", "native/sockets.c", "native/poller.c", "native/unix.c", "native/datagram.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
