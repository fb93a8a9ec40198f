#
# Varnish in front of Newsroom (Varnish 7.1 with varnish-modules' xkey, as Debian 12
# packages them: apt install varnish varnish-modules).
#
# The application decides what may be shared and for how long (frontcache/middleware.py):
#
#   Surrogate-Control: max-age=86400, stale-while-revalidate=30, stale-if-error=86400
#   xkey: site article-12 author-3 ...
#
# and purges exactly the pages a change touches by those keys (frontcache/purge.py):
#
#   PURGE /  with  xkey-purge: k1 k2      gone at once (a withdrawn story)
#   PURGE /  with  xkey-softpurge: k1 k2  stale copy served while the fresh page renders
#
# This file holds the policy and is the same everywhere. Where the application servers
# are, and which of them may purge, lives in backend.vcl, looked up in vcl_path
# (varnishd -p vcl_path=DIR:...), so each deployment writes its own without editing this
# one. deploy/varnish/backend.vcl is the single-server default and says how to add more.

vcl 4.1;

import std;
import xkey;

# /healthz answers 200 only when the application and its database answer. Three failures
# among the last five probes (ten seconds) mark the backend sick: cached pages are then
# served for as long as their stale-if-error allows, and uncached ones get the page in
# newsroom_unavailable at once instead of waiting on a dead server. Three good probes
# make it healthy again.
probe newsroom_health {
    .url = "/healthz";
    .expected_response = 200;
    .interval = 2s;
    .timeout = 2s;
    .window = 5;
    .threshold = 3;
    .initial = 3;
}

# Defines the backend (or backends and a director) and the acl "purgers".
include "backend.vcl";

sub vcl_recv {
    if (req.restarts == 0) {
        # Internal markers, set only by this file; a client may not send them.
        unset req.http.X-Newsroom-Stale;
        unset req.http.X-Newsroom-Cacheable;
    }
    if (req.method == "PURGE") {
        call newsroom_purge;
    }
    if (req.http.host) {
        set req.http.host = std.tolower(req.http.host);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Staff (the session cookie) and anything authenticated see their own pages.
    if (req.http.Authorization || req.http.Cookie ~ "(^|;)\s*sessionid=") {
        return (pass);
    }
    # Never shared, whatever they answer (the same list as UNCACHED_PREFIXES in
    # frontcache/middleware.py). Their query strings are left alone: search needs q.
    if (req.url ~ "^/(admin|accounts|preview|newsletter|ckeditor5|photos|search)/"
        || req.url ~ "^/healthz($|\?)") {
        return (pass);
    }
    # Readers' cookies (analytics and the like) change nothing on a public page, and
    # would otherwise make every reader's copy different.
    unset req.http.Cookie;
    call newsroom_normalise_url;
    # Django only tells "https" from anything else; other values would be copies.
    if (req.http.X-Forwarded-Proto != "https") {
        unset req.http.X-Forwarded-Proto;
    }
    set req.http.X-Newsroom-Cacheable = "1";
    if (req.http.X-Newsroom-Stale == "none") {
        # Restarted from vcl_hit: the copy is too old to serve while the backend is up.
        set req.grace = 0s;
    } else if (req.http.X-Newsroom-Stale == "error") {
        # Restarted from vcl_synth: the fetch failed, so any copy in its grace will do
        # (req.grace outlives a restart).
        set req.grace = 10y;
    }
    return (hash);
}

# Keep only the query parameters that change a public page, so that no client can fill
# the cache by adding ?utm_source=..., ?x=1, ?x=2: "page" on the paginated listings and
# "p" on the sitemaps, each only as a plain integer above 1, without leading zeros.
# Where a parameter is repeated the last valid one counts, as in Django's QueryDict.
sub newsroom_normalise_url {
    if (req.url !~ "\?") {
        return;
    }
    set req.http.X-Newsroom-Query = "";
    if (req.url ~ "^/((section|tag|author)/[^/?]+|corrections)/\?"
        && req.url ~ "[?&]page=0*[1-9][0-9]*(&|$)") {
        set req.http.X-Newsroom-Query = regsub(
            req.url, "^.*[?&]page=0*([1-9][0-9]*)(&.*)?$", "page=\1");
    }
    if (req.url ~ "^/(news-)?sitemap[^/?]*\.xml\?"
        && req.url ~ "[?&]p=0*[1-9][0-9]*(&|$)") {
        set req.http.X-Newsroom-Query = regsub(
            req.url, "^.*[?&]p=0*([1-9][0-9]*)(&.*)?$", "p=\1");
    }
    if (req.http.X-Newsroom-Query ~ "=1$") {
        # The first page is the page without the parameter.
        set req.http.X-Newsroom-Query = "";
    }
    set req.url = regsub(req.url, "\?.*$", "");
    if (req.http.X-Newsroom-Query != "") {
        set req.url = std.querysort(req.url + "?" + req.http.X-Newsroom-Query);
    }
    unset req.http.X-Newsroom-Query;
}

sub newsroom_purge {
    # A PURGE relayed by another proxy (a TLS terminator on this machine) has that proxy's
    # address, which may be in the acl; X-Forwarded-For then lists more than one hop.
    if (client.ip !~ purgers || req.http.X-Forwarded-For ~ ",") {
        return (synth(405, "Method Not Allowed"));
    }
    if (!req.http.xkey-purge && !req.http.xkey-softpurge) {
        return (synth(400, "Send xkey-purge or xkey-softpurge"));
    }
    set req.http.X-Newsroom-Purged = 0;
    if (req.http.xkey-purge) {
        set req.http.X-Newsroom-Purged = xkey.purge(req.http.xkey-purge);
    }
    if (req.http.xkey-softpurge) {
        set req.http.X-Newsroom-Purged = std.integer(req.http.X-Newsroom-Purged, 0)
            + xkey.softpurge(req.http.xkey-softpurge);
    }
    return (synth(200, "Purged"));
}

sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) {
        hash_data(req.http.host);
    } else {
        hash_data(server.ip);
    }
    # Django builds absolute links (feeds, canonical URLs) from these behind a proxy.
    hash_data(req.http.X-Forwarded-Host);
    hash_data(req.http.X-Forwarded-Proto);
    return (lookup);
}

