from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.importer import StoryFormatError, decode_story, parse_story
from articles.models import Article, Section
from articles.revisions import StoryEditedError, edit_since_import, overwritten_fields
from articles.services import article_import


class Command(BaseCommand):
    help = (
        "Import stories from text files in the scraped-page format (headline, "
        "'Published …' line, caption, paragraphs, byline). Re-importing a file updates "
        "its story, unless the story was edited since its last import (then --force). "
        "Every file is checked first; if any is malformed or edited, nothing is saved."
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
            "--photo",
            type=Path,
            help=(
                "Image to use as the lead photo, with the file's caption. Without it, a "
                "caption is kept on a library photo awaiting its image file."
            ),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Update stories edited since their last import too, losing those edits.",
        )

    def handle(self, *args, paths, section=None, publish=False, photo=None, force=False, **options):
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

        if not force:
            self.refuse_edited_stories(stories, section_obj, photo)
        try:
            self.save_stories(stories, section_obj, publish, photo, force)
        except ValidationError as error:
            raise CommandError(f"{photo}: {' '.join(error.messages)}") from error
        except StoryEditedError as error:
            # Edited between the check above and the save.
            raise CommandError(f"{error}; nothing was imported.") from error

    def refuse_edited_stories(self, stories, section_obj, photo):
        """Stop, saving nothing, if any story was edited in the CMS since its last import."""
        articles = Article.objects.in_bulk(
            [path.stem for path, _ in stories], field_name="import_key"
        )
        edits = []
        for path, story in stories:
            article = articles.get(path.stem)
            if article is None:
                continue
            fields = overwritten_fields(story, section=section_obj, photo_path=photo)
            edit = edit_since_import(article, fields=fields)
            if edit is not None:
                edits.append(edit.describe(str(path)))
        if edits:
            for message in edits:
                self.stderr.write(message)
            edited = "1 story was" if len(edits) == 1 else f"{len(edits)} stories were"
            raise CommandError(
                f"{edited} edited since the last import; nothing was imported. "
                "Re-run with --force to overwrite the edits."
            )

    def save_stories(self, stories, section_obj, publish, photo, force):
        created_count = 0
        with transaction.atomic():
            for number, (path, story) in enumerate(stories, start=1):
                article, created = article_import(
                    story=story,
                    import_key=path.stem,
                    section=section_obj,
                    publish=publish,
                    photo_path=photo,
                    force=force,
                )
                created_count += created
                self.stdout.write(
                    f"[{number}/{len(stories)}] {'created' if created else 'updated'} "
                    f"{article.get_absolute_url()}  {article.headline[:70]}"
                )
                if article.lead_photo and not article.lead_photo.image:
                    self.stdout.write(
                        f"    photo: the caption is kept on a library photo awaiting its image "
                        f"file (no. {article.lead_photo.pk}); upload the file there."
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
