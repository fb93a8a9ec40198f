"""Form fields of the photo desk."""

from django import forms

from photos.metadata import clean_original_once
from photos.validation import ACCEPT_ATTRIBUTE, EMPTY_MESSAGE


class PhotoFileField(forms.FileField):
    """A file field that accepts only whole JPEG, PNG, WebP and GIF photos within our limits."""

    widget = forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE})
    default_error_messages = {
        "empty": EMPTY_MESSAGE,
        "invalid": "No file arrived. Choose the photo again.",
        "missing": "No file arrived. Choose the photo again.",
    }

    def to_python(self, data):
        file = super().to_python(data)
        if file is not None:
            # Checked, decoded and cleaned here, once: saving the photo reuses the result.
            clean_original_once(file)
        return file
