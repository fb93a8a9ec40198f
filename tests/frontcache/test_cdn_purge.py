"""Purges reach a CDN in the request format its API documents (Fastly, Cloudflare)."""

import socket

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from articles.models import Article
from tests.factories import ArticleFactory, PhotoFactory, TagFactory
from tests.frontcache.recording_server import RecordingServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def cdn_api():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
def fastly(settings, cdn_api):
    settings.CDN_PURGE = "fastly"
    settings.FASTLY_API_URL = cdn_api.url
    settings.FASTLY_API_TOKEN = "fastly-token-from-the-environment"
    settings.FASTLY_SERVICE_ID = "SU1Z0isxPaozGVKXdv0eY"
    return cdn_api


@pytest.fixture
def cloudflare(settings, cdn_api):
    settings.CDN_PURGE = "cloudflare"
    settings.CLOUDFLARE_API_URL = cdn_api.url + "/client/v4"
    settings.CLOUDFLARE_API_TOKEN = "cloudflare-token-from-the-environment"
    settings.CLOUDFLARE_ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
    cdn_api.body = b'{"success": true, "errors": [], "messages": [], "result": {"id": "x"}}'
    return cdn_api


def keys_sent_to_fastly(request):
    return set(request.headers["surrogate-key"].split())


def test_a_headline_edit_soft_purges_the_story_at_fastly(
    fastly, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        story = ArticleFactory()
    fastly.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        story.headline = "Council approves the new budget"
        story.save()

    (request,) = fastly.requests
    assert request.method == "POST"
    assert request.path == "/service/SU1Z0isxPaozGVKXdv0eY/purge"
    assert request.headers["fastly-key"] == "fastly-token-from-the-environment"
    assert request.headers["fastly-soft-purge"] == "1"
    assert f"article-{story.pk}" in keys_sent_to_fastly(request)


def test_a_withdrawal_is_a_hard_purge_at_fastly(fastly, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        story = ArticleFactory()
    fastly.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        story.status = Article.Status.WITHDRAWN
        story.save()

    hard = [request for request in fastly.requests if "fastly-soft-purge" not in request.headers]
    assert len(hard) == 1
    assert keys_sent_to_fastly(hard[0]) == {f"article-{story.pk}"}


def test_fastly_gets_at_most_256_keys_a_request(fastly, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tags = [TagFactory() for _ in range(150)]
    fastly.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for tag in tags:  # each rename touches the tag's own key and its listing's
            tag.name += " (renamed)"
            tag.save()

    assert [len(keys_sent_to_fastly(request)) for request in fastly.requests] == [256, 44]
    sent = set().union(*(keys_sent_to_fastly(request) for request in fastly.requests))
    assert sent == {key for tag in tags for key in (f"tag-{tag.pk}", f"tag-{tag.pk}-stories")}


def test_cloudflare_gets_tags_in_json_at_most_30_a_request(
    cloudflare, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photos = [PhotoFactory(image=None) for _ in range(40)]
    cloudflare.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for photo in photos:
            photo.credit = "AFP"
            photo.save()

    assert [request.path for request in cloudflare.requests] == [
        "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/purge_cache"
    ] * 2
    first = cloudflare.requests[0]
    assert first.headers["authorization"] == "Bearer cloudflare-token-from-the-environment"
    assert first.headers["content-type"] == "application/json"
    assert [len(request.json()["tags"]) for request in cloudflare.requests] == [30, 10]
    sent = {tag for request in cloudflare.requests for tag in request.json()["tags"]}
    assert sent == {f"photo-{photo.pk}" for photo in photos}


def test_pages_name_their_keys_in_the_header_a_cdn_reads(client, settings):
    story = ArticleFactory()

    settings.SURROGATE_KEY_HEADER = "Cache-Tag"
    cloudflare_tags = client.get(story.get_absolute_url())["Cache-Tag"].split(",")
    settings.SURROGATE_KEY_HEADER = "Surrogate-Key"
    fastly_keys = client.get(story.get_absolute_url())["Surrogate-Key"].split(" ")

    assert f"article-{story.pk}" in cloudflare_tags
    assert sorted(cloudflare_tags) == sorted(fastly_keys)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_a_purge_the_front_missed_goes_out_when_it_answers_again(settings):
    """Transactional: the purge is queued after a real commit and run by the real worker."""
    port = free_port()  # nothing listens here yet: the front is down
    settings.VARNISH_URLS = [f"http://127.0.0.1:{port}"]
    story = ArticleFactory()

    story.headline = "Flood warning lifted"
    story.save()

    queued = DBTaskResult.objects.filter(task_path="frontcache.tasks.purge_later")
    assert queued.count() >= 1
    front = RecordingServer(port=port).start()
    try:
        call_command(
            "db_worker", queue_name="default", batch=True, reload=False, startup_delay=False,
            verbosity=0,
        )  # fmt: skip
    finally:
        front.stop()

    purged = {
        key for request in front.requests for key in request.headers["xkey-softpurge"].split()
    }
    assert f"article-{story.pk}" in purged
    assert all(request.method == "PURGE" for request in front.requests)
    assert set(queued.values_list("status", flat=True)) == {"SUCCESSFUL"}
