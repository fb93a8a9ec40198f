"""Fill the database with a realistic newsroom for benchmarks and load tests.

``bench/generate_stories.py --stories 10000`` writes sections, authors, tags, a few
shared lead photos and the stories themselves, with ordered bylines, tags and the odd
correction, in batches with ``bulk_create``. The text is pseudo-English drawn from word
lists by a seeded random generator: the same ``--seed`` gives the same newsroom, and
nothing is downloaded.

Everything generated is marked: stories by an ``import_key`` and sections, tags and
authors by a slug starting ``bench-``, photos by a title starting ``bench-``. ``--reset``
deletes exactly that, and nothing an editor made.

    .venv/bin/python bench/generate_stories.py --stories N [--sections 8] [--authors 200]
        [--tags 120] [--photos 20] [--seed 1] [--reset]

The database is the one Django's settings name (``DATABASE_URL``). Benchmarks that run
Django in their own process import ``generate_stories`` (and ``StoryWriter``, for text)
once Django is set up.
"""

import argparse
import io
import itertools
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import django

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import ProtectedError  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.html import escape  # noqa: E402
from django.utils.text import slugify  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from articles.html import sanitize_html  # noqa: E402
from articles.models import Article, ArticleAuthor, Author, Correction, Section, Tag  # noqa: E402
from articles.search import update_search_vectors  # noqa: E402
from articles.signals import search_vector_upkeep_paused  # noqa: E402
from frontcache.invalidation import site_changed  # noqa: E402
from photos.models import Photo  # noqa: E402
from photos.services import photo_build_renditions  # noqa: E402

MARK = "bench-"
BATCH_SIZE = 1000
SEARCH_VECTOR_BATCH_SIZE = 2500
PHOTO_SIZE = (1600, 900)

# What stories are about, most common first. Each story draws a dozen of these as its
# topic, flatly enough that, as in real news, the commonest ("council") is in about a
# third of the stories and the rarest ("lighthouse") in one or two in a hundred: a
# search for one or the other is a realistic broad or narrow search.
NOUNS = """
council government police hospital budget election school families city court workers
housing community minister water company market transport project service party centre
investigation funding energy road campaign children business tenants teachers patients
nurses doctors staff vote law crisis prices rents jobs homes schools roads trains buses
station airport harbour bridge library museum festival stadium club season match league
team coach players fans ticket strike protest rally union agreement contract deal talks
inquiry review survey study research university students scientists climate weather
storm flood drought heatwave fire emergency ambulance crews victims survivors witnesses
judge jury trial sentence appeal charity volunteers donors shops traders farmers harvest
fishing factory plant mine pipeline network broadband phone data privacy website app
software platform startup investors shares bank loan mortgage debt tax pension benefits
wages inflation economy growth exports imports tourism visitors hotel restaurant menu
chef film album artist gallery exhibition theatre concert book author mayor councillor
candidate opposition coalition cabinet parliament committee ministry agency regulator
watchdog ombudsman landlord developer architect planners permit licence ban fine penalty
warning deadline target record milestone anniversary memorial ceremony orchard vineyard
observatory monastery glacier volcano lighthouse
"""

# Words every kind of story uses.
GENERAL_NOUNS = """
officials residents people plan report week year month decision statement area group
members leaders figures changes rules number time
"""

# Phrases a reader would type in quotes; they appear where a noun would.
NOUN_PHRASES = """
city council|health service|police officers|water supply|flood defences|waiting times|
bus routes|local elections|social care|energy bills|housing estate|town hall|
primary school|high street|cost of living|public inquiry|planning application|
border crossing|peace talks|ceasefire agreement|aid convoy|power cuts|train services
"""

ADJECTIVES = """
new local national public major final early former senior rural coastal private annual
key regional independent emergency second large small historic controversial popular
fresh urgent temporary permanent long-awaited delayed free affordable modern old
northern southern eastern western central international domestic official unofficial
"""

