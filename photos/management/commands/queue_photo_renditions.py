from django.core.management.base import BaseCommand

from photos.models import Photo
from photos.tasks import photo_generate_renditions


class Command(BaseCommand):
    help = (
        "Queue the renditions task for every photo whose resized copies are missing or out of "
        "date: after upgrading, or when photos were saved with no worker running."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            dest="every_photo",
            help="Queue every photo, ready or not (missing files are redrawn, others kept).",
        )

    def handle(self, *args, every_photo=False, **options):
        photos = (
            Photo.objects.filter(is_animated=False)
            .exclude(image="")
            .only("file_hash", "renditions_key", "focal_point_x", "focal_point_y", "is_animated")
        )
        queued = 0
        for photo in photos.iterator():
            if every_photo or not photo.card_renditions_ready:
                photo_generate_renditions.enqueue(photo.pk)
                queued += 1
        self.stdout.write(f'Queued {queued} photo(s) on the "photos" queue.')
