from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("two-factor/", views.settings_page, name="settings"),
    path("two-factor/enrol/", views.enrol, name="enrol"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path(
        "two-factor/recovery-codes/new/",
        views.regenerate_recovery_codes,
        name="regenerate_recovery_codes",
    ),
    path("two-factor/turn-off/", views.turn_off, name="turn_off"),
]
