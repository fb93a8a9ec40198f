#
# Where Newsroom's application servers are, for deploy/varnish/newsroom.vcl, which
# includes this file from vcl_path. This default is one server: gunicorn on
# 127.0.0.1:8001 beside Varnish. `make serve` writes its own copy under var/varnish/ for
# the ports it uses; for a systemd Varnish, copy this to /etc/varnish/backend.vcl and
# edit it there.
#
# The probe asks /healthz with this Host header, which must be in ALLOWED_HOSTS.
#
# A fleet: one backend per application server, a round-robin director in vcl_init, and
# req.backend_hint set to it in vcl_recv, e.g.
#
#   import directors;
#   backend app1 { .host = "10.0.0.11"; .port = "8001"; .probe = newsroom_health; }
#   backend app2 { .host = "10.0.0.12"; .port = "8001"; .probe = newsroom_health; }
#   sub vcl_init {
#       new app = directors.round_robin();
#       app.add_backend(app1);
#       app.add_backend(app2);
#   }
#   sub vcl_recv { set req.backend_hint = app.backend(); }
#
# and each application server's address in the acl below, since every one of them
# purges (VARNISH_URLS on the application servers names each Varnish).

backend default {
    .host = "127.0.0.1";
    .port = "8001";
    .host_header = "localhost";
    .probe = newsroom_health;
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

# Who may send PURGE: the machines the application (and its task worker) runs on.
acl purgers {
    "127.0.0.1";
    "::1";
}
