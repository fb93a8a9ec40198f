import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.test import RequestFactory
from django.urls import reverse

from articles.models import Article
from photos.models import Photo
from photos.widgets import PhotoChooserAdminMixin, PhotoChooserWidget
from tests.factories import PhotoFactory, UserFactory, photo_with_renditions
from tests.photos import samples
from tests.photos.conftest import upload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:photos_photo_changelist"


def test_library_list_shows_thumbnails_with_their_size(client, editor):
    ready = photo_with_renditions(image=ContentFile(samples.jpeg(width=800, height=450), name="a"))
    waiting = PhotoFactory()
    client.force_login(editor)

    page = client.get(reverse(CHANGELIST)).content.decode()

    rendition = f"/media/photos/renditions/{ready.pk}/{ready.file_hash[:16]}-v1/w320.webp"
    assert f'<img src="{rendition}" width="80" height="45"' in page
    assert f'<img src="{waiting.image.url}" width="80" height="45"' in page


def test_library_list_costs_the_same_queries_for_more_photos(
    client, editor, django_assert_max_num_queries
):
    client.force_login(editor)
    PhotoFactory.create_batch(2, uploaded_by=editor)
    with django_assert_max_num_queries(50) as few:
        client.get(reverse(CHANGELIST))
    PhotoFactory.create_batch(6, uploaded_by=UserFactory())

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse(CHANGELIST))


@pytest.mark.parametrize(
    ("term", "found"),
    [("Aleppo", "caption"), ("Reuters", "credit"), ("armoured", "alt text"), ("DSC", "title")],
)
def test_library_search_covers_caption_credit_alt_text_and_title(client, editor, term, found):
    PhotoFactory(caption="Dusk in Aleppo", credit="AFP", alt_text="", title="")
    PhotoFactory(caption="", credit="Reuters", alt_text="", title="")
    PhotoFactory(caption="", credit="", alt_text="An armoured car", title="")
    PhotoFactory(caption="", credit="", alt_text="", title="DSC_0042")
    client.force_login(editor)

    response = client.get(reverse(CHANGELIST), {"q": term})

    assert response.context["cl"].result_count == 1, found


def test_library_filters_find_photos_missing_credit_or_alt_text(client, editor):
    no_credit = PhotoFactory(credit="")
    no_alt = PhotoFactory(alt_text="")
    PhotoFactory(alt_text="", is_decorative=True)
    client.force_login(editor)

    def results(**query):
        return set(client.get(reverse(CHANGELIST), query).context["cl"].result_list)

    assert results(needs="credit") == {no_credit}
    assert results(needs="alt") == {no_alt}


def test_library_filter_tells_ready_photos_from_waiting_ones(client, editor):
    ready = photo_with_renditions()
    waiting = PhotoFactory()
    client.force_login(editor)

    def results(**query):
        return set(client.get(reverse(CHANGELIST), query).context["cl"].result_list)

    assert results(renditions="ready") == {ready}
    assert results(renditions="waiting") == {waiting}


def test_change_form_previews_the_photo_and_shows_file_facts(client, editor):
    photo = photo_with_renditions(image=ContentFile(samples.jpeg(width=1600, height=900), name="a"))
    client.force_login(editor)

    page = client.get(reverse("admin:photos_photo_change", args=[photo.pk])).content.decode()

    preview = f"/media/photos/renditions/{photo.pk}/{photo.file_hash[:16]}-v1/w640.webp"
    assert f'<img src="{preview}" width="1600" height="900"' in page
    assert photo.file_hash in page
    assert "1,600 × 900" in page
    assert "photos/focal-point" in page


def test_changing_the_caption_keeps_the_file_and_its_renditions(client, editor):
    photo = photo_with_renditions()
    client.force_login(editor)

    response = client.post(
        reverse("admin:photos_photo_change", args=[photo.pk]),
        {"title": "", "caption": "New caption", "credit": "AFP", "alt_text": "A street",
         "focal_point_x": "", "focal_point_y": ""},
    )  # fmt: skip

    assert response.status_code == 302
    saved = Photo.objects.get(pk=photo.pk)
    assert (saved.caption, saved.image.name) == ("New caption", photo.image.name)
    assert saved.card_renditions_ready


