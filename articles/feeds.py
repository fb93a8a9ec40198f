from django.contrib.syndication.views import Feed

from articles.models import Article


class LatestFeed(Feed):
    title = "Latest stories"
    link = "/"
    description = "The newest stories."

    def items(self):
        return Article.objects.published().for_listing()[:30]


class SectionFeed(LatestFeed):
    def get_object(self, request, slug):
        return slug


class AuthorFeed(LatestFeed):
    def get_object(self, request, slug):
        return slug