# Present and past forms, for headlines and for body text.
VERBS = """
approves/approved rejects/rejected warns/warned promises/promised confirms/confirmed
criticises/criticised delays/delayed backs/backed opposes/opposed cuts/cut raises/raised
announces/announced launches/launched closes/closed opens/opened blocks/blocked
defends/defended questions/questioned investigates/investigated reviews/reviewed
extends/extended suspends/suspended restores/restored doubles/doubled halves/halved
funds/funded scraps/scrapped expands/expanded upgrades/upgraded reopens/reopened
welcomes/welcomed challenges/challenged supports/supported replaces/replaced
"""

PREPOSITIONS = "in on after before over with for against across despite amid near during"
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
PLACES = """
Northfield Eastbrook Riverside Harbourside Millbrook Ashford Kingsmere Westmoor
Fairhaven Oakridge Stonebridge Elmstead Brackley Greywater Highcliff Lowther
Redhill Saltmarsh Thornbury Whitcombe Aleppo Damascus Beirut Amman Cairo Tunis
"""
SPEAKERS = """
a spokesperson|officials|a spokeswoman|a spokesman|campaigners|residents|analysts|
the organisers|a source close to the talks|critics|supporters
"""
FIRST_NAMES = """
Amira Ben Chloe Daniel Elena Farid Grace Hassan Isla James Karim Laila Mark Nadia
Omar Priya Rachel Samir Tom Una Victor Wafa Yusuf Zara Adam Bella Carlos Dina Ethan
Fatima George Hana Ivan Jana Khalid Lucy Maya Noor Owen Rania Sophie Tariq Vera Will
"""
LAST_NAMES = """
Abbas Baker Carter Dawson Evans Farah Gallagher Haddad Ibrahim Jensen Khoury Lawson
Mansour Novak Okafor Patel Quinn Rahman Saleh Turner Usman Vance Walsh Yilmaz Zein
Ahmed Brennan Costa Duval Ellis Fischer Grant Hughes Iqbal Jones Kelly Lopez Murphy
Nasser O'Brien Price Reid Said Taylor Underwood Wright Young
"""
ROLES = [
    "Reporter", "Senior reporter", "Political correspondent", "Business editor",
    "Health correspondent", "Courts reporter", "Middle East correspondent",
    "Sports writer", "Arts critic", "Data journalist", "Community reporter",
]  # fmt: skip
SECTION_NAMES = [
    "News", "Politics", "Business", "World", "Sport", "Culture", "Science", "Opinion",
    "Health", "Technology", "Education", "Environment", "Travel", "Food", "Local",
]  # fmt: skip
AGENCY_BYLINES = ["Staff", "AFP", "Reuters", "PA"]
PHOTO_CREDITS = ["AFP/File", "Reuters", "Staff photo", "AP", "Getty Images"]
STORY_TYPES = [
    (Article.StoryType.NEWS, 80),
    (Article.StoryType.ANALYSIS, 10),
    (Article.StoryType.OPINION, 8),
    (Article.StoryType.SPONSORED, 2),
]


def words(text, separator=None):
    return [word.strip() for word in text.split(separator) if word.strip()]


class Vocabulary:
    """A word list drawn from with Zipf-like frequencies: the first word most often."""

    def __init__(self, items, rng, exponent=1.0):
        self.items = list(items)
        self.rng = rng
        self.cumulative_weights = list(
            itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(len(self.items)))
        )

    def pick(self):
        return self.rng.choices(self.items, cum_weights=self.cumulative_weights)[0]

    def sample(self, count):
        """Return ``count`` different items, the frequent ones more likely."""
        chosen = []
        while len(chosen) < min(count, len(self.items)):
            item = self.pick()
            if item not in chosen:
                chosen.append(item)
        return chosen


