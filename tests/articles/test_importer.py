from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from reversion.models import Version

from articles.importer import StoryFormatError, decode_story, parse_story
from articles.models import Article, Section
from articles.revisions import StoryEditedError
from articles.services import article_import
from photos.models import Photo
from tests.articles.admin_forms import change_url, form_data
from tests.factories import PASSWORD, SEED, SectionFactory, UserFactory, image_bytes

STORY = """Storm closes the port for a second day
Published March 2nd, 2021 - 08:05 GMT
Waves breaking over the harbour wall. (Reuters)

The port stayed shut on Tuesday as the storm went on.

Ferries were held in harbour until the evening.

Staff
"""


def parse(text):
    return parse_story(decode_story(text.encode("utf-8")))


def test_seed_story_is_read_faithfully():
    story = parse_story(decode_story(SEED.read_bytes()))

    assert story.headline == (
        "Aleppo residents tweet harrowing goodbyes as government forces advance"
    )
    assert story.published_at == datetime(2016, 12, 13, 12, 12, tzinfo=UTC)
    assert story.caption == "Syrian pro-government forces in Aleppo."
    assert story.credit == "AFP/File"
    assert story.byline == "AM"
    assert story.section_name == "The Loop"
    assert len(story.paragraphs) == 10
    assert story.paragraphs[0].startswith("Residents of Aleppo have sent out desperate")
    # The text is kept exactly as published, typos included.
    assert "continues to disintegrate,Twitter has been inundated" in story.paragraphs[6]
    assert story.paragraphs[-1].endswith("peace appears far from the horizon.")
    assert not any("Subscribe" in p or "Follow the Loop" in p for p in story.paragraphs)


def test_story_without_photo_line_has_no_caption():
    story = parse(STORY.replace("Waves breaking over the harbour wall. (Reuters)\n", ""))

    assert story.caption == "" and story.credit == ""
    assert story.paragraphs[0] == "The port stayed shut on Tuesday as the storm went on."


def test_story_without_byline_keeps_its_last_paragraph():
    story = parse(STORY.replace("Staff\n", ""))

    assert story.byline == ""
    assert story.paragraphs[-1] == "Ferries were held in harbour until the evening."


def test_written_out_byline_drops_the_word_by():
    story = parse(STORY.replace("Staff\n", "By Jane Doe\n"))

    assert story.byline == "Jane Doe"


def test_crlf_line_endings_and_byte_order_mark_are_read():
    raw = b"\xef\xbb\xbf" + STORY.replace("\n", "\r\n").encode("utf-8")

    story = parse_story(decode_story(raw))

    assert story.headline == "Storm closes the port for a second day"
    assert story.credit == "Reuters"
    assert story.paragraphs == [
        "The port stayed shut on Tuesday as the storm went on.",
        "Ferries were held in harbour until the evening.",
    ]


def test_arabic_story_is_read():
    text = (
        "سكان حلب يودعون العالم عبر تويتر\n"
        "Published December 13th, 2016 - 14:30 Asia/Damascus\n\n"
        "أرسل سكان حلب رسائل وداع عبر مواقع التواصل الاجتماعي.\n\n"
        "وقالت الأمم المتحدة إن لديها أدلة موثوقة.\n"
    )

    story = parse(text)

    assert story.headline == "سكان حلب يودعون العالم عبر تويتر"
    # Damascus was on UTC+2 in winter 2016 (it moved to UTC+3 all year in 2022).
    assert story.published_at == datetime(2016, 12, 13, 12, 30, tzinfo=UTC)
    assert story.paragraphs[1] == "وقالت الأمم المتحدة إن لديها أدلة موثوقة."


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("\n\n  \n", 1, "empty"),
        ("Headline only\n", 2, "date line"),
        ("Headline\nPublished Smarch 45th, 2016 - 12:12 GMT\n\nBody.\n", 2, "month"),
        ("Headline\nPublished February 30th, 2016 - 12:12 GMT\n\nBody.\n", 2, "does not exist"),
        ("Headline\nYesterday at noon\n\nBody.\n", 2, "cannot read the date"),
        ("Headline\nPublished May 1st, 2020 - 10:00 Mars/Olympus\n\nBody.\n", 2, "time zone"),
        ("Headline\nPublished May 1st, 2020 - 10:00 GMT\n", 3, "no body"),
        ("Published May 1st, 2020 - 10:00 GMT\n\nBody.\n", 1, "headline first"),
    ],
)
def test_malformed_story_names_the_line_at_fault(text, line, words):
    with pytest.raises(StoryFormatError) as raised:
        parse(text)

    assert raised.value.line == line
    assert words in raised.value.message


