"""Readers through the real front: varnishd with deploy/varnish/newsroom.vcl before gunicorn.

One varnishd and one gunicorn serve the whole module (see conftest.py); each test starts
with an empty cache. "Within a second" is polled against a deadline, never assumed.
"""

import random
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article
from articles.services import article_publish
from frontcache import keys
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    SectionFactory,
    TagFactory,
    UserFactory,
)
from tests.frontcache.front_servers import (
    FRESH_WITHIN_SECONDS,
    STALE_WHILE_REVALIDATE,
    cached,
    eventually,
    fetch,
    shows_within_a_second,
    statuses,
)


@pytest.fixture
def newsroom(front):
    """A story with its section, tag and author, and an unrelated one elsewhere."""
    story = ArticleFactory(
        headline="Aleppo residents tweet harrowing goodbyes",
        section=SectionFactory(name="The Loop", slug="the-loop"),
        tags=[TagFactory(name="Syria", slug="syria")],
        authors=[AuthorFactory(name="Amal Mansour", slug="amal-mansour")],
    )
    unrelated = ArticleFactory(
        headline="Harbour regatta returns after three years",
        section=SectionFactory(name="Sport", slug="sport"),
        published_at=timezone.now() - timedelta(days=3),
    )
    return story, unrelated


def pages_showing(story):
    """Return every public page that lists ``story`` (its own page apart)."""
    section = story.section.slug
    author = story.bylines.get().author.slug
    return [
        "/",
        f"/section/{section}/",
        f"/tag/{story.tags.get().slug}/",
        f"/author/{author}/",
        "/feeds/latest/",
        f"/section/{section}/feed/",
        f"/author/{author}/feed/",
    ]


def test_a_second_reader_gets_the_story_from_the_cache(newsroom, front):
    story, _ = newsroom
    path = story.get_absolute_url()

    first = front.get(path)
    second = front.get(path)

    assert (first.status, first.cache) == (200, "MISS")
    assert (second.status, second.cache) == (200, "HIT")
    assert story.headline in second.text
    assert second.headers["Age"].isdigit()
    assert "xkey" not in {name.lower() for name in second.headers}
    assert "max-age=60" in second.headers["Cache-Control"]


def test_one_copy_serves_readers_with_and_without_gzip(newsroom, front):
    story, _ = newsroom
    path = story.get_absolute_url()
    front.get(path, headers={"Accept-Encoding": "gzip"})

    compressed = front.get(path, headers={"Accept-Encoding": "gzip, br"})
    plain = front.get(path)

    assert compressed.headers["Content-Encoding"] == "gzip"
    assert compressed.cache == "HIT"
    assert plain.cache == "HIT"
    assert "Content-Encoding" not in plain.headers
    assert story.headline in plain.text


def test_a_story_withdrawn_elsewhere_is_gone_from_the_front_within_a_second(newsroom, front):
    story, _ = newsroom
    editor = UserFactory(role="Editor")
    path = story.get_absolute_url()
    listings = ["/", f"/section/{story.section.slug}/", "/feeds/latest/"]
    for page in [path, *listings]:
        assert story.headline in cached(front, page).text

    front.manage_shell(
        "from django.contrib.auth import get_user_model\n"
        "from articles.models import Article\n"
        "from articles.services import article_withdraw\n"
        f"article_withdraw(article=Article.objects.get(pk={story.pk}),"
        f" user=get_user_model().objects.get(pk={editor.pk}))\n"
    )

    gone = eventually(lambda: front.get(path).status == 410, timeout=FRESH_WITHIN_SECONDS)
    assert gone, "the story still answered from the cache a second after its withdrawal"
    for page in listings:
        response = front.get(page)
        assert response.status == 200
        assert story.headline not in response.text, f"{page} still shows the withdrawn story"


def test_a_headline_edit_reaches_every_page_that_shows_the_story(newsroom, front):
    story, unrelated = newsroom
    pages = [story.get_absolute_url(), *pages_showing(story)]
    for page in [*pages, unrelated.get_absolute_url()]:
        cached(front, page)

    story.headline = "Aleppo residents say goodbye as evacuation begins"
    story.save()

    for page in pages:
        assert shows_within_a_second(front, page, story.headline), f"{page} kept the old headline"
        assert "Aleppo residents tweet harrowing goodbyes" not in front.get(page).text
    assert front.get(unrelated.get_absolute_url()).cache == "HIT"


def test_a_correction_appears_under_the_story(newsroom, front):
    story, unrelated = newsroom
    for page in [story.get_absolute_url(), "/corrections/", unrelated.get_absolute_url()]:
        cached(front, page)

    CorrectionFactory(article=story, text="An earlier version misspelt the minister's name.")

    for page in [story.get_absolute_url(), "/corrections/"]:
        assert shows_within_a_second(front, page, "misspelt the minister"), page
    assert front.get(unrelated.get_absolute_url()).cache == "HIT"


