from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from newsroom.models import SiteSettings


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """One row of settings: the list goes straight to it, and it cannot be added twice."""

    def has_add_permission(self, request):
        return not SiteSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        site_settings = SiteSettings.load()
        return HttpResponseRedirect(
            reverse("admin:newsroom_sitesettings_change", args=[site_settings.pk])
        )