# Lookups use the object's whole grace (its stale-if-error); how much of it may be served
# depends on the backend. Healthy: only stale-while-revalidate worth, so a soft-purged
# page is served stale once while its background fetch renders the fresh one, and an
# older copy is fetched afresh. Sick, or after the fetch failed: all of it.
sub vcl_hit {
    if (obj.ttl >= 0s || req.http.X-Newsroom-Stale == "error") {
        return (deliver);
    }
    if (!std.healthy(req.backend_hint)) {
        return (deliver);
    }
    if (obj.ttl + std.duration(obj.http.X-Newsroom-SWR, 0s) > 0s) {
        return (deliver);
    }
    set req.http.X-Newsroom-Stale = "none";
    return (restart);
}

sub vcl_miss {
    if (req.http.X-Newsroom-Stale == "error") {
        # The fetch failed and there is no copy to fall back on.
        return (synth(503, "Service Unavailable"));
    }
    return (fetch);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.xkey;
    unset resp.http.X-Newsroom-SWR;
    return (deliver);
}

sub vcl_synth {
    if (req.method == "PURGE") {
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        if (resp.status == 200) {
            set resp.body = req.http.X-Newsroom-Purged + {" objects purged
"};
        } else {
            set resp.body = resp.reason + {"
"};
        }
        return (deliver);
    }
    if (resp.status == 503) {
        if (req.http.X-Newsroom-Cacheable && req.http.X-Newsroom-Stale != "error") {
            # The backend failed this page: look again, ready to serve any stale copy.
            set req.http.X-Newsroom-Stale = "error";
            return (restart);
        }
        call newsroom_unavailable;
        return (deliver);
    }
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.body = "" + resp.status + " " + resp.reason + {"
"};
    return (deliver);
}

sub newsroom_unavailable {
    set resp.http.Content-Type = "text/html; charset=utf-8";
    set resp.http.Retry-After = "30";
    set resp.http.Cache-Control = "no-store";
    set resp.body = {"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>We'll be right back</title>
<style>
body { margin: 0; padding: 4rem 1.25rem; font: 1.125rem/1.6 Georgia, "Times New Roman", serif;
       color: #1a1a1a; background: #fff; }
main { max-width: 34rem; margin: 0 auto; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 1rem; }
</style>
</head>
<body>
<main>
<h1>We'll be right back</h1>
<p>This page could not be loaded just now. Our stories are still here: please try again
in a minute.</p>
<p><a href="/">Go to the front page</a></p>
</main>
</body>
</html>
"};
}

sub vcl_backend_fetch {
    unset bereq.http.X-Newsroom-Stale;
    unset bereq.http.X-Newsroom-Cacheable;
    if (!bereq.uncacheable) {
        # No revalidation of a stale copy: Django renders the whole page to compute its
        # ETag anyway, and its 304 would leave the old Surrogate-Control (a listing's
        # lifetime until the next scheduled story) and xkey on the copy.
        unset bereq.http.If-None-Match;
        unset bereq.http.If-Modified-Since;
    }
}

sub vcl_backend_response {
    call newsroom_gzip;
    if (bereq.uncacheable) {
        # A pass (staff, admin, POST): nothing is stored, and its errors are the
        # application's own (the admin's, /healthz's JSON).
        return (deliver);
    }
    if (beresp.status >= 500) {
        # A background fetch keeps the stale copy; a client waiting for this page
        # restarts in vcl_synth to look for one.
        return (abandon);
    }
    if (beresp.status != 200 && beresp.status != 203 && beresp.status != 204
        && beresp.status != 300 && beresp.status != 301 && beresp.status != 308
        && beresp.status != 410) {
        call newsroom_do_not_store;
    }
    if (beresp.http.Set-Cookie || beresp.http.Vary == "*"
        || beresp.http.Surrogate-Control ~ "(?i)no-store") {
        call newsroom_do_not_store;
    }
    if (beresp.http.Surrogate-Control ~ "(?i)(^|[,\s])max-age=[0-9]+") {
        set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control,
            "(?i)^(.*[,\s])?max-age=([0-9]+).*$", "\2s"), 0s);
    } else if (beresp.http.Cache-Control ~ "(?i)private|no-cache|no-store") {
        call newsroom_do_not_store;
    } else if (beresp.http.Cache-Control ~ "(?i)(^|[,\s])s-maxage=[0-9]+") {
        set beresp.ttl = std.duration(regsub(beresp.http.Cache-Control,
            "(?i)^(.*[,\s])?s-maxage=([0-9]+).*$", "\2s"), 0s);
    } else if (beresp.http.Cache-Control ~ "(?i)(^|[,\s])max-age=[0-9]+") {
        # Static files from WhiteNoise: hashed names for a year.
        set beresp.ttl = std.duration(regsub(beresp.http.Cache-Control,
            "(?i)^(.*[,\s])?max-age=([0-9]+).*$", "\2s"), 0s);
    } else {
        call newsroom_do_not_store;
    }
    if (beresp.ttl <= 0s) {
        call newsroom_do_not_store;
    }
    call newsroom_grace;
    return (deliver);
}

# Grace is stale-if-error (a day unless the response says otherwise); the part of it a
# healthy backend allows, stale-while-revalidate, travels with the object for vcl_hit.
sub newsroom_grace {
    set beresp.grace = 24h;
    set beresp.http.X-Newsroom-SWR = "0s";
    if (beresp.http.Surrogate-Control ~ "(?i)(^|[,\s])stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(regsub(beresp.http.Surrogate-Control,
            "(?i)^(.*[,\s])?stale-if-error=([0-9]+).*$", "\2s"), 24h);
    } else if (beresp.http.Cache-Control ~ "(?i)(^|[,\s])stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(regsub(beresp.http.Cache-Control,
            "(?i)^(.*[,\s])?stale-if-error=([0-9]+).*$", "\2s"), 24h);
    }
    if (beresp.http.Surrogate-Control ~ "(?i)(^|[,\s])stale-while-revalidate=[0-9]+") {
        set beresp.http.X-Newsroom-SWR = regsub(beresp.http.Surrogate-Control,
            "(?i)^(.*[,\s])?stale-while-revalidate=([0-9]+).*$", "\2s");
    } else if (beresp.http.Cache-Control ~ "(?i)(^|[,\s])stale-while-revalidate=[0-9]+") {
        set beresp.http.X-Newsroom-SWR = regsub(beresp.http.Cache-Control,
            "(?i)^(.*[,\s])?stale-while-revalidate=([0-9]+).*$", "\2s");
    }
    if (std.duration(beresp.http.X-Newsroom-SWR, 0s) > beresp.grace) {
        set beresp.grace = std.duration(beresp.http.X-Newsroom-SWR, 0s);
    }
}

# Errors, 404s, private pages and anything else not to share: stored for no time at all.
# Each such address would otherwise leave a hit-for-miss object behind, and random
# addresses would fill the cache with them.
sub newsroom_do_not_store {
    set beresp.ttl = 0s;
    set beresp.grace = 0s;
    set beresp.keep = 0s;
    set beresp.uncacheable = true;
    return (deliver);
}

# Compress text once, in the cache, so that one object serves every client: Varnish
# asks the backend for gzip and unzips on delivery for the few clients without it.
sub newsroom_gzip {
    if (!beresp.http.Content-Encoding && beresp.http.Content-Type ~
        "(?i)^(text/|image/svg\+xml|application/(javascript|json|(rss|atom|xhtml)\+xml|xml))") {
        set beresp.do_gzip = true;
    }
}

# The backend did not answer (refused, timed out, or marked sick by the probe). A
# background fetch keeps its stale copy; anyone else goes to vcl_synth, which looks for a
# stale copy or shows newsroom_unavailable rather than Varnish's own error page.
sub vcl_backend_error {
    return (abandon);
}