class StoryWriter:
    """Write headlines, standfirsts and bodies of pseudo-English news copy.

    ``begin_story()`` picks what the next story is about: its topic nouns and its place.
    """

    def __init__(self, rng):
        self.rng = rng
        self.topic_nouns = Vocabulary(words(NOUNS) + words(NOUN_PHRASES, "|"), rng, exponent=0.5)
        self.general_nouns = Vocabulary(words(GENERAL_NOUNS), rng)
        self.adjectives = Vocabulary(words(ADJECTIVES), rng)
        self.verbs = Vocabulary([verb.split("/") for verb in words(VERBS)], rng)
        self.prepositions = Vocabulary(words(PREPOSITIONS), rng)
        self.places = Vocabulary(words(PLACES), rng, exponent=0.7)
        self.speakers = Vocabulary(words(SPEAKERS, "|"), rng)
        self.people = [
            f"{first} {last}" for first in words(FIRST_NAMES) for last in words(LAST_NAMES)
        ]
        self.begin_story()

    def begin_story(self):
        self.topic = Vocabulary(self.topic_nouns.sample(12), self.rng, exponent=0.8)
        self.place = self.places.pick()

    def noun(self):
        return self.topic.pick() if self.rng.random() < 0.75 else self.general_nouns.pick()

    def place_name(self):
        return self.place if self.rng.random() < 0.8 else self.places.pick()

    def noun_phrase(self):
        adjective = f"{self.adjectives.pick()} " if self.rng.random() < 0.35 else ""
        determiner = self.rng.choice(["the", "the", "the", "its", "their", "several"])
        return f"{determiner} {adjective}{self.noun()}"

    def clause(self):
        subject = self.noun_phrase() if self.rng.random() < 0.75 else self.place_name()
        parts = [subject, self.verbs.pick()[1], self.noun_phrase()]
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            parts += [self.prepositions.pick(), self.noun_phrase()]
        return " ".join(parts)

    def sentence(self):
        text = self.clause()
        roll = self.rng.random()
        if roll < 0.2:
            text += f", and {self.clause()}"
        elif roll < 0.3:
            text += f" on {self.rng.choice(WEEKDAYS)}"
        elif roll < 0.4:
            text = f"{self.rng.randint(2, 95)} per cent of {self.noun_phrase()} said {text}"
        elif roll < 0.45:
            text += f" at a cost of £{self.rng.randint(2, 900)}m"
        if self.rng.random() < 0.3:
            text += f", {self.speakers.pick()} said"
        return text[0].upper() + text[1:] + "."

    def quote(self):
        speaker = self.rng.choice(self.people)
        clause = self.clause()
        return f"\u201c{clause[0].upper()}{clause[1:]},\u201d said {speaker}."

    def headline(self):
        verb = self.verbs.pick()[0]
        subject = self.place if self.rng.random() < 0.5 else self.topic.pick().capitalize()
        text = f"{subject} {verb} {self.topic.pick()}"
        if self.rng.random() < 0.6:
            text += f" {self.prepositions.pick()} {self.noun()}"
        return text

    def dek(self):
        return " ".join(self.sentence() for _ in range(self.rng.choice([1, 1, 2])))

    def body(self):
        """Return about 600 words of story HTML, with the odd crosshead, quotation and link."""
        target = min(800, max(420, int(self.rng.gauss(600, 80))))
        blocks, count = [], 0
        while count < target:
            roll = self.rng.random()
            if roll < 0.05 and len(blocks) > 2:
                heading = self.headline()
                blocks.append(f"<h2>{escape(heading)}</h2>")
                count += len(heading.split())
                continue
            if roll < 0.1:
                text = self.quote()
                blocks.append(f"<blockquote><p>{escape(text)}</p></blockquote>")
                count += len(text.split())
                continue
            sentences = [self.sentence() for _ in range(self.rng.choice([1, 2, 2, 3, 3, 4]))]
            if self.rng.random() < 0.2:
                sentences.insert(self.rng.randrange(len(sentences) + 1), self.quote())
            text = " ".join(sentences)
            count += len(text.split())
            html = escape(text)
            if self.rng.random() < 0.06:
                anchor = escape(self.noun())
                link = f"https://www.example.org/reports/{slugify(self.noun())}"
                html = f'{html} Read <a href="{link}">the {anchor} report</a>.'
            blocks.append(f"<p>{html}</p>")
        return "".join(blocks)


