from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.generic import DateDetailView, ListView

from articles.models import Article
from articles.services import article_for_preview_token


class PublishedArticleMixin:
    """Start every public view from the one definition of a public story."""

    date_field = "published_at"
    month_format = "%m"
    day_format = "%d"

    def get_queryset(self):
        return Article.objects.published()


class HomeView(PublishedArticleMixin, ListView):
    template_name = "articles/home.html"
    context_object_name = "articles"
    paginate_by = None

    def get_queryset(self):
        return super().get_queryset().for_listing()[:20]


class ArticleDetailView(PublishedArticleMixin, DateDetailView):
    context_object_name = "article"

    def get_queryset(self):
        return super().get_queryset().for_detail()

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            withdrawn = Article.objects.filter(
                slug=kwargs["slug"], status=Article.Status.WITHDRAWN
            ).first()
            if withdrawn is None:
                raise
            return render(
                request, "articles/article_withdrawn.html", {"article": withdrawn}, status=410
            )


def render_preview(request, article, *, shared):
    response = render(
        request,
        "articles/article_detail.html",
        {"article": article, "is_preview": True, "shared_preview": shared},
    )
    # Previews must never be cached by a CDN or indexed by a search engine.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
def article_preview(request, pk):
    """Show staff any story as readers would see it, with a banner; 404 for everyone else."""
    if not request.user.is_authenticated or not request.user.has_perm("articles.view_article"):
        raise Http404("No story here.")
    article = get_object_or_404(Article.objects.for_detail(), pk=pk)
    return render_preview(request, article, shared=False)


@never_cache
def article_shared_preview(request, token):
    """Show a story to whoever holds a signed preview link, until the link expires."""
    try:
        article = article_for_preview_token(token)
    except signing.SignatureExpired:
        response = render(request, "articles/preview_expired.html", status=410)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    except (signing.BadSignature, Article.DoesNotExist, KeyError, TypeError) as error:
        raise Http404("No story here.") from error
    return render_preview(request, article, shared=True)
