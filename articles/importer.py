"""Read stories in the plain-text format of scraped news pages.

The format, line by line (see the seed story in ``newsroom/demo/``)::

    Headline
    Published December 13th, 2016 - 12:12 GMT
    Caption of the lead photo. (Credit)          <- optional, may be repeated verbatim
                                                 <- blank line
    Body paragraph.                              <- paragraphs separated by blank lines
    ...
    AM                                           <- optional short byline
    Follow the Loop on Twitter and Facebook      <- optional site boilerplate, names the section
    Subscribe
    Sign up to our newsletter ...

Parsing is pure: it returns a ``ParsedStory`` or raises ``StoryFormatError`` naming the
line at fault, and touches no database.
"""

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

MONTHS = {
    name: number
    for number, name in enumerate(
        ["january", "february", "march", "april", "may", "june", "july",
         "august", "september", "october", "november", "december"],
        start=1,
    )
}  # fmt: skip
MONTHS.update({name[:3]: number for name, number in list(MONTHS.items())})

DATE_LINE = re.compile(
    r"^Published\s+(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
    r"\s*[-–—]\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<zone>\S+)?\s*$",
    re.IGNORECASE,
)
CAPTION_LINE = re.compile(r"^(?P<caption>.*?)\s*\((?P<credit>[^()]+)\)\s*$")
FOLLOW_LINE = re.compile(
    r"^Follow\s+(?P<the>the\s+)?(?P<name>.+?)\s+on\s+(Twitter|Facebook|X|Instagram)\b.*$",
    re.IGNORECASE,
)
BOILERPLATE_LINES = (
    re.compile(r"^Subscribe\s*$", re.IGNORECASE),
    re.compile(r"^Sign up (to|for) our newsletter\b.*$", re.IGNORECASE),
    FOLLOW_LINE,
)
BYLINE_MAX_WORDS = 5
BYLINE_MAX_LENGTH = 60
UTC_ZONES = {"GMT", "UTC", "Z", "UT"}
OFFSET_ZONE = re.compile(r"^(?:GMT|UTC)?(?P<sign>[+-])(?P<hours>\d{1,2}):?(?P<minutes>\d{2})?$")


class StoryFormatError(ValueError):
    """A story file that cannot be read; ``line`` is 1-based, as editors count."""

    def __init__(self, message, *, line):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"{self.line}: {self.message}"


@dataclass
class ParsedStory:
    headline: str
    published_at: datetime
    paragraphs: list[str]
    caption: str = ""
    credit: str = ""
    byline: str = ""
    section_name: str = ""

    @property
    def body_html(self):
        """Return the body as HTML paragraphs, the text kept exactly and escaped."""
        from django.utils.html import escape

        return "\n".join(f"<p>{escape(paragraph)}</p>" for paragraph in self.paragraphs)


