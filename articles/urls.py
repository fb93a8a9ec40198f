from django.urls import path, re_path

from articles import brand, feeds, search, views

app_name = "articles"

urlpatterns = [
    re_path(
        r"^(?P<year>[0-9]{4})/(?P<month>[0-9]{2})/(?P<day>[0-9]{2})/(?P<slug>[-\w]+)/$",
        views.ArticleDetailView.as_view(),
        name="article_detail",
    ),
    path("search/", search.search_view, name="search"),
    path("feeds/latest/", feeds.LatestFeed(), name="latest_feed"),
    path("section/<str:slug>/feed/", feeds.SectionFeed(), name="section_feed"),
    path("author/<str:slug>/feed/", feeds.AuthorFeed(), name="author_feed"),
    path("preview/<int:pk>/", views.article_preview, name="preview"),
    path("preview/shared/<str:token>/", views.article_shared_preview, name="shared_preview"),
    path("section/<str:slug>/", views.SectionView.as_view(), name="section_detail"),
    path("tag/<str:slug>/", views.TagView.as_view(), name="tag_detail"),
    path("author/<str:slug>/", views.AuthorView.as_view(), name="author_detail"),
    path("corrections/", views.CorrectionListView.as_view(), name="corrections"),
    path("brand/logo.png", brand.publisher_logo, name="publisher_logo"),
    path("brand/share.png", brand.share_image, name="share_image"),
]
