from django.contrib.sitemaps import Sitemap
from django.http import HttpResponse

from articles.models import Article


class ArticleSitemap(Sitemap):
    def items(self):
        return Article.objects.published()


SITEMAPS = {"articles": ArticleSitemap}


def news_sitemap(request):
    return HttpResponse("", content_type="application/xml")


def robots_txt(request):
    return HttpResponse("User-agent: *\n", content_type="text/plain")