def photo_content(rng, index):
    """Return a JPEG of a made-up street scene, different for each ``index``."""
    width, height = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE)
    draw = ImageDraw.Draw(image)
    top = [rng.randint(40, 200) for _ in range(3)]
    bottom = [rng.randint(20, 120) for _ in range(3)]
    for y in range(height):
        share = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * share) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(25 + index % 10):
        left = rng.randint(0, width - 80)
        building_top = rng.randint(height // 4, height - 120)
        shade = rng.randint(30, 160)
        draw.rectangle(
            [left, building_top, left + rng.randint(60, 260), height],
            fill=(shade, shade - rng.randint(0, 25), shade - rng.randint(0, 40)),
        )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class GenerationError(Exception):
    """The request cannot be met; nothing was written."""


def generate_stories(
    *, stories, sections=8, authors=200, tags=120, photos=20, seed=1, reset=False, out=None
):
    """Write ``stories`` generated stories and what they need; the same ``seed``, the same newsroom.

    Progress goes to ``out`` (standard error by default), the summary to standard output.
    """
    if stories < 0 or sections < 1 or authors < 1 or tags < 0 or photos < 0:
        raise GenerationError("Give at least one section and one author, and no negative counts.")
    generator = Generator(seed, out=out or sys.stderr)
    if reset:
        generator.reset()
    elif Article.objects.filter(import_key__startswith=MARK).exists():
        raise GenerationError(
            "Generated stories are already in this database; add --reset to replace them."
        )
    started = time.monotonic()
    with transaction.atomic():
        section_list = generator.create_sections(sections)
        author_list = generator.create_authors(authors)
        tag_list = generator.create_tags(tags)
        photo_list = generator.create_photos(photos)
        story_ids = generator.create_stories(
            stories, section_list, author_list, tag_list, photo_list
        )
        generator.fill_search_vectors(story_ids)
        # bulk_create sends no signals: new stories touch every listing, so purge all.
        site_changed()
    print(
        f"Generated {stories} stories, {len(section_list)} sections, {len(author_list)} "
        f"authors, {len(tag_list)} tags and {len(photo_list)} photos "
        f"in {time.monotonic() - started:.1f} s."
    )


class Generator:
    def __init__(self, seed, *, out):
        rng = random.Random(seed)
        self.writer = StoryWriter(rng)
        self.rng = rng
        self.now = timezone.now()
        self.out = out

    def progress(self, label, done, total):
        line = f"{label} {done}/{total}"
        if self.out.isatty():
            print(f"\r{line}", end="\n" if done == total else "", file=self.out, flush=True)
        else:
            print(line, file=self.out)

    # Reset -----------------------------------------------------------------------------

    def reset(self):
        with transaction.atomic():
            generated = Article.objects.filter(import_key__startswith=MARK)
            # Deleting a byline rewrites its story's search vector (articles/signals.py):
            # one UPDATE per byline of a story about to go, which the pause skips.
            with search_vector_upkeep_paused():
                story_count, _ = generated.delete()
            try:
                for model in (Author, Tag, Section):
                    model.objects.filter(slug__startswith=MARK).delete()
            except ProtectedError as error:
                raise GenerationError(
                    "Stories that were not generated use generated sections or authors; "
                    f"nothing was deleted ({error.args[0]})"
                ) from error
            for photo in Photo.objects.filter(title__startswith=MARK):
                photo.delete()
        print(f"Deleted the previously generated data ({story_count} rows).", file=self.out)

    # Supporting records ----------------------------------------------------------------

    def create_sections(self, count):
        names = SECTION_NAMES + [f"Section {n}" for n in range(len(SECTION_NAMES) + 1, count + 1)]
        taken = set(Section.objects.values_list("name", flat=True))
        sections = []
        for order, name in enumerate(names[:count]):
            section = Section(
                name=name if name not in taken else f"{name} (generated)",
                slug=f"{MARK}{slugify(name)}",
                description=self.writer.sentence(),
                order=order,
            )
            # save(), not bulk_create(): it clears the cached navigation.
            section.save()
            sections.append(section)
        return sections

    def create_authors(self, count):
        names = [f"{first} {last}" for first in words(FIRST_NAMES) for last in words(LAST_NAMES)]
        if count > len(names):
            names += [f"Reporter {n}" for n in range(1, count - len(names) + 1)]
        chosen = self.rng.sample(names, count)
        return Author.objects.bulk_create(
            Author(
                name=name,
                slug=f"{MARK}{slugify(name)}-{index}",
                initials="".join(part[0] for part in name.split()).upper(),
                role=self.rng.choice(ROLES),
                bio=self.writer.sentence(),
            )
            for index, name in enumerate(chosen, start=1)
        )

    def create_tags(self, count):
        candidates = words(PLACES)
        candidates += [noun.capitalize() for noun in words(NOUNS) + words(NOUN_PHRASES, "|")]
        candidates += [f"Topic {n}" for n in range(1, count + 1)]
        taken = set(Tag.objects.values_list("name", flat=True))
        names = [name for name in dict.fromkeys(candidates) if name not in taken][:count]
        return Tag.objects.bulk_create(
            Tag(name=name, slug=f"{MARK}{slugify(name)}") for name in names
        )

    def create_photos(self, count):
        photos = []
        for index in range(1, count + 1):
            place = self.writer.places.pick()
            photo = Photo(
                image=ContentFile(photo_content(self.rng, index), name=f"{MARK}{index}.jpg"),
                title=f"{MARK}photo-{index}",
                caption=f"A street in {place} on {self.rng.choice(WEEKDAYS)}.",
                credit=self.rng.choice(PHOTO_CREDITS),
                alt_text=f"Buildings along a street in {place}",
            )
            photo.save()
            # Draw the renditions now, as a worker would soon after an upload, so that
            # pages serve the responsive images production serves.
            photo_build_renditions(photo=photo)
            photo.refresh_from_db()
            photos.append(photo)
            self.progress("photos", index, count)
        return photos

    # Stories ---------------------------------------------------------------------------

    def create_stories(self, count, sections, authors, tags, photos):
        """Create ``count`` stories in batches; return their ids."""
        rng = self.rng
        indexes = list(range(count))
        drafts = set(rng.sample(indexes, min(count, max(2, count // 250))))
        published = [index for index in indexes if index not in drafts]
        recent = set(rng.sample(published, min(len(published), max(5, count // 500))))
        featured = set(sorted(recent)[:2])
        corrected = set(rng.sample(published, min(len(published), max(3, count // 200))))

        section_picker = Vocabulary(sections, rng, exponent=0.6)
        author_picker = Vocabulary(authors, rng, exponent=0.5)
        tags_by_name = {tag.name.lower(): tag for tag in tags}
        type_choices, type_weights = zip(*STORY_TYPES, strict=True)
        tag_link = Article.tags.through
        ids = []

        for start in range(0, count, BATCH_SIZE):
            batch = range(start, min(count, start + BATCH_SIZE))
            articles, plans = [], []
            for index in batch:
                article = self.story(index, index in drafts, index in recent, section_picker)
                article.featured = index in featured
                article.story_type = rng.choices(type_choices, type_weights)[0]
                if photos and rng.random() < 0.65:
                    article.lead_photo = rng.choice(photos)
                    if rng.random() < 0.1:
                        article.lead_photo_caption = self.writer.sentence()
                if rng.random() < 0.05:
                    article.byline = rng.choice(AGENCY_BYLINES)
                correction = None
                if index in corrected and article.published_at:
                    corrected_at = min(
                        self.now, article.published_at + timedelta(hours=rng.uniform(1, 120))
                    )
                    article.updated_at = corrected_at
                    correction = corrected_at
                byline_authors = author_picker.sample(rng.choice([1, 1, 1, 2, 2, 3]))
                # Tagged with what the story is about, as an editor would.
                story_tags = [
                    tags_by_name[name]
                    for name in [self.writer.place.lower(), *self.writer.topic.items]
                    if name in tags_by_name
                ][: rng.choice([0, 1, 2, 2, 3, 4])]
                articles.append(article)
                plans.append((byline_authors, story_tags, correction))

            Article.objects.bulk_create(articles)
            ArticleAuthor.objects.bulk_create(
                ArticleAuthor(article=article, author=author, position=position)
                for article, (byline_authors, _, _) in zip(articles, plans, strict=True)
                for position, author in enumerate(byline_authors)
            )
            tag_link.objects.bulk_create(
                tag_link(article_id=article.pk, tag_id=tag.pk)
                for article, (_, story_tags, _) in zip(articles, plans, strict=True)
                for tag in story_tags
            )
            Correction.objects.bulk_create(
                Correction(
                    article=article,
                    kind=rng.choice(["correction"] * 4 + ["clarification"]),
                    text=f"An earlier version of this story misstated {self.writer.noun_phrase()}.",
                    published_at=corrected_at,
                )
                for article, (_, _, corrected_at) in zip(articles, plans, strict=True)
                if corrected_at
            )
            ids += [article.pk for article in articles]
            self.progress("stories", batch.stop, count)
        return ids

    def story(self, index, is_draft, is_recent, section_picker):
        rng = self.rng
        self.writer.begin_story()
        headline = self.writer.headline()
        if is_draft:
            published_at = None
        elif is_recent:
            published_at = self.now - timedelta(minutes=rng.uniform(5, 48 * 60))
        else:
            published_at = self.now - timedelta(days=rng.uniform(2, 730))
        updated_at = None
        if published_at and rng.random() < 0.08:
            updated_at = min(self.now, published_at + timedelta(minutes=rng.uniform(10, 720)))
        return Article(
            headline=headline,
            # Unique without a query per story: the index is unique within the run.
            slug=f"{slugify(headline)[:200].strip('-')}-{index + 1}",
            dek=self.writer.dek(),
            # bulk_create skips Article.save(), which sanitises: store what it would.
            body=sanitize_html(self.writer.body()),
            section=section_picker.pick(),
            status=Article.Status.DRAFT if is_draft else Article.Status.PUBLISHED,
            published_at=published_at,
            updated_at=updated_at,
            import_key=f"{MARK}{index + 1:07d}",
        )

    def fill_search_vectors(self, ids):
        """Compute the stored search vectors of the new stories, which bulk_create skipped."""
        ids = sorted(ids)
        for start in range(0, len(ids), SEARCH_VECTOR_BATCH_SIZE):
            chunk = ids[start : start + SEARCH_VECTOR_BATCH_SIZE]
            update_search_vectors(
                Article.objects.filter(
                    import_key__startswith=MARK, pk__gte=chunk[0], pk__lte=chunk[-1]
                )
            )
            self.progress("search vectors", start + len(chunk), len(ids))


def main():
    parser = argparse.ArgumentParser(
        description=(
            "Generate published stories with bylines, tags, lead photos and corrections, for "
            "benchmarks. Generated rows are marked so that --reset removes only them."
        )
    )
    parser.add_argument("--stories", type=int, default=10_000, help="Default 10,000.")
    parser.add_argument("--sections", type=int, default=8, help="Default 8.")
    parser.add_argument("--authors", type=int, default=200, help="Default 200.")
    parser.add_argument("--tags", type=int, default=120, help="Default 120.")
    parser.add_argument(
        "--photos", type=int, default=20, help="Lead photos the stories share (default 20)."
    )
    parser.add_argument("--seed", type=int, default=1, help="The same seed gives the same stories.")
    parser.add_argument(
        "--reset", action="store_true", help="Delete previously generated data first."
    )
    try:
        generate_stories(**vars(parser.parse_args()))
    except GenerationError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")


if __name__ == "__main__":
    main()