def test_one_focal_point_number_alone_is_refused(client, editor):
    photo = PhotoFactory()
    client.force_login(editor)

    response = client.post(
        reverse("admin:photos_photo_change", args=[photo.pk]),
        {"title": "", "caption": "", "credit": "", "alt_text": "",
         "focal_point_x": "0.3", "focal_point_y": ""},
    )  # fmt: skip

    assert response.status_code == 200
    assert "Give both focal point numbers" in response.content.decode()


def test_a_reporter_can_add_photos_but_not_delete_them(client, reporter):
    photo = PhotoFactory()
    client.force_login(reporter)

    added = client.post(
        reverse("admin:photos_photo_add"),
        {"image": upload("a.jpg", samples.jpeg()), "caption": "", "credit": "", "title": "",
         "alt_text": ""},
    )  # fmt: skip
    deleted = client.post(reverse("admin:photos_photo_delete", args=[photo.pk]), {"post": "yes"})

    assert added.status_code == 302
    assert Photo.objects.filter(uploaded_by=reporter).exists()
    assert deleted.status_code == 403


def lead_photo_widget(**options):
    return PhotoChooserWidget(
        Article._meta.get_field("lead_photo").remote_field, admin.site, **options
    )


def test_chooser_shows_the_chosen_photo_with_caption_credit_and_gaps():
    photo = photo_with_renditions(caption="Aleppo at dusk", credit="", alt_text="")

    html = lead_photo_widget(can_add=True).render("lead_photo", photo.pk, {"id": "id_lead_photo"})

    assert "/media/photos/renditions/" in html and 'width="160"' in html
    assert "Aleppo at dusk" in html
    assert "No credit yet." in html and "No alt text yet" in html
    assert 'id="lookup_id_lead_photo"' in html
    assert 'id="add_id_lead_photo"' in html
    assert "<script" not in html


def test_chooser_says_when_no_photo_or_an_unknown_one_is_chosen():
    widget = lead_photo_widget()

    assert "No photo chosen." in widget.render("lead_photo", None, {"id": "id_lead_photo"})
    assert "no photo number 999" in widget.render("lead_photo", 999, {"id": "id_lead_photo"})
    assert "add_id_lead_photo" not in widget.render("lead_photo", None, {"id": "id_lead_photo"})


def test_chooser_mixin_puts_the_widget_on_the_named_foreign_keys(reporter):
    class ArticleAdmin(PhotoChooserAdminMixin, admin.ModelAdmin):
        raw_id_fields = ["lead_photo"]
        photo_chooser_fields = ["lead_photo"]

    request = RequestFactory().get("/admin/")
    request.user = reporter

    form = ArticleAdmin(Article, admin.site).get_form(request)

    widget = form.base_fields["lead_photo"].widget
    assert isinstance(widget, PhotoChooserWidget) and widget.can_add


def test_chooser_summary_answers_staff_with_the_photo(client, reporter):
    photo = PhotoFactory(caption="A market", credit="AFP", alt_text="Stalls")
    client.force_login(reporter)

    response = client.get(reverse("photos:chooser_summary", args=[photo.pk]))

    assert response.json() == {
        "id": photo.pk,
        "label": "A market",
        "caption": "A market",
        "credit": "AFP",
        "change_url": reverse("admin:photos_photo_change", args=[photo.pk]),
        "thumbnail": {"url": photo.image.url, "width": 160, "height": 90},
        "gaps": [],
    }


def test_chooser_summary_is_for_staff_only(client):
    photo = PhotoFactory()
    assert client.get(reverse("photos:chooser_summary", args=[photo.pk])).status_code == 403

    client.force_login(UserFactory(is_staff=False))
    assert client.get(reverse("photos:chooser_summary", args=[photo.pk])).status_code == 403


def test_chooser_summary_of_an_unknown_photo_is_404(client, reporter):
    client.force_login(reporter)

    response = client.get(reverse("photos:chooser_summary", args=[424242]))

    assert response.status_code == 404
    assert "no photo number 424242" in response.json()["error"]["message"]


def test_add_form_explains_the_limits_and_what_the_file_fills_in(client, reporter):
    client.force_login(reporter)

    page = client.get(reverse("admin:photos_photo_add")).content.decode()

    assert 'accept="image/jpeg,image/png,image/webp,image/gif"' in page
    assert "up to 25 MB and 40 megapixels" in page
    assert "Leave these empty to use what the photographer or agency wrote" in page
