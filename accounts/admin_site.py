"""The admin site: superusers as usual, plus read-only access for team reviewers and admins.

A reviewer or admin of a team may open the admin without being staff; every model admin they
see is a ``TeamScopedAdmin`` (``accounts.admin_scoping``), which filters its queryset to the
teams where they hold that role and grants them view permission only.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class AssayAdminSite(admin.AdminSite):
    site_header = "Assay admin"
    site_title = "Assay admin"
    index_title = "Audit: sessions, judgments, overrides"

    def has_permission(self, request) -> bool:
        # Imported here: this module is loaded from INSTALLED_APPS, before models can be imported.
        from accounts.admin_scoping import is_team_staff

        user = request.user
        return user.is_active and (user.is_staff or is_team_staff(user))


class AssayAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.AssayAdminSite"
