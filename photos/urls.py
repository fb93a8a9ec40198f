from django.urls import path
from django_ckeditor_5.views import upload_file

app_name = "photos"

urlpatterns = [
    path("editor-upload/", upload_file, name="editor_upload"),
]
