from django.urls import path

from newsletter import views

app_name = "newsletter"

urlpatterns = [
    path("", views.signup, name="signup"),
    path("thanks/", views.signup_done, name="signup_done"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
]