def test_non_utf8_file_is_refused_with_its_line():
    with pytest.raises(StoryFormatError) as raised:
        decode_story(b"Headline\nPublished\n" + "caf\xe9".encode("latin-1"))

    assert raised.value.line == 3
    assert "UTF-8" in raised.value.message


@pytest.mark.django_db
def test_import_command_creates_then_updates_the_same_story(tmp_path, capsys):
    photo = tmp_path / "lead.jpg"
    photo.write_bytes(image_bytes())

    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))

    article = Article.objects.get()
    assert Photo.objects.count() == 1
    assert article.status == Article.Status.PUBLISHED
    assert article.section.name == "The Loop"
    assert article.byline == "AM"
    assert article.lead_photo.caption == "Syrian pro-government forces in Aleppo."
    assert article.lead_photo.credit == "AFP/File"
    assert article.body.count("<p>") == 10
    output = capsys.readouterr().out
    assert "1 created, 0 updated" in output and "0 created, 1 updated" in output


@pytest.mark.django_db
def test_import_command_files_into_the_section_given():
    section = SectionFactory(name="World", slug="world")

    call_command("import_article", str(SEED), "--section", "world")

    article = Article.objects.get()
    assert article.section == section
    assert article.status == Article.Status.DRAFT
    assert not Section.objects.filter(name="The Loop").exists()


@pytest.mark.django_db
def test_unknown_section_is_refused():
    with pytest.raises(CommandError, match="No section with the slug 'nowhere'"):
        call_command("import_article", str(SEED), "--section", "nowhere")

    assert not Article.objects.exists()


@pytest.mark.django_db
def test_one_malformed_file_saves_nothing_and_names_file_and_line(tmp_path, capsys):
    (tmp_path / "a_good.txt").write_text(STORY, encoding="utf-8")
    bad = tmp_path / "b_bad.txt"
    bad.write_text("Headline\nPublished Someday - 12:12 GMT\n\nBody.\n", encoding="utf-8")

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_article", str(tmp_path))

    assert f"{bad}:2: cannot read the date line" in capsys.readouterr().err
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_folder_import_shows_progress_and_summary(tmp_path, capsys):
    for number in range(3):
        (tmp_path / f"story{number}.txt").write_text(
            STORY.replace("second day", f"day {number}"), encoding="utf-8"
        )

    call_command("import_article", str(tmp_path), "--publish")

    output = capsys.readouterr().out
    assert "[1/3] created" in output and "[3/3] created" in output
    assert "Imported 3 stories: 3 created, 0 updated." in output
    assert Article.objects.published().count() == 3


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import_article", str(tmp_path / "nope.txt"))


def test_two_files_with_the_same_name_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "story.txt").write_text(STORY, encoding="utf-8")

    with pytest.raises(CommandError, match="have the same name"):
        call_command("import_article", str(tmp_path))


# Re-imports and edits made in the admin ----------------------------------------------

SEED_HEADLINE = "Aleppo residents tweet harrowing goodbyes as government forces advance"


def edit_in_admin(client, article, **fields):
    response = client.post(change_url(article), form_data(article, **fields))
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture
def desk_editor(client):
    editor = UserFactory(username="zeina", first_name="Zeina", last_name="Haddad", role="Editor")
    assert client.login(username="zeina", password=PASSWORD)
    return editor