def decode_story(raw):
    """Return the text of a story file's bytes: UTF-8 with or without BOM, any line endings."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise StoryFormatError(
            "the file is not UTF-8 text (save it as UTF-8 and try again)", line=line
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_story(text):
    """Return the story in ``text``, or raise ``StoryFormatError`` naming the faulty line."""
    lines = [(number, line.rstrip()) for number, line in enumerate(text.split("\n"), start=1)]
    content = [(number, line) for number, line in lines if line.strip()]
    if not content:
        raise StoryFormatError("the file is empty; expected a headline on the first line", line=1)

    headline_number, headline = content[0]
    headline = headline.strip()
    if DATE_LINE.match(headline):
        raise StoryFormatError(
            "the file starts with the date line; expected a headline first", line=headline_number
        )
    if len(headline) > 255:
        raise StoryFormatError(
            f"the headline is {len(headline)} characters long; at most 255 are allowed",
            line=headline_number,
        )

    if len(content) < 2:
        raise StoryFormatError(
            "expected a date line such as 'Published December 13th, 2016 - 12:12 GMT' "
            "after the headline, but the file ends",
            line=headline_number + 1,
        )
    date_number, date_line = content[1]
    published_at = parse_date_line(date_line.strip(), line=date_number)

    index = date_number  # 0-based index of the line after the date line
    caption, credit, index = read_caption(lines, index)
    remaining = lines[index:]
    remaining, section_name = strip_boilerplate(remaining)
    paragraphs = split_paragraphs(remaining)

    byline = ""
    if len(paragraphs) > 1 and looks_like_byline(paragraphs[-1]):
        byline = re.sub(r"^By\s+", "", paragraphs.pop(), flags=re.IGNORECASE)
    if not paragraphs:
        raise StoryFormatError(
            "the story has no body text after the date line", line=date_number + 1
        )
    return ParsedStory(
        headline=headline,
        published_at=published_at,
        paragraphs=paragraphs,
        caption=caption,
        credit=credit,
        byline=byline,
        section_name=section_name,
    )


def parse_date_line(text, *, line):
    """Return the aware datetime of a ``Published <Month> <day>th, <year> - HH:MM <ZONE>`` line."""
    match = DATE_LINE.match(text)
    if not match:
        raise StoryFormatError(
            f"cannot read the date line {text!r}; expected a line such as "
            "'Published December 13th, 2016 - 12:12 GMT'",
            line=line,
        )
    month = MONTHS.get(match["month"].lower())
    if month is None:
        raise StoryFormatError(f"{match['month']!r} is not a month name", line=line)
    zone = parse_zone(match["zone"] or "GMT", line=line)
    try:
        local = datetime(
            int(match["year"]), month, int(match["day"]), int(match["hour"]), int(match["minute"])
        )
    except ValueError as error:
        raise StoryFormatError(
            f"the date in {text!r} does not exist ({error})", line=line
        ) from error
    return local.replace(tzinfo=zone).astimezone(UTC)


def parse_zone(name, *, line):
    """Return the time zone named in a date line: GMT/UTC, an offset, or an IANA name."""
    if name.upper() in UTC_ZONES:
        return UTC
    offset = OFFSET_ZONE.match(name.upper())
    if offset:
        delta = timedelta(hours=int(offset["hours"]), minutes=int(offset["minutes"] or 0))
        return timezone(delta if offset["sign"] == "+" else -delta)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise StoryFormatError(
            f"unknown time zone {name!r}; use GMT, UTC, an offset such as +03:00, "
            "or a zone name such as Asia/Beirut",
            line=line,
        ) from None


def read_caption(lines, index):
    """Return (caption, credit, next index) for the caption block right after the date line.

    The caption block is the run of non-blank lines directly under the date line when every
    one of them ends in a bracketed credit; scraped pages repeat the caption, so identical
    lines count once.
    """
    block = []
    while index < len(lines) and lines[index][1].strip():
        block.append(lines[index][1].strip())
        index += 1
    if not block:
        return "", "", index
    matches = [CAPTION_LINE.match(line) for line in block]
    if not all(matches) or len(set(block)) > 1:
        # Not a caption: the block is the first body paragraph.
        return "", "", index - len(block)
    return matches[0]["caption"], matches[0]["credit"].strip(), index


def strip_boilerplate(lines):
    """Return the lines without trailing site boilerplate, and the section it names, if any."""
    section_name = ""
    end = len(lines)
    while end > 0:
        text = lines[end - 1][1].strip()
        if not text:
            end -= 1
            continue
        if not any(pattern.match(text) for pattern in BOILERPLATE_LINES):
            break
        follow = FOLLOW_LINE.match(text)
        if follow:
            name = follow["name"].strip()
            section_name = f"The {name}" if follow["the"] else name
        end -= 1
    return lines[:end], section_name


def split_paragraphs(lines):
    """Return the paragraphs, the text kept exactly: runs of lines between blank lines."""
    paragraphs, current = [], []
    for _, line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def looks_like_byline(paragraph):
    """Return whether a closing paragraph is a byline ("AM", "Staff", "By Jane Doe")."""
    words = paragraph.split()
    return (
        len(paragraph) <= BYLINE_MAX_LENGTH
        and len(words) <= BYLINE_MAX_WORDS
        and not paragraph.rstrip().endswith((".", "!", "?", ":", ";", '"', "”", ","))
    )
