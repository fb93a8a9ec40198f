from django.core import signing
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.views.decorators.cache import never_cache
from django.views.generic import DateDetailView, ListView

from accounts import two_factor
from articles.models import (
    Article,
    ArticleAuthor,
    ArticleRedirect,
    Author,
    Correction,
    PendingUpdate,
    Section,
    Tag,
)
from articles.revisions import stored_content
from articles.services import article_for_preview_token
from frontcache import keys as surrogate_keys
from photos.models import Photo

LISTING_PAGE_SIZE = 20


class PublishedArticleMixin:
    """Start every public view from the one definition of a public story."""

    date_field = "published_at"
    month_format = "%m"
    day_format = "%d"

    def get_queryset(self):
        return Article.objects.published()


class StoryListView(PublishedArticleMixin, ListView):
    """A paginated list of stories; a page number past the end is a 404."""

    paginate_by = LISTING_PAGE_SIZE
    context_object_name = "articles"
    template_name = "articles/article_list.html"

    def get_queryset(self):
        return self.filter_stories(super().get_queryset()).for_card().with_bylines()

    def filter_stories(self, stories):
        return stories


class SectionView(StoryListView):
    def get(self, request, *args, **kwargs):
        self.section = get_object_or_404(Section, slug=kwargs["slug"])
        surrogate_keys.add(surrogate_keys.section_stories(self.section.pk))
        return super().get(request, *args, **kwargs)

    def filter_stories(self, stories):
        return stories.filter(section=self.section)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            heading=self.section.name,
            description=self.section.description,
            feed_url=reverse("articles:section_feed", kwargs={"slug": self.section.slug}),
            follow_name=self.section.name_in_sentence,
            **kwargs,
        )


class TagView(StoryListView):
    def get(self, request, *args, **kwargs):
        self.tag = get_object_or_404(Tag, slug=kwargs["slug"])
        surrogate_keys.add(surrogate_keys.tag_stories(self.tag.pk))
        return super().get(request, *args, **kwargs)

    def filter_stories(self, stories):
        return stories.filter(tags=self.tag)

    def get_context_data(self, **kwargs):
        return super().get_context_data(heading=self.tag.name, **kwargs)


class AuthorView(StoryListView):
    template_name = "articles/author_detail.html"

    def get(self, request, *args, **kwargs):
        self.author = get_object_or_404(Author.objects.select_related("photo"), slug=kwargs["slug"])
        surrogate_keys.add(surrogate_keys.author_stories(self.author.pk))
        return super().get(request, *args, **kwargs)

    def filter_stories(self, stories):
        return stories.filter(bylines__author=self.author)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            author=self.author,
            heading=self.author.name,
            feed_url=reverse("articles:author_feed", kwargs={"slug": self.author.slug}),
            **kwargs,
        )


class CorrectionListView(ListView):
    """Recent corrections and clarifications to public stories, newest first."""

    paginate_by = LISTING_PAGE_SIZE
    context_object_name = "corrections"
    template_name = "articles/correction_list.html"

    def get_queryset(self):
        surrogate_keys.add(surrogate_keys.CORRECTIONS)
        return (
            Correction.objects.filter(article__in=Article.objects.published())
            .select_related("article", "article__section")
            .order_by("-published_at", "-id")
        )


class ArticleDetailView(PublishedArticleMixin, DateDetailView):
    context_object_name = "article"

    def get_queryset(self):
        return super().get_queryset().for_detail()

    def get_context_data(self, **kwargs):
        return super().get_context_data(related=self.object.related(), **kwargs)

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            # Stored addresses come from reverse(), which percent-encodes non-ASCII slugs.
            path = iri_to_uri(request.path)
            redirect = (
                ArticleRedirect.objects.filter(old_path=path).select_related("article").first()
            )
            if redirect is not None and redirect.article.is_public:
                return HttpResponsePermanentRedirect(redirect.article.get_absolute_url())
            withdrawn = Article.objects.filter(
                slug=kwargs["slug"], status=Article.Status.WITHDRAWN
            ).first()
            # Only an address readers could have seen is Gone; anything else, a story
            # withdrawn before its scheduled time above all, was never here.
            if (
                withdrawn is None
                or withdrawn.get_absolute_url() != path
                or not withdrawn.was_public
            ):
                raise
            return render(
                request, "articles/article_withdrawn.html", {"article": withdrawn}, status=410
            )


def show_pending_update(article):
    """Put ``article``'s pending update on it, unsaved, for a preview; return the update or None."""
    update = (
        PendingUpdate.objects.filter(article=article).first()
        if article.status == Article.Status.PUBLISHED
        else None
    )
    if update is None:
        return None
    content = stored_content(update.content)
    for name, value in [*content.fields.items(), *content.attributes.items()]:
        setattr(article, name, value)
    article.lead_photo = Photo.objects.filter(pk=content.lead_photo_id).first()
    authors = Author.objects.in_bulk(content.author_ids)
    bylines = ArticleAuthor.objects.none()
    # The page reads bylines and tags through the related managers, which answer from
    # the prefetch cache: filled here with the update's, which are not saved.
    bylines._result_cache = [
        ArticleAuthor(article=article, author=authors[pk], position=position)
        for position, pk in enumerate(content.author_ids)
    ]
    tags = Tag.objects.filter(pk__in=content.tag_ids).order_by("name")
    tags._fetch_all()
    article._prefetched_objects_cache.update(bylines=bylines, tags=tags)
    return update


def render_preview(request, article, *, shared):
    pending = show_pending_update(article)
    response = render(
        request,
        "articles/article_detail.html",
        {"article": article, "is_preview": True, "shared_preview": shared, "pending": pending},
    )
    # Previews must never be cached by a CDN or indexed by a search engine.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
def article_preview(request, pk):
    """Show staff any story as readers would see it, with a banner; 404 for everyone else."""
    user = request.user
    if not (
        user.is_authenticated
        and user.has_perm("articles.view_article")
        and two_factor.is_fully_signed_in(request)
    ):
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
