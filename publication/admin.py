from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from publication.models import SiteSettings


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """One row of settings: the list goes straight to it, and it cannot be added twice."""

    fieldsets = [
        (
            "The publication",
            {
                "fields": ["site_name", "tagline", "logo", "accent_colour"],
                "description": "How every page looks: the name or logo at the top, the tagline "
                "under it, and the colour of links, labels and the breaking-news strip.",
            },
        ),
        ("Search engines", {"fields": ["publisher_logo"]}),
        ("Social networks", {"fields": ["twitter_url", "facebook_url", "instagram_url"]}),
        ("Newsletter", {"fields": ["newsletter_pitch"]}),
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "accent_colour":
            # The browser's colour picker writes "#rrggbb", the form the field asks for.
            kwargs["widget"] = forms.TextInput(attrs={"type": "color"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return not SiteSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        site_settings = SiteSettings.load()
        return HttpResponseRedirect(
            reverse("admin:publication_sitesettings_change", args=[site_settings.pk])
        )
