"""Which file of a photo is used at a given width: one chooser for every caller."""

from types import SimpleNamespace

from photos import renditions


def photo(width=2400, height=1600, *, drawn=True):
    """Return what the chooser reads of a photo, without a database or files."""
    return SimpleNamespace(
        pk=7,
        width=width,
        height=height,
        file_hash="ab" * 32,
        focal_point_x=None,
        focal_point_y=None,
        picture_renditions_ready=drawn,
        card_renditions_ready=drawn,
    )


def test_files_others_fetch_are_the_widest_no_wider_than_asked():
    assert renditions.widest_within(photo(), width=1000).spec == "w960.jpeg"
    assert renditions.widest_within(photo(), width=1920).spec == "w1920.jpeg"
    assert renditions.widest_within(photo(), width=5000).spec == "w1920.jpeg"


def test_asking_narrower_than_every_rendition_gives_the_narrowest():
    assert renditions.widest_within(photo(), width=100).spec == "w320.jpeg"


def test_a_photo_narrower_than_the_target_gives_its_full_width():
    assert renditions.widest_within(photo(1000, 500), width=1280).spec == "w1000.jpeg"


def test_thumbnails_are_the_narrowest_at_least_as_wide_as_asked():
    assert renditions.narrowest_covering(photo(), width=2 * 120).spec == "w320.webp"
    assert renditions.narrowest_covering(photo(), width=2 * 160).spec == "w320.webp"
    assert renditions.narrowest_covering(photo(), width=700).spec == "w960.webp"


def test_asking_wider_than_every_rendition_gives_the_widest():
    assert renditions.narrowest_covering(photo(), width=4000).spec == "w1920.webp"


def test_the_format_and_the_crop_are_chosen_too():
    assert renditions.widest_within(photo(), width=960, format="webp").spec == "w960.webp"
    assert renditions.narrowest_covering(photo(), width=100, format="jpeg").spec == "w320.jpeg"
    card = renditions.widest_within(photo(), width=960, crop=True)
    assert (card.spec, card.focal_point_key) == ("fill-16x9-w960.jpeg", "50-50")


def test_nothing_is_chosen_until_the_renditions_are_drawn():
    """Callers then show the original file."""
    waiting = photo(drawn=False)
    assert renditions.widest_within(waiting, width=960) is None
    assert renditions.narrowest_covering(waiting, width=960) is None
    assert renditions.widest_within(photo(drawn=True), width=960, crop=True) is not None
    only_pictures = photo()
    only_pictures.card_renditions_ready = False
    assert renditions.widest_within(only_pictures, width=960, crop=True) is None