@pytest.mark.django_db
def test_reimport_refuses_a_story_edited_in_the_admin_and_names_who_edited_it(
    tmp_path, client, desk_editor, capsys
):
    folder = tmp_path / "wire"
    folder.mkdir()
    seed = folder / SEED.name
    seed.write_bytes(SEED.read_bytes())
    other = folder / "storm.txt"
    other.write_text(STORY, encoding="utf-8")
    call_command("import_article", str(folder))
    article = Article.objects.get(import_key=seed.stem)

    # A save that leaves alone what the import writes is no reason to refuse.
    edit_in_admin(client, article, dek="Added by the desk.")
    call_command("import_article", str(folder))
    article.refresh_from_db()
    assert article.dek == "Added by the desk."

    edit_in_admin(client, article, body="<p>Rewritten by the desk.</p>")
    other.write_text(STORY.replace("second day", "third day"), encoding="utf-8")
    capsys.readouterr()
    with pytest.raises(CommandError, match="1 story was edited since the last import"):
        call_command("import_article", str(folder))

    error = capsys.readouterr().err
    edited_at = Version.objects.get_for_object(article).first().revision.date_created
    when = timezone.localtime(edited_at).strftime("%d %b %Y %H:%M %Z")
    assert f'{seed}: "{SEED_HEADLINE}" edited by Zeina Haddad at {when}' in error
    article.refresh_from_db()
    assert article.body == "<p>Rewritten by the desk.</p>"
    # Nothing half-saved: the unedited story was not updated either.
    assert Article.objects.get(import_key="storm").headline.endswith("second day")


@pytest.mark.django_db
def test_only_force_overwrites_the_edit_which_stays_in_the_history(client, desk_editor):
    call_command("import_article", str(SEED))
    article = Article.objects.get()
    edit_in_admin(client, article, headline="A headline the desk rewrote")
    with pytest.raises(CommandError, match="Re-run with --force"):
        call_command("import_article", str(SEED))

    call_command("import_article", str(SEED), "--force")

    article.refresh_from_db()
    assert article.headline == SEED_HEADLINE
    headlines = [v.field_dict["headline"] for v in Version.objects.get_for_object(article)]
    assert "A headline the desk rewrote" in headlines


@pytest.mark.django_db
def test_reimport_refuses_a_change_saved_without_a_revision(capsys):
    call_command("import_article", str(SEED))
    Article.objects.update(byline="Changed from the shell")

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_article", str(SEED))

    assert "edited by someone outside the admin" in capsys.readouterr().err
    assert Article.objects.get().byline == "Changed from the shell"


@pytest.mark.django_db
def test_the_import_service_refuses_an_edited_story_too(desk_editor, client):
    call_command("import_article", str(SEED))
    article = Article.objects.get()
    edit_in_admin(client, article, byline="ZH")
    story = parse_story(decode_story(SEED.read_bytes()))

    with pytest.raises(StoryEditedError, match="edited by Zeina Haddad"):
        article_import(story=story, import_key=SEED.stem)

    article.refresh_from_db()
    assert article.byline == "ZH"


# The lead photo's caption and credit without --photo ----------------------------------


@pytest.mark.django_db
def test_import_without_photo_keeps_caption_and_credit_on_a_photo_awaiting_its_file(
    tmp_path, capsys
):
    plain = tmp_path / "plain.txt"
    plain.write_text(
        STORY.replace("Waves breaking over the harbour wall. (Reuters)\n", ""), encoding="utf-8"
    )

    call_command("import_article", str(SEED), str(plain))
    call_command("import_article", str(SEED), str(plain))

    photo = Article.objects.get(import_key=SEED.stem).lead_photo
    assert photo.caption == "Syrian pro-government forces in Aleppo."
    assert photo.credit == "AFP/File"
    assert not photo.image
    assert Photo.objects.count() == 1  # the re-import reused it
    assert Article.objects.get(import_key="plain").lead_photo is None
    assert "awaiting its image file" in capsys.readouterr().out
