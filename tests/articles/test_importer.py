from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from articles.importer import StoryFormatError, decode_story, parse_story
from articles.models import Article, Section
from photos.models import Photo
from tests.factories import SectionFactory, image_bytes

SEED = Path(__file__).resolve().parents[2] / "newsroom" / "demo" / "000_b29aaeb6f4026fa3.txt"

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
    # Where the social posts were embedded, the page left a gap.
    assert story.embed_gaps == [4]


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