def test_a_new_story_appears_on_its_listings_and_feeds(newsroom, front):
    story, unrelated = newsroom
    pages = pages_showing(story)
    for page in [*pages, unrelated.get_absolute_url()]:
        cached(front, page)

    fresh = ArticleFactory(
        headline="Evacuation buses leave eastern Aleppo",
        section=story.section,
        tags=list(story.tags.all()),
        authors=[story.bylines.get().author],
    )

    for page in pages:
        assert shows_within_a_second(front, page, fresh.headline), f"{page} lacks the new story"
    assert front.get(fresh.get_absolute_url()).status == 200
    assert front.get(unrelated.get_absolute_url()).cache == "HIT"


def test_staff_with_a_session_are_never_served_from_the_cache(newsroom, front, client):
    story, _ = newsroom
    path = story.get_absolute_url()
    client.force_login(UserFactory(role="Editor"))
    staff = {"Cookie": f"_ga=GA1.1.1; sessionid={client.cookies['sessionid'].value}"}

    answers = [front.get(path, headers=staff) for _ in range(2)]
    reader = front.get(path, headers={"Cookie": "_ga=GA1.1.2"})

    assert [answer.cache for answer in answers] == ["MISS", "MISS"]
    assert all("private" in answer.headers["Cache-Control"] for answer in answers)
    assert front.app.requests_for(path) == 3
    # The reader's copy is the public one, rendered for nobody in particular.
    assert reader.cache == "MISS"
    assert "public" in reader.headers["Cache-Control"]
    assert front.get(path).cache == "HIT"


def test_posts_always_reach_the_application(newsroom, front):
    cached(front, "/")

    answers = [front.request("POST", "/", body=b"email=reader%40example.org") for _ in range(2)]

    assert [answer.cache for answer in answers] == ["MISS", "MISS"]
    assert front.app.requests_for("/", method="POST") == 2
    assert front.get("/").cache == "HIT"


def test_only_the_application_servers_may_purge(newsroom, front):
    story, _ = newsroom
    path = story.get_absolute_url()
    cached(front, path)

    relayed = front.request(
        "PURGE", "/", headers={"xkey-purge": keys.SITE, "X-Forwarded-For": "203.0.113.9"}
    )
    still_cached = front.get(path)
    purged = front.purge(hard=[keys.article(story.pk)])

    assert relayed.status == 405
    assert still_cached.cache == "HIT"
    assert purged.status == 200
    assert purged.text.split()[0].isdigit() and int(purged.text.split()[0]) >= 1
    assert front.get(path).cache == "MISS"


def test_a_soft_purged_page_is_served_stale_once_while_it_renders(newsroom, front):
    story, _ = newsroom
    path = story.get_absolute_url()
    cached(front, path)
    old_headline = story.headline

    Article.objects.filter(pk=story.pk).update(headline="A quieter headline")
    front.purge(soft=[keys.article(story.pk)])
    stale = front.get(path)

    assert (stale.status, stale.cache) == (200, "HIT")
    assert old_headline in stale.text
    assert shows_within_a_second(front, path, "A quieter headline")


def random_word(generator, length=8):
    return "".join(generator.choices(string.ascii_lowercase + string.digits, k=length))


def test_random_addresses_do_not_fill_the_cache(newsroom, front):
    story, _ = newsroom
    generator = random.Random(20161213)
    real = [story.get_absolute_url(), *pages_showing(story), "/corrections/", "/sitemap.xml"]
    for page in real:
        cached(front, page)
    objects_before = front.varnish.counter("MAIN.n_object")

    def random_path():
        word = random_word(generator)
        return generator.choice(
            [
                f"/{word}/",
                f"/section/{word}",  # Django adds the slash: a redirect, for any word
                f"/tag/{word}/",
                f"/2016/12/13/{word}/",
                f"/static/{word}.css",
            ]
        )

    def random_query():
        word = random_word(generator)
        return generator.choice(real) + generator.choice(
            [
                f"?{word}={random_word(generator, 4)}",
                f"?utm_source={word}&utm_medium=social",
                f"?page={generator.choice(['0', '-1', 'x', '1.5', '001', word])}",
                f"?page=00{generator.randint(1, 3)}&fbclid={word}",
                f"?p={word}&page=1",
            ]
        )

    # Each random path costs a render of the 404 page; the queries are answered by Varnish.
    addresses = [random_path() for _ in range(500)] + [random_query() for _ in range(9_500)]
    generator.shuffle(addresses)
    readers = 8
    with ThreadPoolExecutor(max_workers=readers) as pool:
        answered = [
            status
            for chunk in pool.map(
                lambda start: statuses(front.varnish.port, addresses[start::readers]),
                range(readers),
            )
            for status in chunk
        ]

    assert set(answered) <= {200, 301, 404}
    assert answered.count(200) > 5_000
    # ?page=2 and ?page=3 are the only other addresses kept, and they are 404s here.
    assert front.varnish.counter("MAIN.n_object") - objects_before <= 2


