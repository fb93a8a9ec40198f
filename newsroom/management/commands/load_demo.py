import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from articles.models import Article
from publication.models import SiteSettings

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo"
SEED_STORY = DEMO_DIR / "000_b29aaeb6f4026fa3.txt"
PLACEHOLDER_TITLE = "PLACEHOLDER image for the demo story (not the original AFP photo)"
DEMO_USERS = [
    # username, group, superuser
    ("admin", None, True),
    ("editor", "Editor", False),
    ("reporter", "Reporter", False),
    ("audience", "Audience", False),
]


class Command(BaseCommand):
    help = (
        "Load the demo newsroom: site settings, one login per role and the seed story with a "
        "placeholder photo. Safe to run again: a later run writes nothing."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            self.create_users()
            article = Article.objects.filter(import_key=SEED_STORY.stem).first()
            if article is None:
                self.fill_in_site_settings()
                article = self.import_seed_story()
            else:
                # Whatever was changed since, in the admin or elsewhere, is kept as it is.
                self.stdout.write("The demo story is already there; left as it is.")
        self.stdout.write(
            self.style.SUCCESS(f"Demo story: {settings.SITE_URL}{article.get_absolute_url()}")
        )

    def fill_in_site_settings(self):
        site_settings = SiteSettings.load()
        if not site_settings.twitter_url and not site_settings.facebook_url:
            site_settings.tagline = site_settings.tagline or "Independent news, demo edition"
            site_settings.twitter_url = "https://twitter.com/"
            site_settings.facebook_url = "https://www.facebook.com/"
            site_settings.save()

    def import_seed_story(self):
        with tempfile.TemporaryDirectory() as folder:
            placeholder = Path(folder) / "placeholder-aleppo.png"
            make_placeholder_image(placeholder)
            call_command(
                "import_article", str(SEED_STORY), publish=True, photo=placeholder,
                stdout=self.stdout, stderr=self.stderr,
            )  # fmt: skip
        article = Article.objects.select_related("lead_photo").get(import_key=SEED_STORY.stem)
        photo = article.lead_photo
        if photo.title != PLACEHOLDER_TITLE:
            photo.title = PLACEHOLDER_TITLE
            photo.alt_text = "Grey placeholder standing in for the news photo"
            photo.save()
        return article

    def create_users(self):
        User = get_user_model()
        lines = []
        for username, group_name, is_superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"is_staff": True, "is_superuser": is_superuser,
                          "email": f"{username}@example.org"},
            )  # fmt: skip
            password = f"{username}-demo"
            if created:
                if group_name:
                    user.groups.add(Group.objects.get(name=group_name))
                if settings.DEBUG:
                    user.set_password(password)
                else:
                    user.set_unusable_password()
                user.save()
            if settings.DEBUG:
                lines.append(f"  {username:<9} password {password:<16} {group_name or 'superuser'}")
        if lines:
            self.stdout.write("Demo logins (DEBUG only):")
            self.stdout.write("\n".join(lines))
        else:
            self.stdout.write(
                "Demo users exist without passwords; set one with "
                "`python manage.py changepassword USERNAME`."
            )


def make_placeholder_image(path):
    """Write a plainly labelled grey placeholder photo, identical on every run."""
    image = Image.new("RGB", (1600, 900), (176, 176, 176))
    draw = ImageDraw.Draw(image)
    for offset in range(-900, 1600, 80):
        draw.line([(offset, 900), (offset + 900, 0)], fill=(166, 166, 166), width=18)
    font = ImageFont.load_default(size=96)
    small = ImageFont.load_default(size=40)
    draw.text((800, 400), "PLACEHOLDER", fill=(40, 40, 40), font=font, anchor="mm")
    draw.text((800, 500), "Demo image, not the original photo", fill=(40, 40, 40), font=small,
              anchor="mm")  # fmt: skip
    image.save(path, format="PNG", optimize=True)
