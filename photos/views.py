"""The photo desk's JSON endpoints (the editor's image upload, the chooser) and media files."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST
from django.views.static import serve

from accounts import two_factor
from frontcache import keys as surrogate_keys
from photos import renditions
from photos.models import Photo
from photos.services import photo_create
from photos.widgets import photo_summary

# Story HTML also goes to feeds and newsletters, where WebP is not safe: give the editor a JPEG.
EDITOR_IMAGE_WIDTH = 1280


def error_response(message: str, *, status: int) -> JsonResponse:
    """Return an error in the shape CKEditor's upload adapter shows to the editor."""
    return JsonResponse({"error": {"message": message}}, status=status)


@require_POST
def editor_upload(request):
    """Add an image dropped into the story editor to the library; return its URL for CKEditor."""
    user = request.user
    if not user.is_authenticated or not two_factor.is_fully_signed_in(request):
        return error_response(
            "Your login has expired. Log in again in another tab, then retry the upload.",
            status=403,
        )
    if not user.has_perm("photos.add_photo"):
        return error_response(
            "You do not have permission to add photos to the library.", status=403
        )
    upload = request.FILES.get("upload")
    if upload is None:
        return error_response("No file arrived. Choose an image and try again.", status=400)
    try:
        photo = photo_create(file=upload, user=user)
    except PermissionDenied as error:
        return error_response(str(error), status=403)
    except ValidationError as error:
        return error_response(" ".join(error.messages), status=400)
    # The renditions task may already have run (immediate backend) after the commit.
    photo.refresh_from_db(fields=["renditions_key"])
    return JsonResponse({"url": editor_image_url(photo), "photo_id": photo.pk})


def editor_image_url(photo: Photo) -> str:
    """Return the URL for the editor's ``<img>``: a 1280-wide JPEG once drawn, else the original."""
    item = renditions.widest_within(photo, width=EDITOR_IMAGE_WIDTH, format="jpeg")
    return item.url(photo) if item is not None else photo.image.url


@require_GET
def chooser_summary(request, pk):
    """Return what the photo chooser shows for photo ``pk``: thumbnail, caption, credit and gaps."""
    user = request.user
    if not (
        user.is_authenticated
        and user.is_staff
        and user.has_perm("photos.view_photo")
        and two_factor.is_fully_signed_in(request)
    ):
        return error_response("You do not have permission to view the photo library.", status=403)
    photo = Photo.objects.filter(pk=pk).first()
    if photo is None:
        return error_response(f"There is no photo number {pk} in the library.", status=404)
    return JsonResponse(photo_summary(photo))


def media_file(request, path):
    """Serve an uploaded file, tagged with its photo so the front drops it with the photo.

    For a single server (``SERVE_MEDIA``); a fleet serves ``MEDIA_ROOT`` from the web
    server or object storage instead.
    """
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    photo_id = (
        Photo.objects.filter(Q(image=path) | Q(renditions__file=path))
        .values_list("pk", flat=True)
        .first()
    )
    if photo_id is not None:
        surrogate_keys.add(surrogate_keys.photo(photo_id))
    return response
