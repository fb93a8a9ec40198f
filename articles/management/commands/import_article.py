from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.importer import StoryFormatError, decode_story, parse_story
from articles.models import Section
from articles.services import article_import


class Command(BaseCommand):
    help = (
        "Import stories from text files in the scraped-page format (headline, "
        "'Published …' line, caption, paragraphs, byline). Re-importing a file updates "
        "its story. Every file is checked first; if any is malformed, nothing is saved."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="+", type=Path, help="Story files or folders of .txt files."
        )
        parser.add_argument("--section", help="Slug of the section to file the stories in.")
        parser.add_argument(
            "--publish", action="store_true", help="Publish the stories (default: drafts)."
        )
        parser.add_argument(
            "--photo", type=Path, help="Image to use as the lead photo, with the file's caption."
        )

    def handle(self, *args, paths, section=None, publish=False, photo=None, **options):
        files = self.story_files(paths)
        section_obj = None
        if section:
            section_obj = Section.objects.filter(slug=section).first()
            if section_obj is None:
                known = ", ".join(Section.objects.values_list("slug", flat=True)) or "none yet"
                raise CommandError(f"No section with the slug {section!r} (sections: {known}).")
        if photo is not None and not photo.is_file():
            raise CommandError(f"{photo}: no such image file.")

        stories, errors = [], []
        for path in files:
            try:
                stories.append((path, parse_story(decode_story(path.read_bytes()))))
            except StoryFormatError as error:
                errors.append(f"{path}:{error}")
            except OSError as error:
                errors.append(f"{path}:1: cannot read the file ({error.strerror})")
        if errors:
            for message in errors:
                self.stderr.write(message)
            raise CommandError(
                f"{len(errors)} of {len(files)} file(s) could not be read; nothing was imported."
            )

        try:
            self.save_stories(stories, section_obj, publish, photo)
        except ValidationError as error:
            raise CommandError(f"{photo}: {' '.join(error.messages)}") from error

    def save_stories(self, stories, section_obj, publish, photo):
        created_count = 0
        with transaction.atomic():
            for number, (path, story) in enumerate(stories, start=1):
                article, created = article_import(
                    story=story,
                    import_key=path.stem,
                    section=section_obj,
                    publish=publish,
                    photo_path=photo,
                )
                created_count += created
                self.stdout.write(
                    f"[{number}/{len(stories)}] {'created' if created else 'updated'} "
                    f"{article.get_absolute_url()}  {article.headline[:70]}"
                )
                if story.caption and photo is None:
                    self.stdout.write(
                        f"    note: {path.name} has a photo caption; "
                        "pass --photo IMAGE to import it."
                    )
        updated_count = len(stories) - created_count
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(stories)} stor{'y' if len(stories) == 1 else 'ies'}: "
                f"{created_count} created, {updated_count} updated."
            )
        )

    def story_files(self, paths):
        """Return the story files named, with folders expanded to their .txt files, sorted."""
        files = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(child for child in path.rglob("*.txt") if child.is_file()))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or folder.")
        if not files:
            raise CommandError("No .txt story files found in the paths given.")
        by_name = {}
        for path in files:
            if path.stem in by_name and by_name[path.stem] != path.resolve():
                raise CommandError(
                    f"{by_name[path.stem]} and {path} have the same name; stories are keyed on "
                    "the file name, so rename one of them."
                )
            by_name[path.stem] = path.resolve()
        return list({path.resolve(): path for path in files}.values())
