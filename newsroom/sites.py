from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from accounts import two_factor
from accounts.views import PasswordStepLoginView
from articles import dashboard


class NewsroomAdminSite(admin.AdminSite):
    site_header = "Newsroom"
    site_title = "Newsroom admin"
    index_title = "Newsroom"
    index_template = "admin/newsroom_index.html"

    def has_permission(self, request):
        """Admit active staff whose session has given every factor their account needs."""
        return super().has_permission(request) and two_factor.is_fully_signed_in(request)

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        """Show Django's admin login, whose password step leads on to the second factor."""
        user = request.user
        if user.is_active and user.is_staff and not two_factor.is_fully_signed_in(request):
            # Signed in with a password alone (a session from before two-factor sign-in
            # was required, say): finish the sign-in rather than ask for the password.
            next_url = two_factor.safe_next(request, request.GET.get(REDIRECT_FIELD_NAME))
            query = urlencode({REDIRECT_FIELD_NAME: next_url})
            return HttpResponseRedirect(f"{two_factor.second_step_url(user)}?{query}")
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        # The rest is Django's AdminSite.login with the view that holds the sign-in back.
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return PasswordStepLoginView.as_view(
            extra_context=context,
            authentication_form=self.login_form or AdminAuthenticationForm,
            template_name=self.login_template or "admin/login.html",
        )(request)

    def index(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "desk_panels": dashboard.desk_panels(request.user),
            "unsaved_work": dashboard.unsaved_work(request.user),
        }
        return super().index(request, extra_context)
