from django.views.generic import DateDetailView, ListView

from articles.models import Article


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