def test_tracking_parameters_share_the_story_copy(newsroom, front):
    story, _ = newsroom
    path = story.get_absolute_url()
    cached(front, path)

    tagged = front.get(f"{path}?utm_source=x")

    assert tagged.cache == "HIT"
    assert front.app.requests_for(path) == 1
    assert front.app.requests_for(f"{path}?utm_source=x") == 0


def test_a_scheduled_story_appears_on_the_home_page_at_its_time(newsroom, front):
    story, _ = newsroom
    cached(front, "/")
    scheduled = ArticleFactory(
        headline="Ceasefire talks resume in Geneva",
        section=story.section,
        byline="AFP",
        status=Article.Status.DRAFT,
        published_at=None,
    )
    publish_at = timezone.now() + timedelta(seconds=3)
    article_publish(article=scheduled, user=UserFactory(role="Editor"), at=publish_at)
    assert scheduled.headline not in front.get("/").text

    time.sleep(max(0, (publish_at - timezone.now()).total_seconds()))
    # Listings live until the next publication, rounded up to the second; the first reader
    # after that may get the old page while the new one renders (stale-while-revalidate).
    appeared = eventually(
        lambda: scheduled.headline in front.get("/").text, timeout=1 + FRESH_WITHIN_SECONDS
    )
    assert appeared, "the scheduled story did not reach the cached home page at its time"


def test_readers_arriving_together_cost_one_render(newsroom, front):
    story, _ = newsroom
    path = story.get_absolute_url()
    readers = 10
    waiting_before = front.varnish.counter("MAIN.busy_sleep")
    answers = []

    def read():
        answers.append(fetch(front.varnish.port, path, timeout=20))

    front.pause_app()
    try:
        threads = [threading.Thread(target=read) for _ in range(readers)]
        for thread in threads:
            thread.start()
        # Everyone but the first waits in Varnish for the one render.
        all_waiting = eventually(
            lambda: front.varnish.counter("MAIN.busy_sleep") - waiting_before >= readers - 1,
            timeout=5,
            interval=0.05,
        )
    finally:
        front.resume_app()
    for thread in threads:
        thread.join(timeout=20)

    assert all_waiting
    assert [answer.status for answer in answers] == [200] * readers
    assert sorted(answer.cache for answer in answers) == ["HIT"] * (readers - 1) + ["MISS"]
    assert front.app.requests_for(path) == 1


def test_readers_get_cached_pages_while_the_application_is_down(newsroom, front):
    story, unrelated = newsroom
    path = story.get_absolute_url()
    cached(front, path)
    # Stale, and for longer than stale-while-revalidate by the time the probe gives up:
    # from then on only stale-if-error lets Varnish serve it.
    front.purge(soft=[keys.article(story.pk)])
    purged_at = time.monotonic()

    front.stop_app()
    try:
        assert eventually(
            lambda: not front.varnish.backend_is_healthy(), timeout=15, interval=0.2
        ), "the health probe never noticed gunicorn had stopped"
        time.sleep(max(0, STALE_WHILE_REVALIDATE + 0.5 - (time.monotonic() - purged_at)))

        still_there = front.get(path)
        never_cached = front.get(unrelated.get_absolute_url())
    finally:
        front.app.start()  # the next test waits for the probe to call it healthy again

    assert still_there.status == 200
    assert story.headline in still_there.text
    assert never_cached.status == 503
    assert "We'll be right back" in never_cached.text
    assert never_cached.headers["Content-Type"].startswith("text/html")
    assert never_cached.headers["Retry-After"].isdigit()
    assert "Guru Meditation" not in never_cached.text


def test_pages_outlive_an_application_answering_errors(front_before_failing_application):
    varnish, application = front_before_failing_application
    fetch(varnish.port, "/story/")
    application.failing = True

    never_cached = fetch(varnish.port, "/other-story/")
    time.sleep(application.FRONT_SECONDS + 0.2)
    # Stale: served while the background fetch fails, and that failure keeps the copy.
    while_revalidating = [fetch(varnish.port, "/story/") for _ in range(2)]
    time.sleep(application.STALE_WHILE_REVALIDATE + 0.2)
    # Too stale for a healthy backend, yet better than an error page.
    after_the_fetch_failed = fetch(varnish.port, "/story/")
    application.failing = False
    application.version = 2
    recovered = eventually(
        lambda: "version 2" in fetch(varnish.port, "/story/").text, timeout=FRESH_WITHIN_SECONDS
    )

    assert never_cached.status == 503
    assert "We'll be right back" in never_cached.text
    assert "Guru Meditation" not in never_cached.text
    for answer in [*while_revalidating, after_the_fetch_failed]:
        assert (answer.status, answer.cache) == (200, "HIT")
        assert "/story/ version 1" in answer.text
    assert recovered
