"""Reader-facing newsletter pages: sign up, confirm, unsubscribe, preferences.

No page here tells whether an address is subscribed: a sign-up answers the same way for
a new, pending, confirmed or unsubscribed address, and only the mailbox owner learns more.
"""

from urllib.parse import urlsplit

from django.core import signing
from django.http import HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from newsletter import ratelimit, services, tokens
from newsletter.addresses import client_ip, email_fingerprint
from newsletter.forms import PreferencesForm, SignupForm
from newsletter.models import Newsletter, Subscriber


def see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def csrf_middleware() -> CsrfViewMiddleware:
    return CsrfViewMiddleware(lambda request: None)


def csrf_failure(request):
    """Return Django's CSRF rejection for ``request``, or None when its token is good."""
    return csrf_middleware().process_view(request, None, (), {})


def sent_from_this_site(request) -> bool:
    """Return whether the browser vouches that ``request`` comes from a page of this site.

    A cross-site request forgery needs the victim's browser, and browsers say where a
    request comes from in headers no page can set or change: ``Sec-Fetch-Site`` (Fetch
    Metadata, https://www.w3.org/TR/fetch-metadata/, in every browser since 2023) and
    ``Origin``. The OWASP CSRF Prevention Cheat Sheet accepts either in place of a token
    ("Fetch Metadata headers"; "Verifying Origin with standard headers"), and Go's
    ``net/http.CrossOriginProtection`` (Go 1.25) protects with nothing else: it trusts
    ``Sec-Fetch-Site`` when present and otherwise compares ``Origin`` with the host.

    Go lets a request with neither header through as "not a browser"; here it needs a
    token, and so does ``Origin: null`` (sandboxed frames, privacy redirects), because
    neither proves anything. Only ``same-origin`` counts: ``same-site`` would trust every
    subdomain of the newsroom's domain. Without Fetch Metadata, ``Origin`` must be this
    site's own, judged exactly as Django's CSRF middleware judges it (scheme from
    ``request.is_secure()``, so ``SECURE_PROXY_SSL_HEADER``, plus ``CSRF_TRUSTED_ORIGINS``).
    A script outside a browser can send any header it likes, but it can as easily fetch a
    token first: the honeypot and the rate limits are what stop it, not this.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    if request.headers.get("Origin", "null") == "null":
        return False
    # A private method, but Django's own definition of "this site's origin" (Django 4.0
    # to 5.2 at least); the tests on trusted origins and proxies catch a change in it.
    return csrf_middleware()._origin_verified(request)


def referring_page(request) -> str:
    """Return the path of the page on this site that linked here, or ""."""
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc != request.get_host() or not referer.path.startswith("/"):
        return ""
    return (referer.path + (f"?{referer.query}" if referer.query else ""))[:500]


def too_many_requests(request, kind: str):
    _, seconds = ratelimit.signup_limit(kind)
    response = render(
        request,
        "newsletter/rate_limited.html",
        {"minutes": max(seconds // 60, 1)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def signup_page(request, form, *, status=200, template="newsletter/signup.html", **context):
    newsletters = list(Newsletter.objects.active())
    return render(
        request,
        template,
        {"form": form, "newsletters": newsletters, "consent_text": form.consent_text, **context},
        status=status,
    )


@csrf_exempt  # checked below, so that a form on a cached page can still lead here
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    """Show the sign-up form; on a valid POST, queue one email and answer "check your inbox".

    The sign-up boxes on story pages and in the footer sit in cached pages that cannot
    carry a CSRF token. Their POST counts when the browser vouches that it comes from
    this site (``sent_from_this_site``); any other POST without a token shows this form
    filled in, to be sent once more with a token, and changes nothing.
    """
    if request.method != "POST":
        return signup_page(request, SignupForm(initial={"page": referring_page(request)}))
    # The browser's word first: the token check logs a warning for every box on a cached page.
    if not sent_from_this_site(request) and csrf_failure(request) is not None:
        form = SignupForm(
            initial={
                "email": request.POST.get("email", "")[:254],
                "page": request.POST.get("page", "")[:500],
            }
        )
        return signup_page(request, form, almost_done=True)
    ip_address = client_ip(request)
    if not ratelimit.allow("ip", ip_address or "unknown"):
        return too_many_requests(request, "ip")
    form = SignupForm(request.POST)
    if form.is_bot():
        # Answer a bot as if it had succeeded, so it learns nothing to adapt to.
        return see_other(reverse("newsletter:signup_done"))
    if not form.is_valid():
        return signup_page(request, form, status=400)
    email = form.cleaned_data["email"]
    if not ratelimit.allow("email", email_fingerprint(email)):
        return too_many_requests(request, "email")
    services.subscriber_sign_up(
        email=email,
        newsletters=form.cleaned_data["newsletters"],
        consent_text=form.consent_text,
        page_url=form.cleaned_data["page"] or referring_page(request),
        ip_address=ip_address,
    )
    return see_other(reverse("newsletter:signup_done"))


@never_cache
@require_safe
def signup_done(request):
    context = {"valid_days": tokens.CONFIRM_MAX_AGE.days}
    return render(request, "newsletter/signup_done.html", context)


# Like the one-click unsubscribe, the signed token in the address is the key: whoever has
# it received the email, and a CSRF token would only break the button for a reader
# whose cookies are blocked or who opened the link in another browser than the form.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """Ask before confirming on GET; confirm on POST, and harmlessly again.

    Mail scanners open every link in a message, so following the link must change
    nothing: only the button on the page, a POST, confirms.
    """
    try:
        subscriber = tokens.subscriber_for_confirm_token(token)
    except signing.SignatureExpired:
        expired_for = tokens.subscriber_for_expired_confirm_token(token)
        form = SignupForm(initial={"email": expired_for.email if expired_for else ""})
        return signup_page(
            request, form, status=410, template="newsletter/confirm_invalid.html", expired=True
        )
    except (signing.BadSignature, Subscriber.DoesNotExist, KeyError, TypeError):
        return signup_page(
            request, SignupForm(), status=400, template="newsletter/confirm_invalid.html"
        )
    if request.method == "POST":
        newsletters = services.subscriber_confirm(
            subscriber=subscriber,
            ip_address=client_ip(request),
            page_url=request.path.rsplit("/", 2)[0] + "/",  # the page, without the token
        )
        return render(
            request,
            "newsletter/confirm_done.html",
            {"newsletters": newsletters, "preferences_url": tokens.preferences_url(subscriber)},
        )
    awaiting = subscriber.subscriptions.pending().newsletters()
    return render(
        request,
        "newsletter/confirm.html",
        {
            "subscriber": subscriber,
            "awaiting": awaiting,
            "preferences_url": tokens.preferences_url(subscriber),
        },
    )


@csrf_exempt  # RFC 8058 one-click: mail apps POST without a token; the signed link is the key
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """Ask before unsubscribing on GET; unsubscribe on POST, any number of times."""
    try:
        subscriber, newsletter = tokens.unsubscribe_target(token)
    except signing.BadSignature:
        return render(request, "newsletter/link_invalid.html", status=400)
    except Subscriber.DoesNotExist:
        # Erased on request: there is nothing left to unsubscribe, and that is success.
        return render(request, "newsletter/unsubscribe_done.html", {"left": [], "erased": True})
    if request.method == "POST":
        left = services.subscriber_unsubscribe(subscriber=subscriber, newsletter=newsletter)
        return render(
            request,
            "newsletter/unsubscribe_done.html",
            {
                "left": left,
                "newsletter": newsletter,
                "preferences_url": tokens.preferences_url(subscriber),
            },
        )
    return render(
        request,
        "newsletter/unsubscribe.html",
        {
            "newsletter": newsletter,
            "subscriber": subscriber,
            "preferences_url": tokens.preferences_url(subscriber),
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request, token):
    """Let the owner of a preferences link choose exactly which newsletters they get."""
    try:
        subscriber = tokens.subscriber_for_preferences_token(token)
    except (signing.BadSignature, Subscriber.DoesNotExist):
        return render(request, "newsletter/link_invalid.html", status=400)
    saved = False
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.subscriber_set_preferences(
                subscriber=subscriber,
                newsletters=form.cleaned_data["newsletters"],
                consent_text=form.consent_text,
                ip_address=client_ip(request),
                page_url=request.path.rsplit("/", 2)[0] + "/",
            )
            saved = True
    current = subscriber.subscriptions.active().values_list("newsletter_id", flat=True)
    if request.method != "POST" or saved:
        form = PreferencesForm(initial={"newsletters": list(current)})
    return render(
        request,
        "newsletter/preferences.html",
        {
            "form": form,
            "subscriber": subscriber,
            "saved": saved,
            "newsletters": list(Newsletter.objects.active()),
        },
        status=200 if form.is_bound is False or saved else 400,
    )
